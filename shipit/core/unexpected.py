"""Any exception that escaped a command, as one line and an exit code: never a traceback.

Each kind of exception knows its own message and code (looked up by class name along the MRO, so the kubernetes,
pymysql and git packages are not imported to describe their errors). What is not known is reported as "unexpected"
with its type, and the exit code says whether a person must look: a read-only command changed nothing (1), a command
that changes the cluster or database may have stopped half-way (2).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Callable

from shipit.core.errors import ExitCode

# Commands that only read: an unexpected error in them changed nothing.
READ_ONLY_COMMANDS = frozenset({"validate", "plan", "preflight", "status", "history", "db"})


@dataclasses.dataclass(frozen=True)
class Outcome:
    message: str
    exit_code: ExitCode


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _api_exception(exc: BaseException, safe: ExitCode) -> Outcome:
    """The API's own message from the Status body; never the raw HTTP headers the exception's str() carries."""
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", "") or ""
    try:
        message = json.loads(getattr(exc, "body", None) or "{}").get("message") or reason
    except (ValueError, AttributeError):
        message = reason
    head = f"the Kubernetes API answered {status} {reason}".rstrip()
    if status in (400, 422):
        return Outcome(f"{head}: {_one_line(message)} (a name, label or value shipit sent was rejected: check `app`, "
                       f"the deployment names and the namespace in the configuration)", ExitCode.BAD_INPUT)
    if status == 404:
        return Outcome(f"{head}: {_one_line(message)} (check kubernetes.namespace and the deployment names)", safe)
    return Outcome(f"{head}: {_one_line(message)}; nothing more was attempted, run the command again "
                   f"(`shipit status` shows what was recorded)", safe)


def _unicode(exc: BaseException, safe: ExitCode) -> Outcome:
    e = exc if isinstance(exc, UnicodeDecodeError) else None
    where = f" (byte 0x{e.object[e.start]:02x} at offset {e.start})" if e and e.start < len(e.object) else ""
    return Outcome(f"a file shipit read is not UTF-8 text{where}: save migrations and configuration as UTF-8",
                   ExitCode.BAD_INPUT)


def _database(exc: BaseException, safe: ExitCode) -> Outcome:
    args = getattr(exc, "args", ())
    code, text = (args[0], args[1]) if len(args) >= 2 else (None, str(exc))
    return Outcome(f"database error {code}: {_one_line(text)}", safe)


def _git(exc: BaseException, safe: ExitCode) -> Outcome:
    stderr = getattr(exc, "stderr", "") or str(exc)
    return Outcome(f"git failed: {_one_line(stderr)} (check `repo` in the configuration and the refs given)",
                   ExitCode.BAD_INPUT)


def _os_error(exc: BaseException, safe: ExitCode) -> Outcome:
    e = exc if isinstance(exc, OSError) else None
    name = f" {e.filename}" if e is not None and e.filename else ""
    return Outcome(f"cannot use{name}: {e.strerror if e is not None and e.strerror else exc}", safe)


_BY_CLASS: dict[str, Callable[[BaseException, ExitCode], Outcome]] = {
    "kubernetes.client.exceptions.ApiException": _api_exception,
    "builtins.UnicodeDecodeError": _unicode,
    "pymysql.err.MySQLError": _database,
    "git.exc.GitError": _git,
    "builtins.OSError": _os_error,
}


def describe(exc: BaseException, *, command: str | None) -> Outcome:
    """Pure: the line to print and the exit code for an exception no command handled."""
    safe = ExitCode.FAILED_SAFELY if command in READ_ONLY_COMMANDS else ExitCode.NEEDS_PERSON
    for cls in type(exc).__mro__:
        handler = _BY_CLASS.get(f"{cls.__module__}.{cls.__qualname__}")
        if handler is not None:
            return handler(exc, safe)
    next_step = "nothing was changed" if safe is ExitCode.FAILED_SAFELY else (
        "the release may have stopped part-way: `shipit status` shows what was recorded")
    return Outcome(f"unexpected error ({type(exc).__name__}): {_one_line(exc) or 'no message'}; {next_step}. "
                   f"Run again with --verbose and report it", safe)
