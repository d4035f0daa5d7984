"""`shipit diagnose`: the outage runbook in one command (release, pods and Jobs, database, schema drift, HTTP, and
the likely cause), read-only and within 10 s."""

from __future__ import annotations

from typing import Annotated

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat, emit_json, emit_text


def register(app: typer.Typer) -> None:
    @app.command()
    def diagnose(
        config: ConfigOption = None,
        since: Annotated[str, typer.Option("--since", help="How far back migration Jobs count as recent.")] = "1h",
        output: OutputOption = OutputFormat.TEXT,
    ) -> None:
        """What is wrong now and the likely cause, with evidence and the next step; also when the release was not
        made by shipit. Reads only; a source that does not answer in time is skipped with a note.

        Exit codes: 0 nothing wrong found and every source read; 1 problems found, or a source could not be read;
        3 bad input.
        """
        import time

        from shipit.core import config as config_mod
        from shipit.core.durations import parse_duration
        from shipit.core.errors import BadInput, ShipitError

        started = time.monotonic()
        try:
            try:
                window = parse_duration(since)
            except ValueError as e:
                raise BadInput(f"--since: {e}") from None
            cfg = config_mod.load(config)
        except BadInput as e:
            if output is OutputFormat.JSON:
                emit_json({"ok": False, "error": str(e), "exit_code": int(e.exit_code)})
            raise
        from shipit.report.diagnose.run import diagnose as run

        report = run(cfg, since=window, started=started)
        if output is OutputFormat.JSON:
            emit_json(report.to_json())
        else:
            emit_text(report.render_text())
        if report.findings:
            top = report.causes[0].title if report.causes else report.findings[0].summary
            raise ShipitError(f"{len(report.findings)} problems found; likely cause: {top[:300]}")
        if report.unchecked:
            raise ShipitError("not everything could be checked: " + "; ".join(
                f"{s.section.value}: {s.note}" for s in report.unchecked))
