"""The `shipit` command line. Thin: parse arguments, call the domain, map errors to exit codes."""

from __future__ import annotations

import sys

import typer

from shipit.core.errors import ExitCode, ShipitError
from shipit.core.log import LogFormat, configure
from shipit.cli.output import error

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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure becomes one clear message on stderr and a documented exit code."""
    try:
        app(args=argv, prog_name="shipit")
        code = int(ExitCode.OK)
    except ShipitError as e:
        error(str(e))
        code = int(e.exit_code)
    except KeyboardInterrupt:
        error("interrupted")
        code = int(ExitCode.FAILED_SAFELY)
    except SystemExit as e:  # click exits 2 on a usage error; 2 means "needs a person" here
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else int(ExitCode.BAD_INPUT))
        if code == 2:
            code = int(ExitCode.BAD_INPUT)
    if argv is None:
        sys.exit(code)
    return code
