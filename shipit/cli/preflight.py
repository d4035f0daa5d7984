"""`shipit preflight`: the plan's data checks and concurrency risks, each database's migrations against that
database. Reads only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Optional

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat, emit_json, emit_text

def register(app: typer.Typer) -> None:
    @app.command()
    def preflight(
        config: ConfigOption = None,
        from_ref: Annotated[Optional[str], typer.Option(
            "--from", help="The deployed commit [default: the migrations at --to that schema_migrations does "
                           "not list].")] = None,
        to_ref: Annotated[str, typer.Option("--to", help="The commit to release.")] = "HEAD",
        output: OutputOption = OutputFormat.TEXT,
    ) -> None:
        """Check the data and the database before a release: orphans, duplicates, NULLs, long transactions, other
        migrators, grants. Runs on a replica when one is configured; changes nothing.

        Exit codes: 0 the release may proceed; 1 it must not (the reasons are listed); 3 bad configuration.
        """
        from shipit.core import config as config_mod
        from shipit.db.databases import databases_from_config, unreached_note
        from shipit.db.preflight import Settings
        from shipit.db.preflight_databases import run_databases_preflight
        from shipit.core.errors import ExitCode, ShipitError

        from shipit.db.migration_state import applied_versions

        cfg = config_mod.load(config)
        databases = databases_from_config(cfg.database)
        try:
            plan = _plan(cfg.repo, from_ref, to_ref,
                         lambda: {m.name: applied_versions(m.servers.primary) for m in databases.members})
            report = run_databases_preflight(databases, plan.migrations,
                                             Settings.from_config(cfg.preflight, cfg.gates))
        finally:
            databases.close()
        note = unreached_note(plan.databases, cfg.database.names)
        if output is OutputFormat.JSON:
            emit_json({"from": plan.from_sha if from_ref else None, "to": plan.to_sha,
                       "migrations": [m.version for m in plan.migrations], **report.to_json(),
                       "notes": [note] if note else []})
        else:
            emit_text(report.render_text() + (f"\nNote: {note}." if note else ""))
        if not report.ok:
            reasons = report.blocking_reasons
            raise ShipitError(f"preflight blocked the release ({len(reasons)} reason{'s' * (len(reasons) != 1)}): "
                              f"{reasons[0]}", exit_code=ExitCode.FAILED_SAFELY)


def _plan(repo_path: Path, from_ref: str | None, to_ref: str, applied: Callable[[], Mapping[str, frozenset[str]]]):
    """The release plan for --to, pending by what the database has applied (--from only names the deployed commit;
    planning the applied migrations too would make their tables look new and skip the checks on them)."""
    from shipit.planning.plan import build_plan

    return build_plan(repo_path, from_ref or to_ref, to_ref, applied=applied())
