"""`shipit unlock`: remove the release lock of a run that died."""

from __future__ import annotations

from typing import Annotated

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat


def register(app: typer.Typer) -> None:
    @app.command()
    def unlock(
        config: ConfigOption = None,
        force: Annotated[bool, typer.Option("--force", help="Remove the lock even if its holder is alive.")] = False,
        output: OutputOption = OutputFormat.TEXT,
    ) -> None:
        """Remove an expired release lock, or any lock with --force. Exit 4 if a live holder has it."""
        from shipit.core import config as config_mod
        from shipit.core.errors import ExitCode, ShipitError
        from shipit.kube.client import Kube
        from shipit.kube.lock import ReleaseLock
        from shipit.kube.pods import utcnow
        from shipit.cli.output import emit_json, emit_text

        cfg = config_mod.load(config)
        lock = ReleaseLock(Kube.from_config(cfg.kubernetes), cfg.app, duration=cfg.lock.duration)
        holder = lock.holder()
        if holder is not None and holder.expires > utcnow() and not force:
            raise ShipitError(
                f"the lock is held by a live release: {holder.describe()}. If that run is dead, use --force",
                exit_code=ExitCode.LOCKED,
            )
        removed = lock.force_unlock() if holder is not None else None
        message = f"lock removed (was held by {removed.describe()})" if removed else "the lock was free"
        if output is OutputFormat.JSON:
            emit_json({"removed": removed is not None, "previous_holder": removed.describe() if removed else None})
        else:
            emit_text(message)
