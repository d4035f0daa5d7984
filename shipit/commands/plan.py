from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from shipit.options import ConfigOption, OutputOption
from shipit.output import OutputFormat, emit_json, emit_text


def register(app: typer.Typer) -> None:
    @app.command()
    def plan(
        from_ref: Annotated[Optional[str], typer.Option("--from", help="The deployed commit (required for now).")] = None,
        to_ref: Annotated[str, typer.Option("--to", help="The commit to release.")] = "HEAD",
        repo: Annotated[
            Optional[Path], typer.Option("--repo", help="The app's git repository [default: config's repo, else .].")
        ] = None,
        config: ConfigOption = None,
        output: OutputOption = OutputFormat.TEXT,
    ) -> None:
        """Show how a release from one commit to another will be staged: migrations, data checks, phases."""
        from shipit.errors import BadInput
        from shipit.plan import build_plan, render_text

        if not from_ref:
            raise BadInput("--from is required: the commit that is deployed now (release records do not exist yet)")
        plan = build_plan(_repo_path(repo, config), from_ref, to_ref)
        if output is OutputFormat.JSON:
            emit_json(plan.to_json())
        else:
            emit_text(render_text(plan))


def _repo_path(repo: Path | None, config: Path | None) -> Path:
    """--repo wins; else the configuration's `repo` when a configuration is given or present; else the cwd."""
    if repo is not None:
        return repo
    from shipit import config as config_mod

    if config is not None or config_mod.DEFAULT_PATH.exists():
        return config_mod.load(config).repo
    return Path(".")
