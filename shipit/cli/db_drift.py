"""`shipit db drift`: the live schema on every server against a commit's schema file and migrations."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat, emit_json, emit_text


def _db_group(app: typer.Typer) -> typer.Typer:
    """The `db` group `shipit db status` registered."""
    group = next((g.typer_instance for g in app.registered_groups if g.name == "db"), None)
    if group is None:
        raise RuntimeError("register db_status before db_drift")
    return group


def register(app: typer.Typer) -> None:
    @_db_group(app).command("drift")
    def drift(
        config: ConfigOption = None,
        at: Annotated[Optional[str], typer.Option("--at", help="The commit whose schema file is the reference "
                                                  "[default: the commit the Deployments serve].")] = None,
        output: OutputOption = OutputFormat.TEXT,
    ) -> None:
        """Missing or extra tables, columns, indexes and foreign keys, and migrations not in schema_migrations, on
        every server, against db/schema.rb (or db/structure.sql) at a commit. Reads only.

        Exit codes: 0 no drift the code depends on; 1 drift the code at --at depends on (or a server could not be
        read); 3 bad input.
        """
        from shipit.core import config as config_mod
        from shipit.core.errors import BadInput, ShipitError
        from shipit.db.drift import read_drift
        from shipit.report.diagnose.run import servers_for, serving_commit_of
        from shipit.planning.gitrepo import GitRepo
        from shipit.planning.schema_file import load_schema

        try:
            cfg = config_mod.load(config)
            repo = GitRepo(cfg.repo)
            commit = repo.resolve(at) if at else serving_commit_of(cfg)
            model = load_schema(repo, commit)
            if model is None:
                raise BadInput(f"commit {commit[:12]} has neither db/schema.rb nor db/structure.sql")
        except BadInput as e:
            if output is OutputFormat.JSON:
                emit_json({"ok": False, "error": str(e), "exit_code": int(e.exit_code)})
            raise
        servers = servers_for(cfg)
        try:
            report = read_drift(servers, model, commit)
        finally:
            servers.close()
        if output is OutputFormat.JSON:
            emit_json(report.to_json())
        else:
            emit_text(report.render_text())
        unread = [s.server for s in report.servers if s.error]
        if report.blocking:
            raise ShipitError(f"{len(report.blocking)} schema differences the code at {commit[:12]} depends on: "
                              f"{report.blocking[0].server}: {report.blocking[0].describe()}")
        if unread:
            raise ShipitError(f"could not read {', '.join(unread)}")
