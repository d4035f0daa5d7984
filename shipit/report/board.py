"""What the live panel shows while a phase runs, as pure data and a pure renderer.

The panel is a handful of lines under the finished phases: the running phase with its ticking duration, one progress
bar per server building an index or catching up, one line per workload being rolled out, the gates' latest states and
the tail of the migration Job's log. Every line fits the given width (cut with an ellipsis, never wrapped), so the
terminal never reflows it and the live region can always erase exactly what it drew.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence

from rich.text import Text

MAX_WIDTH = 120  # wider panels only spread the bars; a narrower cap keeps small terminal shrinks from reflowing it
LOG_LINES = 8  # the migration Job's log tail, at most
BAR_CELLS = (10, 28)  # a bar's width grows with the terminal between these


@dataclasses.dataclass(frozen=True)
class Bar:
    """One server's progress on a schema change: an index build (percent and stage) or a replica catching up."""

    server: str
    what: str  # "create_index on orders", "catching up"
    pct: float | None  # None: not measurable (waiting for a metadata lock, lag unknown)
    stage: str  # "writing index", "3s behind"
    eta_s: float | None = None


@dataclasses.dataclass(frozen=True)
class Workload:
    """One Deployment's rollout counts."""

    name: str
    desired: int
    updated: int
    ready: int
    available: int
    old: int


@dataclasses.dataclass(frozen=True)
class Board:
    """A snapshot of the panel: taken under the view's lock, rendered outside it."""

    title: str
    elapsed_s: float
    bars: tuple[Bar, ...] = ()
    workloads: tuple[Workload, ...] = ()
    notes: tuple[str, ...] = ()  # the latest line of each gate, watchdog or other progress source
    log: tuple[tuple[str, str], ...] = ()  # (source, line), oldest first


def duration(seconds: float) -> str:
    """A ticking duration as a person reads it: 4s, 1m05s, 1h02m."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def ddl_bars(progress: Iterable) -> tuple[Bar, ...]:
    """Bars for the schema changes running on each server (shipit.db.ddl_watch.DdlProgress)."""
    out = []
    for p in progress:
        d = p.ddl
        server = f"{d.server} (replaying)" if d.replicated else d.server
        out.append(Bar(server, f"{d.kind.value} on {d.table}", p.pct, p.phase, p.eta_s))
    return tuple(out)


def lag_bars(lags: Iterable, peaks: Mapping[str, float], busy: Iterable[str] = ()) -> tuple[Bar, ...]:
    """Catch-up bars for replicas (shipit.db.health.ReplicaLag) not replaying DDL any more: how much of the largest
    lag seen in this phase (`peaks`) has been made up. A replica that never fell behind gets no bar."""
    skip = set(busy)
    out = []
    for lag in lags:
        if lag.name in skip:
            continue
        if lag.lag_s is None:
            out.append(Bar(lag.name, "replication", None, lag.describe().split(": ", 1)[-1]))
            continue
        peak = peaks.get(lag.name, 0.0)
        if peak <= 0:
            continue
        pct = 100.0 * (1.0 - min(lag.lag_s, peak) / peak)
        out.append(Bar(lag.name, "catching up", pct, f"{lag.lag_s:g}s behind"))
    return tuple(out)


def workload(p) -> Workload:
    """A Workload from the rollout's progress (shipit.kube.rollout.RolloutProgress)."""
    return Workload(p.deployment, p.desired, p.updated, p.ready, p.available, p.old)


def _cut(text: Text, width: int) -> Text:
    text.truncate(max(1, width), overflow="ellipsis")
    return text


def _bar(pct: float | None, cells: int) -> Text:
    if pct is None:
        return Text("·" * cells, style="dim")
    done = max(0, min(cells, math.floor(cells * pct / 100.0)))
    out = Text()
    out.append("█" * done, style="green")
    out.append("░" * (cells - done), style="dim")
    return out


def _bar_line(bar: Bar, label_cells: int, cells: int) -> Text:
    line = Text(f"    {bar.server:<{label_cells}}  ")
    line.append_text(_bar(bar.pct, cells))
    line.append(f" {bar.pct:5.1f}%" if bar.pct is not None else "      ", style="bold")
    line.append(f"  {bar.stage}")
    if bar.eta_s is not None:
        line.append(f" · ETA {duration(bar.eta_s)}", style="bold")
    line.append(f" · {bar.what}", style="dim")
    return line


def _workload_line(w: Workload, label_cells: int) -> Text:
    line = Text(f"    {w.name:<{label_cells}}  ")
    done = w.updated >= w.desired and w.available >= w.desired and w.old == 0
    line.append(f"{w.updated}/{w.desired} updated", style="green" if done else "bold")
    line.append(f"  {w.ready} ready  {w.available} available")
    if w.old:
        line.append(f"  {w.old} old", style="yellow")
    return line


def render(board: Board, width: int, height: int) -> list[Text]:
    """The panel's lines for a terminal of `width` x `height`: each at most width - 1 cells (the last column is left
    free so no terminal wraps early), and at most height - 2 lines, the log tail giving way first."""
    width = max(20, min(width - 1, MAX_WIDTH))
    room = max(3, height - 2)
    head = Text()
    head.append("▸ ", style="bold cyan")
    head.append(board.title, style="bold")
    head.append(f"  {duration(board.elapsed_s)}", style="cyan")
    lines = [head]
    labels = [b.server for b in board.bars] + [w.name for w in board.workloads]
    label_cells = min(24, max((len(x) for x in labels), default=0))
    cells = max(BAR_CELLS[0], min(BAR_CELLS[1], width // 6))
    lines += [_bar_line(b, label_cells, cells) for b in board.bars]
    lines += [_workload_line(w, label_cells) for w in board.workloads]
    lines += [Text(f"    {note}") for note in board.notes]
    tail = board.log[-max(0, min(LOG_LINES, room - len(lines))):] if room > len(lines) else ()
    for source, text in tail:
        line = Text()
        line.append(f"    {source} ", style="dim cyan")
        line.append(text, style="dim")
        lines.append(line)
    return [_cut(line, width) for line in lines[:room]]


def rows_occupied(lengths: Sequence[int], width: int) -> int:
    """How many terminal rows lines of these cell lengths take at `width`: after a terminal narrower than the lines
    reflows them, each takes ceil(length / width) rows; lines drawn narrower than the terminal never wrapped, so
    widening leaves them one row each."""
    width = max(1, width)
    return sum(max(1, math.ceil(n / width)) for n in lengths)
