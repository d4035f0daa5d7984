from __future__ import annotations

from pathlib import Path

import typer

from shipit.cli.output import OutputFormat, emit_json, emit_text
from shipit.cli.options import ConfigOption, OutputOption


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(config: ConfigOption = None, output: OutputOption = OutputFormat.TEXT) -> None:
        """Check the configuration file and show what it resolves to (secrets masked)."""
        from shipit.core import config as config_mod

        cfg = config_mod.load(config)
        summary = {
            "app": cfg.app,
            "repo": str(cfg.repo),
            "namespace": cfg.kubernetes.namespace,
            "context": cfg.kubernetes.context,
            "image": cfg.image.for_commit("0" * 40).rsplit(":", 1)[0] + ":" + cfg.image.tag,
            "deployments": [d.name for d in cfg.deployments],
            "migration": {"from_deployment": cfg.migration.from_deployment, "command": list(cfg.migration.command)},
            "database": cfg.database.url,
            "replicas": [r.name for r in cfg.database.replicas],
            "databases": {d.name: {"url": d.url, "replicas": [r.name for r in d.replicas]}
                          for d in cfg.database.databases},
            "rollback": {"automatic": cfg.rollback.automatic, "git_revert": cfg.rollback.git_revert.value},
        }
        if output is OutputFormat.JSON:
            emit_json({"valid": True, "config": summary})
            return
        emit_text(f"{Path(config or 'config/shipit.yaml')}: valid")
        for k, v in summary.items():
            emit_text(f"  {k}: {v}")
