"""`shipit preflight`: the plan's data checks and concurrency risks against the configured database. Reads only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat, emit_json, emit_text

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree: diffing from it lists every file


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
        from shipit.db.connection import servers_from_config
        from shipit.db.preflight import Settings, run_preflight
        from shipit.core.errors import ExitCode, ShipitError

        from shipit.db.migration_state import applied_versions

        cfg = config_mod.load(config)
        servers = servers_from_config(cfg.database)
        try:
            plan = _plan(cfg.repo, from_ref, to_ref, lambda: applied_versions(servers.primary))
            report = run_preflight(servers, plan.migrations, Settings.from_config(cfg.preflight, cfg.gates))
        finally:
            servers.close()
        if output is OutputFormat.JSON:
            emit_json({"from": plan.from_sha if from_ref else None, "to": plan.to_sha,
                       "migrations": [m.version for m in plan.migrations], **report.to_json()})
        else:
            emit_text(report.render_text())
        if not report.ok:
            reasons = report.blocking_reasons
            raise ShipitError(f"preflight blocked the release ({len(reasons)} reason{'s' * (len(reasons) != 1)}): "
                              f"{reasons[0]}", exit_code=ExitCode.FAILED_SAFELY)


def _plan(repo_path: Path, from_ref: str | None, to_ref: str, applied: Callable[[], frozenset[str]]):
    """The release plan for --from..--to; without --from, the migration files at --to that schema_migrations does
    not list (planning the applied ones too would make their tables look new and skip the checks on them)."""
    from shipit.planning.gitrepo import ChangeStatus, GitRepo
    from shipit.planning.plan import build_plan, migration_dir, plan_from_files

    if from_ref:
        return build_plan(repo_path, from_ref, to_ref)
    repo = GitRepo(repo_path)
    to_sha = repo.resolve(to_ref)
    done = applied()
    changes = [c for c in repo.diff(EMPTY_TREE, to_sha) if migration_dir(c.path) is not None
               and Path(c.path).name.split("_", 1)[0] not in done]
    return plan_from_files(
        repo=str(repo_path), from_ref="(none)", to_ref=to_ref, from_sha=EMPTY_TREE, to_sha=to_sha,
        changed=tuple((c.path, ChangeStatus.ADDED.value) for c in changes),
        sources={c.path: repo.read(to_sha, c.path) for c in changes},
    )
