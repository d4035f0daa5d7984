"""`shipit status`: the current or last release phase by phase, and who holds the release lock."""

from __future__ import annotations

import sys

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat


def register(app: typer.Typer) -> None:
    @app.command()
    def status(config: ConfigOption = None, output: OutputOption = OutputFormat.TEXT) -> None:
        """Show the current or last release, phase by phase, and the lock holder."""
        from shipit.core import config as config_mod
        from shipit.report import summary
        from shipit.kube.lock import ReleaseLock
        from shipit.cli.output import emit_json, emit_text
        from shipit.adapters.records import KubeRecords
        from shipit.kube.client import Kube

        cfg = config_mod.load(config)
        kube = Kube.from_config(cfg.kubernetes)
        latest = KubeRecords(kube, cfg.app, keep=cfg.records.keep).latest()
        holder = ReleaseLock(kube, cfg.app, duration=cfg.lock.duration).holder()
        lock = holder.describe() if holder else None
        if output is OutputFormat.JSON:
            emit_json({"release": summary.to_json(latest) if latest else None, "lock": lock})
            return
        from shipit.report.terminal import Terminal

        term = Terminal.of(sys.stdout)
        emit_text(summary.render_text(latest, term=term) if latest else f"no release of {cfg.app} is recorded yet")
        emit_text(f"lock: {lock or 'free'}")
