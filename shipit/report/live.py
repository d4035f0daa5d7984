"""What a person watches while a release runs: the current phase, its latest log lines and progress.

On a terminal, finished phases print one line each and a small live panel (shipit.report.board) redraws under them in
place; anywhere else (CI logs, pipes) each event is one plain, timestamped line. Both go to stderr so stdout carries
only the summary or the JSON object.

Input: the orchestrator's phase_started/phase_ended, the edges' line(source, text) and progress(text), and the
structured progress calls schema_progress(readiness), ddl_progress(items), rollout_progress(p) and
gate_progress(reading, state), which the plain views turn into the same text lines as progress(text). A gate phase's
end lists each gate's last reading under its line.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable, TextIO

from shipit.core.redact import redact
from shipit.release.phases import Phase, PhaseResult, PhaseStatus

REFRESH_S = 0.25  # the panel's redraw period: durations tick, bars move
NOTES = 4  # progress sources (gates, watchdog) the panel keeps a line for


def schema_text(readiness) -> str | None:
    """The one progress line for a schema-ready poll (shipit.db.schema_ready.Readiness), None when nothing waits."""
    if readiness.progress:
        return " | ".join(p.describe() for p in readiness.progress)
    if not readiness.ready:
        return "waiting for: " + "; ".join(readiness.waiting_for)
    return None


def gate_text(reading, state: str) -> str:
    """The progress line of a gate (shipit.release.gate_result.GateReading): its state, value against threshold."""
    return f"{reading.gate}: {state} ({reading.describe()})"


def rollout_text(p) -> str:
    return f"{p.deployment}: {p.updated}/{p.desired} updated, {p.ready} ready, {p.available} available, {p.old} old"


class PlainView:
    """One line per event; the format CI logs and pipes get."""

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
        for reading in result.gates:
            self._write(f"    {reading}")

    def line(self, source: str, text: str) -> None:
        self._write(f"    [{source}] {text}")

    def progress(self, text: str) -> None:
        self._write(f"    {text}")

    def schema_progress(self, readiness) -> None:
        text = schema_text(readiness)
        if text:
            self.progress(text)

    def ddl_progress(self, items) -> None:
        if items:
            self.progress(" | ".join(p.describe() for p in items))

    def rollout_progress(self, p) -> None:
        self.progress(rollout_text(p))

    def gate_progress(self, reading, state: str) -> None:
        self.progress(gate_text(reading, state))

    def close(self) -> None:
        pass


def _terminal_size(stream: TextIO) -> os.terminal_size:
    """The terminal's own size, never $COLUMNS: an exported COLUMNS is a stale snapshot (or a test harness's)."""
    try:
        return os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return os.terminal_size((80, 24))


class _Region:
    """A block of lines at the bottom of a terminal, redrawn in place. The cursor rests at the start of the line
    below the block; a redraw goes up by the rows the block takes now and overwrites them row by row, each row
    cleared to its end, and blanks the rows left over. The rows are counted at the current width, which also covers a
    terminal that shrank and reflowed the block since it was drawn. Never "erase to the end of the screen": from the
    top-left corner terminals take that for a clear screen and copy the old block into the scrollback."""

    def __init__(self, write: Callable[[str], None], size: Callable[[], os.terminal_size]):
        self._write = write
        self._size = size
        self._drawn: tuple[int, ...] = ()  # cell length of each line on screen

    def redraw(self, above: list[str], lines: list[tuple[str, int]]) -> None:
        """Replace the block: print `above` for good (finished phases, log events), then draw `lines` (text, cells)."""
        from shipit.report.board import rows_occupied

        old = rows_occupied(self._drawn, self._size().columns)
        new = [*above, *(text for text, _ in lines)]
        out = f"\x1b[{old}A\r" if old else ""
        out += "".join(f"\x1b[2K{text}\n" for text in new)
        left = old - len(new)
        if left > 0:
            out += "\x1b[2K\n" * left + f"\x1b[{left}A"
        self._drawn = tuple(cells for _, cells in lines)
        if out:
            self._write(out)


class RichView(PlainView):
    """Finished phases scroll above; the running phase shows its bars, workloads, gates and log tail below them."""

    def __init__(self, stream: TextIO | None = None, *, size: Callable[[], os.terminal_size] | None = None,
                 refresh: float = REFRESH_S):
        super().__init__(stream)
        from rich.console import Console

        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        self.console = Console(file=self.stream, force_terminal=True, _environ=env)
        self._size = size or (lambda: _terminal_size(self.stream))
        self._region = _Region(self._raw_write, self._size)
        self._reset(None)
        self._stop = threading.Event()
        self._raw_write("\x1b[?25l")  # the cursor would flicker across the panel on every redraw
        self._thread = threading.Thread(target=self._tick, args=(refresh,), name="shipit-live", daemon=True)
        self._thread.start()
        from shipit.core.log import route_console

        route_console(self.log_event)

    def _raw_write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _reset(self, phase: Phase | None) -> None:
        self._phase, self._started = phase, time.monotonic()
        self._bars: dict[str, tuple] = {}  # source -> bars, so the DDL and the lag readings replace their own
        self._peaks: dict[str, float] = {}
        self._workloads: dict[str, object] = {}
        self._notes: dict[str, str] = {}
        self._log: list[tuple[str, str]] = []

    def _ansi(self, text, width: int) -> tuple[str, int]:
        """One line as the terminal gets it (colours only if the terminal has them and NO_COLOR is unset)."""
        text.truncate(max(1, width), overflow="ellipsis")
        with self.console.capture() as cap:
            self.console.print(text, end="", soft_wrap=True, highlight=False)
        return cap.get(), text.cell_len

    def _panel(self, width: int, height: int) -> list[tuple[str, int]]:
        from shipit.report import board

        if self._phase is None:
            return []
        snap = board.Board(
            self._phase.title, time.monotonic() - self._started,
            bars=tuple(b for bars in self._bars.values() for b in bars),
            workloads=tuple(self._workloads.values()), notes=tuple(redact(n) for n in self._notes.values()),
            log=tuple((s, redact(t)) for s, t in self._log[-board.LOG_LINES:]),
        )
        return [self._ansi(line, width) for line in board.render(snap, width, height)]

    def _redraw(self, above: list = ()) -> None:
        size = self._size()
        width = min(size.columns - 1, 400)
        printed = [self._ansi(a, width)[0] for a in above]
        self._region.redraw(printed, self._panel(size.columns, size.lines))

    def _tick(self, refresh: float) -> None:
        while not self._stop.wait(refresh):
            with self._lock:
                if not self._stop.is_set():
                    self._redraw()

    # --- input ---------------------------------------------------------------------------------------------------

    def phase_started(self, phase: Phase) -> None:
        with self._lock:
            self._reset(phase)
            self._redraw()

    def phase_ended(self, result: PhaseResult) -> None:
        from rich.text import Text

        from shipit.report.board import duration

        mark, style = _MARKS.get(result.status, ("·", "yellow"))
        line = Text()
        line.append(f"  {mark} ", style=style)
        line.append(f"{result.phase.title:<22}", style="bold")
        took = "" if result.duration is None else (f"{result.duration:.1f}s" if result.duration < 60
                                                    else duration(result.duration))
        line.append(f" {took:>6}  {redact(result.message)}")
        gates = [Text(f"      {redact(str(reading))}", style="dim") for reading in result.gates]
        with self._lock:
            if self._phase is result.phase:
                self._reset(None)
            self._redraw([line, *gates])

    def log_event(self, text: str) -> None:
        """A structured log event (shipit.core.log) printed above the panel in the phase lines' style."""
        from rich.text import Text

        with self._lock:
            self._redraw([Text(f"    {redact(text)}", style="yellow" if text.startswith("!") else "dim")])

    def line(self, source: str, text: str) -> None:
        with self._lock:
            self._log = self._log[-50:] + [(source, text)]

    def progress(self, text: str) -> None:
        key = text.split(": ", 1)[0] if ": " in text else text
        with self._lock:
            self._notes.pop(key, None)
            self._notes[key] = text
            while len(self._notes) > NOTES:
                self._notes.pop(next(iter(self._notes)))

    def schema_progress(self, readiness) -> None:
        from shipit.report.board import ddl_bars, lag_bars

        lags = readiness.lags
        with self._lock:
            for lag in lags:
                if lag.lag_s is not None:
                    self._peaks[lag.name] = max(self._peaks.get(lag.name, 0.0), lag.lag_s)
            ddl = ddl_bars(readiness.progress)
            busy = {p.ddl.server for p in readiness.progress}
            self._bars["ddl"] = ddl
            self._bars["lag"] = lag_bars(lags, self._peaks, busy)
            self._notes.pop("waiting for", None)
            if not (ddl or self._bars["lag"]) and not readiness.ready:
                self._notes["waiting for"] = "waiting for: " + "; ".join(readiness.waiting_for)

    def ddl_progress(self, items) -> None:
        from shipit.report.board import ddl_bars

        with self._lock:
            self._bars["ddl"] = ddl_bars(items)

    def rollout_progress(self, p) -> None:
        from shipit.report.board import workload

        with self._lock:
            self._workloads[p.deployment] = workload(p)

    def close(self) -> None:
        from shipit.core.log import route_console

        route_console(None)
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._phase = None
            self._redraw()
            self._raw_write("\x1b[?25h")


_MARKS = {
    PhaseStatus.SUCCEEDED: ("✔", "bold green"),
    PhaseStatus.FAILED: ("✘", "bold red"),
    PhaseStatus.SKIPPED: ("–", "yellow"),
}


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
                       message=result.message, gates=[g.to_json() for g in result.gates])

    def line(self, source: str, text: str) -> None:
        self._log.info("output", source=source, line=text)

    def progress(self, text: str) -> None:
        self._log.info("progress", text=text)

    def gate_progress(self, reading, state: str) -> None:
        self._log.info("progress", text=gate_text(reading, state), state=state, **reading.to_json())


def make_view(stream: TextIO | None = None) -> PlainView:
    from shipit.core.log import LogFormat, current_format

    if stream is None and current_format() is LogFormat.JSON:
        return JsonView()
    stream = stream or sys.stderr
    # a dumb terminal cannot move its cursor: it gets the plain lines
    return RichView(stream) if stream.isatty() and os.environ.get("TERM") != "dumb" else PlainView(stream)
