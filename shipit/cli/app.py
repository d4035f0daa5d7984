"""The `shipit` command line. Thin: parse arguments, call the domain, map errors to exit codes."""

from __future__ import annotations

import sys

import typer

from shipit.cli import coercion
from shipit.core.errors import ExitCode, ShipitError
from shipit.core.log import LogFormat, configure
from shipit.cli.output import emit_json, error

coercion.install()

app = typer.Typer(
    name="shipit",
    help="Staged releases for Rails on Kubernetes with MySQL: migrations first, then the code, reverted on failure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _global(
    log_format: LogFormat = typer.Option(
        LogFormat.AUTO, "--log-format", help="auto: console on a terminal, json when CI=true.", show_default=True
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug details."),
) -> None:
    import logging

    configure(log_format, level=logging.DEBUG if verbose else logging.INFO)


def _register() -> None:
    from shipit.cli import (db_drift, db_status, diagnose, history, plan, preflight, release, rollback, status, unlock,
                            validate)

    for module in (validate, plan, preflight, release, rollback, status, history, unlock, db_status, db_drift, diagnose):
        module.register(app)


_register()


def wants_json(argv: list[str]) -> bool:
    """Pure: whether the command line asks for `--output json` (in any spelling click accepts)."""
    for i, arg in enumerate(argv):
        if arg in ("--output", "-o") and i + 1 < len(argv) and argv[i + 1] == "json":
            return True
        if arg in ("--output=json", "-ojson"):
            return True
    return False


def command_of(argv: list[str]) -> str | None:
    """Pure: the subcommand named on the command line (the first word that is not an option or its value)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--log-format":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


class _Watched:
    """stdout, noting whether anything was written: with --output json the error object is printed only when the
    command has not printed its own."""

    def __init__(self, inner):
        self._inner = inner
        self.written = False

    def write(self, text: str) -> int:
        self.written = self.written or bool(text)
        return self._inner.write(text)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


def _where(exc: BaseException) -> str:
    """file:line where the exception was raised, for a bug report (the traceback itself is never printed)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"


def _thread_died(args) -> None:
    """A background thread's exception as one log line; the thread's owner reports the failure."""
    from shipit.core.log import get_logger

    if args.exc_value is not None:
        get_logger().error("background thread failed", thread=getattr(args.thread, "name", "?"),
                           error=f"{args.exc_type.__name__}: {args.exc_value}", at=_where(args.exc_value))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure, expected or not, becomes one clear line on stderr (one JSON object on stdout
    with --output json) and a documented exit code. Never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = wants_json(args)
    import threading

    threading.excepthook = _thread_died
    stdout = sys.stdout
    watched = _Watched(stdout)
    sys.stdout = watched
    message = ""
    try:
        try:
            app(args=args, prog_name="shipit")
            code = int(ExitCode.OK)
        except ShipitError as e:
            message, code = str(e), int(e.exit_code)
        except KeyboardInterrupt:
            message, code = "interrupted", int(ExitCode.FAILED_SAFELY)
        except SystemExit as e:  # click exits 2 on a usage error; 2 means "needs a person" here
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else int(ExitCode.BAD_INPUT))
            if code == 2:
                code = int(ExitCode.BAD_INPUT)
                if as_json and not watched.written:
                    emit_json({"status": "error", "exit_code": code, "message": "invalid command line (see stderr)"})
        except Exception as e:  # noqa: BLE001 - the last net: whatever escaped becomes one line, not a traceback
            from shipit.core.log import get_logger
            from shipit.core.unexpected import describe

            get_logger().debug("unexpected error", error_type=type(e).__name__, at=_where(e))
            outcome = describe(e, command=command_of(args))
            message, code = outcome.message, int(outcome.exit_code)
        if message:
            error(message)
            if as_json and not watched.written:
                emit_json({"status": "error", "exit_code": code, "message": message})
    finally:
        sys.stdout = stdout
    if argv is None:
        import gc

        gc.freeze()  # the process ends here: its last collections need not walk every imported module's objects
        sys.exit(code)
    return code
