"""`shipit rollback`: put back the code of the previous (or a named) successful release."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat


def register(app: typer.Typer) -> None:
    @app.command()
    def rollback(
        config: ConfigOption = None,
        to: Annotated[
            Optional[str], typer.Option("--to", help="Release id to restore, e.g. r0007 [default: the previous one].")
        ] = None,
        output: OutputOption = OutputFormat.TEXT,
    ) -> None:
        """Restore the Deployments' templates of a previous successful release, watched; migrations stay applied."""
        from shipit.core import config as config_mod
        from shipit.cli.release import current_user, errors_as_json, finish
        from shipit.report.live import make_view
        from shipit.adapters.wiring import real_ports
        from shipit.release.rollback import Rollback

        with errors_as_json(output):
            cfg = config_mod.load(config)
            view = make_view()
            try:
                with real_ports(cfg, view=view) as ports:
                    state = Rollback(cfg, ports, user=current_user(), observer=view).run(to)
            finally:
                view.close()
        finish(state, output)
