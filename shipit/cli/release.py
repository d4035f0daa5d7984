"""`shipit release`: the staged release, with a live view while it runs and a summary at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Annotated, Iterator, Optional

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat


@contextlib.contextmanager
def cancel_on_signals(cancel: threading.Event) -> Iterator[None]:
    """First SIGINT/SIGTERM: ask the release to stop cleanly (Job deleted, record updated, lock released).
    A second one: stop at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def current_user() -> str:
    import getpass

    for key in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER"):
        if os.environ.get(key):
            return os.environ[key]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def with_lock_wait(cfg, text: str):
    """The configuration with lock.wait from --lock-wait; a malformed duration is bad input (exit 3)."""
    import dataclasses

    from shipit.core.durations import parse_duration
    from shipit.core.errors import BadInput

    try:
        wait = parse_duration(text)
    except ValueError as e:
        raise BadInput(f"--lock-wait: {e}") from e
    return dataclasses.replace(cfg, lock=dataclasses.replace(cfg.lock, wait=wait))


@contextlib.contextmanager
def errors_as_json(output: OutputFormat) -> Iterator[None]:
    """With --output json, a failure before any release is recorded (bad config, lock held, a manual migration)
    is still one JSON object on stdout, so a CI step can always parse what it got. The message stays on stderr."""
    from shipit.core.errors import ShipitError

    try:
        yield
    except ShipitError as e:
        if output is OutputFormat.JSON:
            from shipit.cli.output import emit_json

            emit_json({"status": "error", "exit_code": int(e.exit_code), "message": str(e)})
        raise


def finish(state, output: OutputFormat) -> None:
    """Print the summary (text or JSON), append the Markdown step summary, and exit with the release's code."""
    from shipit.report import summary
    from shipit.core.errors import ExitCode, ShipitError
    from shipit.cli.output import emit_json, emit_text

    summary.append_step_summary(state)
    if output is OutputFormat.JSON:
        emit_json(summary.to_json(state))
    else:
        emit_text(summary.render_for(state))
    if state.exit_code != ExitCode.OK:
        # the text summary starts with the headline already; with --output json, stderr gets one line for the log:
        # the headline, what failed and why
        line = ""
        if output is OutputFormat.JSON:
            d = state.diagnosis
            line = summary.headline(state) + (f": {d.what} ({' '.join(d.why.split())})" if d is not None else "")
        raise ShipitError(line, exit_code=ExitCode(state.exit_code))


def register(app: typer.Typer) -> None:
    @app.command()
    def release(
        config: ConfigOption = None,
        to: Annotated[str, typer.Option("--to", help="Git ref to release.")] = "HEAD",
        from_: Annotated[
            Optional[str], typer.Option("--from", help="Git ref released last [default: the last successful release].")
        ] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the latest interrupted release.")] = False,
        yes: Annotated[bool, typer.Option("--yes", help="Proceed with migrations classified manual.")] = False,
        lock_wait: Annotated[
            Optional[str],
            typer.Option("--lock-wait", metavar="DURATION", help="Wait this long (10m) for another release's lock [default: lock.wait]."),
        ] = None,
        output: OutputOption = OutputFormat.TEXT,
    ) -> None:
        """Release: plan, lock, preflight, migrate, wait for DDL, gates, code, verify, post-deploy, record.

        Exit codes: 0 released; 1 failed safely (nothing changed, or reverted cleanly); 2 needs a person;
        3 bad input; 4 another release holds the lock.
        """
        from shipit.core import config as config_mod
        from shipit.core.errors import BadInput
        from shipit.report.live import make_view
        from shipit.adapters.wiring import real_ports
        from shipit.release.orchestrator import Release

        cancel = threading.Event()
        with errors_as_json(output), cancel_on_signals(cancel):
            if resume and (from_ is not None or to != "HEAD"):
                raise BadInput("--resume continues the recorded release: it takes no --from/--to")
            cfg = config_mod.load(config)
            if lock_wait is not None:
                cfg = with_lock_wait(cfg, lock_wait)
            view = make_view()
            try:
                with real_ports(cfg, view=view) as ports:
                    runner = Release(cfg, ports, user=current_user(), cancel=cancel, observer=view)
                    state = runner.resume() if resume else runner.run(from_ref=from_, to_ref=to, yes=yes)
            finally:
                view.close()
        finish(state, output)
