"""What a person watches while a release runs: the current phase, its latest log lines and progress.

On a terminal a rich Live panel redraws in place; anywhere else (CI logs, pipes) each event is one plain,
timestamped line. Both go to stderr so stdout carries only the summary or the JSON object.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from typing import TextIO

from shipit.release.phases import Phase, PhaseResult, PhaseStatus
from shipit.core.redact import redact


class PlainView:
    """One line per event; the format CI logs and `--log-format json` runs get."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(redact(f"{time.strftime('%H:%M:%S')} {text}") + "\n")
            self.stream.flush()

    def phase_started(self, phase: Phase) -> None:
        self._write(f"==> {phase.title}")

    def phase_ended(self, result: PhaseResult) -> None:
        took = "" if result.duration is None else f" in {result.duration:.1f}s"
        self._write(f"<== {result.phase.title}: {result.status.value}{took} {result.message}".rstrip())

    def line(self, source: str, text: str) -> None:
        self._write(f"    [{source}] {text}")

    def progress(self, text: str) -> None:
        self._write(f"    {text}")

    def close(self) -> None:
        pass


class RichView(PlainView):
    """A live panel: finished phases scroll above it, the current phase shows its last lines and progress."""

    def __init__(self, stream: TextIO | None = None, *, lines: int = 12):
        super().__init__(stream)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=self.stream)
        self._phase: Phase | None = None
        self._started = time.monotonic()
        self._lines: collections.deque[str] = collections.deque(maxlen=lines)
        self._progress = ""
        self._live = Live(console=self.console, refresh_per_second=8, get_renderable=self._render, transient=True)
        self._live.start()

    def _render(self):
        from rich.panel import Panel
        from rich.text import Text

        if self._phase is None:
            return Text("")
        body = Text()
        for line in list(self._lines):
            body.append(redact(line) + "\n", style="dim")
        if self._progress:
            body.append(redact(self._progress), style="bold")
        title = f"{self._phase.title} · {time.monotonic() - self._started:.0f}s"
        return Panel(body, title=title, title_align="left")

    def phase_started(self, phase: Phase) -> None:
        with self._lock:
            self._phase, self._started, self._progress = phase, time.monotonic(), ""
            self._lines.clear()

    def phase_ended(self, result: PhaseResult) -> None:
        style = {PhaseStatus.SUCCEEDED: "green", PhaseStatus.FAILED: "bold red"}.get(result.status, "yellow")
        took = "" if result.duration is None else f" {result.duration:.1f}s"
        from rich.text import Text

        line = Text(f"{result.status.value:>9}", style=style)
        line.append(f" {result.phase.title}{took}  {redact(result.message)}")
        self.console.print(line, highlight=False)

    def line(self, source: str, text: str) -> None:
        with self._lock:
            self._lines.append(f"[{source}] {text}")

    def progress(self, text: str) -> None:
        with self._lock:
            self._progress = text

    def close(self) -> None:
        self._live.stop()


class JsonView(PlainView):
    """`--log-format json` (or CI=true): each event is one JSON line from the structured logger, like every other
    line on stderr, so a log pipeline can parse the whole run."""

    def __init__(self) -> None:
        from shipit.core.log import get_logger

        self._log = get_logger("shipit.live")

    def phase_started(self, phase: Phase) -> None:
        self._log.info("phase started", phase=phase.value)

    def phase_ended(self, result: PhaseResult) -> None:
        duration = None if result.duration is None else round(result.duration, 3)
        self._log.info("phase ended", phase=result.phase.value, status=result.status.value, duration_s=duration,
                       message=result.message)

    def line(self, source: str, text: str) -> None:
        self._log.info("output", source=source, line=text)

    def progress(self, text: str) -> None:
        self._log.info("progress", text=text)


def make_view(stream: TextIO | None = None) -> PlainView:
    from shipit.core.log import LogFormat, current_format

    if stream is None and current_format() is LogFormat.JSON:
        return JsonView()
    stream = stream or sys.stderr
    return RichView(stream) if stream.isatty() else PlainView(stream)
