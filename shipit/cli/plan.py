from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from shipit.cli.options import ConfigOption, OutputOption
from shipit.cli.output import OutputFormat, emit_json, emit_text


def register(app: typer.Typer) -> None:
    @app.command()
    def plan(
        from_ref: Annotated[
            Optional[str], typer.Option("--from", help="The deployed commit [default: the last successful release, read from the cluster].")
        ] = None,
        to_ref: Annotated[str, typer.Option("--to", help="The commit to release.")] = "HEAD",
        repo: Annotated[
            Optional[Path], typer.Option("--repo", help="The app's git repository [default: config's repo, else .].")
        ] = None,
        config: ConfigOption = None,
        output: OutputOption = OutputFormat.TEXT,
    ) -> None:
        """Show how a release from one commit to another will be staged: migrations, data checks, phases.

        Pending: per database, the versions at --to the configured database has not applied (read from its
        schema_migrations), else, without a configuration or when it cannot be read, the versions at --to absent at
        --from.
        """
        from shipit.cli.plan_source import PendingSource, PendingSources, read_pending_sources
        from shipit.planning.plan import build_plan
        from shipit.planning.render import render

        if not from_ref:
            from_ref = _last_released(config)
        repo_path, extra_paths, cfg = _repo_and_paths(repo, config)
        sources = read_pending_sources(cfg.database) if cfg is not None else PendingSources((PendingSource(None),))
        plan = build_plan(repo_path, from_ref, to_ref, applied=sources.applied, extra_paths=extra_paths)
        if cfg is not None:
            _warn_about_databases(plan, cfg)
        if output is OutputFormat.JSON:
            emit_json({**plan.to_json(), "pending": sources.to_json(plan.databases)})
        else:
            emit_text(render(plan, pending=sources.lines(plan.databases)))


def _repo_and_paths(repo: Path | None, config: Path | None):
    """--repo wins; else the configuration's `repo` when a configuration is given or present; else the cwd. The
    configuration's `migration.paths` and database URL apply when it is read (--repo alone reads none).
    Returns the repository, the extra paths and the configuration (None when none was read)."""
    if repo is not None and config is None:
        return repo, (), None
    from shipit.core import config as config_mod

    if config is not None or config_mod.DEFAULT_PATH.exists():
        cfg = config_mod.load(config)
        return (repo if repo is not None else cfg.repo), cfg.migration.paths, cfg
    return (repo if repo is not None else Path(".")), (), None


def _warn_about_databases(plan, cfg) -> None:
    """A planned migration whose database has no URL: `shipit release` would stop on it (exit 3), said now."""
    from shipit.core.log import get_logger
    from shipit.db.databases import unconfigured, unconfigured_message

    missing = unconfigured(plan.migrations, cfg.database.names)
    if missing:
        get_logger().warning(f"shipit release would stop before anything changes (exit 3): "
                             f"{unconfigured_message(missing)}")


def _last_released(config: Path | None) -> str:
    """The commit of the last successful release, from its record in the cluster the configuration names."""
    from shipit.core import config as config_mod
    from shipit.core.errors import BadInput, ShipitError

    if config is None and not config_mod.DEFAULT_PATH.exists():
        raise BadInput("--from is required without a configuration (the last successful release is read from its cluster)")
    cfg = config_mod.load(config)
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    from shipit.kube.client import Kube
    from shipit.kube.records import RecordStore

    kube = Kube.from_config(cfg.kubernetes)
    try:
        last = RecordStore(kube, cfg.app, keep=cfg.records.keep).last_successful()
    except (ApiException, HTTPError, OSError) as e:
        raise ShipitError(f"cannot read the release records in namespace {cfg.kubernetes.namespace}: {e}; pass --from REF") from e
    finally:
        kube.api_client.close()
    if last is None or not last.to_sha:
        raise BadInput("no successful release is recorded yet: pass --from REF (the commit deployed now)")
    return last.to_sha
