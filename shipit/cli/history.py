"""`shipit history`: past releases with outcome, duration and git range, one line each at the terminal's width."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat


def register(app: typer.Typer) -> None:
    @app.command()
    def history(
        config: ConfigOption = None,
        limit: Annotated[int, typer.Option("--limit", min=1, help="How many releases, newest first.")] = 20,
        output: OutputOption = OutputFormat.TEXT,
    ) -> None:
        """List past releases, newest first."""
        from shipit.core import config as config_mod
        from shipit.report import summary
        from shipit.cli.output import emit_json, emit_text
        from shipit.adapters.records import KubeRecords
        from shipit.kube.client import Kube

        cfg = config_mod.load(config)
        states = KubeRecords(Kube.from_config(cfg.kubernetes), cfg.app, keep=cfg.records.keep).history(limit)
        if output is OutputFormat.JSON:
            emit_json({"releases": [summary.to_json(s) for s in states]})
            return
        if not states:
            emit_text(f"no release of {cfg.app} is recorded yet")
            return
        from shipit.report.terminal import Terminal

        for line in summary.history_lines(states, Terminal.of(sys.stdout)):
            emit_text(line)
