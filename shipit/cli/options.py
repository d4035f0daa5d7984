"""CLI options shared by several commands, so each is spelled and documented once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from shipit.cli.output import OutputFormat

ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", "-c", help="Configuration file [default: config/shipit.yaml].")
]
OutputOption = Annotated[OutputFormat, typer.Option("--output", "-o", help="text for people, json for machines.")]
