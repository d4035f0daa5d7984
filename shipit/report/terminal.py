"""The terminal a table is printed on: how wide it is and whether it takes colours.

Tables (`shipit history`, `shipit status`) fit the width, cutting long messages with an ellipsis instead of letting
the terminal wrap them; colours only on a terminal and never with NO_COLOR (https://no-color.org).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TextIO

ELLIPSIS = "…"
_STYLES = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}


@dataclasses.dataclass(frozen=True)
class Terminal:
    width: int | None = None  # None: no limit (a pipe or a file without COLUMNS)
    color: bool = False

    @classmethod
    def of(cls, stream: TextIO, env: Mapping[str, str] | None = None) -> Terminal:
        """A terminal's own size (an exported COLUMNS is a stale snapshot there); off a terminal, COLUMNS if set."""
        env = os.environ if env is None else env
        tty = isatty(stream)
        width = None
        if tty:
            try:
                width = os.get_terminal_size(stream.fileno()).columns
            except (OSError, ValueError):
                width = None
        if width is None and env.get("COLUMNS", "").isdigit():
            width = int(env["COLUMNS"])
        color = tty and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
        return cls(width if width and width > 0 else None, color)

    def fit(self, line: str) -> str:
        """The line cut to the width with an ellipsis (plain text: call before paint)."""
        return fit(line, self.width)

    def paint(self, text: str, style: str) -> str:
        if not self.color or style not in _STYLES:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def fit(line: str, width: int | None) -> str:
    """Pure: `line` in at most `width` cells, the cut marked with an ellipsis; unchanged when it fits."""
    if width is None or cells(line) <= width:
        return line
    from rich.cells import set_cell_size

    return set_cell_size(line, max(0, width - 1)).rstrip() + ELLIPSIS
