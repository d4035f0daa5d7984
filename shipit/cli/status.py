"""`shipit status`: the current or last release phase by phase, who holds the release lock, and what every configured
workload runs now (Deployments, StatefulSets, CronJobs)."""

from __future__ import annotations

import sys

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat


def register(app: typer.Typer) -> None:
    @app.command()
    def status(config: ConfigOption = None, output: OutputOption = OutputFormat.TEXT) -> None:
        """Show the current or last release, phase by phase, the lock holder and what every workload runs now."""
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
        serving, lines = _serving(kube, cfg)
        if output is OutputFormat.JSON:
            emit_json({"release": summary.to_json(latest) if latest else None, "lock": lock, "serving": serving})
            return
        from shipit.report.terminal import Terminal

        term = Terminal.of(sys.stdout)
        emit_text(summary.render_text(latest, term=term) if latest else f"no release of {cfg.app} is recorded yet")
        emit_text(f"lock: {lock or 'free'}")
        emit_text("\n".join(term.fit(("serving: " if i == 0 else " " * 9) + line) for i, line in enumerate(lines)))


def _serving(kube, cfg) -> tuple[dict | None, tuple[str, ...]]:
    """Workload (Kind/name but for Deployments) -> container -> image, read now, and one line per image; a workload
    that cannot be read is said, never a failure of status."""
    from shipit.core.errors import ShipitError
    from shipit.kube.serving import read_images, serving_groups

    try:
        current = read_images(kube, cfg)
    except ShipitError as e:
        return None, (f"not read: {e}",)
    return {d.label: dict(d.images) for d in current}, serving_groups(current)
