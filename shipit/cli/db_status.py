"""`shipit db status`: what the database is doing now (running DDL, metadata-lock waits, replica lag, health)."""

from __future__ import annotations

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat, emit_json, emit_text


def register(app: typer.Typer) -> None:
    db = typer.Typer(name="db", help="Database readings.", no_args_is_help=True, add_completion=False,
                     rich_markup_mode=None)
    app.add_typer(db, name="db")

    @db.command("status")
    def status(config: ConfigOption = None, output: OutputOption = OutputFormat.TEXT) -> None:
        """Running DDL with progress and ETA, metadata-lock waits, replica lag and health, on every server.

        Reads only. Exit codes: 0 read (servers that could not be read are listed); 1 no server could be read;
        3 bad configuration.
        """
        from shipit.core import config as config_mod
        from shipit.db.connection import servers_from_config
        from shipit.db.health import HealthThresholds
        from shipit.db.status import read_db_status
        from shipit.core.errors import ShipitError

        cfg = config_mod.load(config)
        servers = servers_from_config(cfg.database, retry_budget=3.0)
        try:
            result = read_db_status(servers, HealthThresholds.from_gates(cfg.gates))
        finally:
            servers.close()
        if output is OutputFormat.JSON:
            emit_json(result.to_json())
        else:
            emit_text(result.render_text())
        if not result.health:
            raise ShipitError("no database server could be read: " + "; ".join(e for _, e in result.errors))
