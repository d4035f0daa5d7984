"""What the user reads on stdout: text for people, one JSON object for machines. Always redacted."""

from __future__ import annotations

import enum
import json
import sys
from typing import Any

from shipit.core.redact import redact, redact_value


class OutputFormat(str, enum.Enum):
    TEXT = "text"
    JSON = "json"


def emit_json(obj: Any, *, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(redact_value(obj), indent=2, default=str) + "\n")
    stream.flush()


def emit_text(text: str, *, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(redact(text.rstrip("\n")) + "\n")
    stream.flush()


def error(text: str) -> None:
    sys.stderr.write(redact(f"shipit: {text}".rstrip("\n")) + "\n")
    sys.stderr.flush()
