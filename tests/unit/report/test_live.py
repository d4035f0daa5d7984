"""Live view: plain lines off a terminal; on one, phase lines above a panel that is redrawn in place, never wider than
the terminal (checked by replaying the written bytes through a small screen model)."""

from __future__ import annotations

import io
import json
import os
import re

import pytest

from shipit.core import log
from shipit.db.ddl_watch import DdlKind, DdlProgress, ProgressSource, RunningDdl
from shipit.db.health import LagSource, ReplicaLag
from shipit.db.schema_ready import Readiness
from shipit.kube.rollout import RolloutProgress
from shipit.release.phases import Phase, PhaseResult, PhaseStatus
from shipit.report.live import JsonView, PlainView, RichView, make_view


def ddl(server: str, pct: float | None, *, replicated: bool = False, eta: float | None = None) -> DdlProgress:
    running = RunningDdl(server, 7, DdlKind.CREATE_INDEX, "shop", "orders", "CREATE INDEX ...", "", 12.0, replicated)
    return DdlProgress(running, "writing index", pct, ProgressSource.PROCESSLIST, eta)


def lag(name: str, seconds: float | None) -> ReplicaLag:
    return ReplicaLag(name, seconds, True, True, LagSource.REPLICA_STATUS)


def test_plain_view_writes_one_line_per_event():
    out = io.StringIO()
    view = make_view(out)
    assert type(view) is PlainView
    view.phase_started(Phase.MIGRATE)
    view.line("migration", "== 20240101000000 AddIndex: migrating")
    view.progress("index_orders_on_customer_id on primary: 42% ETA 3s")
    view.phase_ended(PhaseResult(Phase.MIGRATE, PhaseStatus.SUCCEEDED, 10.0, 12.5, "applied 1"))
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("==> Migrate (pre-deploy)")
    assert lines[1].endswith("[migration] == 20240101000000 AddIndex: migrating")
    assert "42% ETA 3s" in lines[2]
    assert lines[3].endswith("<== Migrate (pre-deploy): succeeded in 2.5s applied 1")


def test_plain_view_turns_structured_progress_into_the_text_lines_it_always_printed():
    out = io.StringIO()
    view = PlainView(out)
    view.schema_progress(Readiness(False, ("replica1: index x missing",), (ddl("replica1", 40.0, replicated=True),)))
    view.schema_progress(Readiness(False, ("replica1: 3s behind",)))
    view.schema_progress(Readiness(True, ()))
    view.rollout_progress(RolloutProgress("web", 2, 1, 1, 2, 1, ""))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert "replica1 (replaying): create_index on shop.orders: writing index, 40.0%" in lines[0]
    assert lines[1].endswith("waiting for: replica1: 3s behind")
    assert lines[2].endswith("web: 1/2 updated, 1 ready, 2 available, 1 old")


class Screen:
    """Just enough of a terminal to replay what the view wrote: printable text, newline, CR, cursor up (CSI n A),
    erase in line (CSI K, CSI 2K); SGR and cursor show/hide are dropped, an erase in display is only noted. Lines wrap at `width` like a
    terminal's, so a line drawn wider than the screen shows up as an extra row."""

    CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")

    def __init__(self, width: int):
        self.width, self.rows, self.row, self.col = width, [""], 0, 0
        self.widest = 0
        self.cleared = False

    def feed(self, data: str) -> None:
        i = 0
        while i < len(data):
            m = self.CSI.match(data, i)
            if m:
                arg, op = m.groups()
                if op == "A":
                    self.row = max(0, self.row - int(arg or 1))
                elif op == "J":
                    self.cleared = True  # a terminal may copy the screen into its scrollback for this
                elif op == "K":
                    self.rows[self.row] = "" if arg == "2" else self.rows[self.row][: self.col]
                i = m.end()
                continue
            ch = data[i]
            i += 1
            if ch == "\n":
                self.row, self.col = self.row + 1, 0
                if self.row == len(self.rows):
                    self.rows.append("")
            elif ch == "\r":
                self.col = 0
            else:
                if self.col >= self.width:  # autowrap
                    self.row, self.col = self.row + 1, 0
                    if self.row == len(self.rows):
                        self.rows.append("")
                line = self.rows[self.row].ljust(self.col)
                self.rows[self.row] = line[: self.col] + ch + line[self.col + 1:]
                self.col += 1
                self.widest = max(self.widest, len(self.rows[self.row].rstrip()))

    @property
    def text(self) -> list[str]:
        return [r.rstrip() for r in self.rows if r.strip()]


COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])(?:;\d+)*m")  # an SGR foreground colour


class FakeTty(io.StringIO):
    def isatty(self):
        return True


def rich_view(width: int, height: int = 40) -> tuple[RichView, FakeTty]:
    out = FakeTty()
    view = RichView(out, size=lambda: os.terminal_size((width, height)), refresh=3600)
    return view, out


def test_rich_view_leaves_one_line_per_finished_phase_and_erases_its_panel(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    view, out = rich_view(100)
    view.phase_started(Phase.MIGRATE)
    view.line("migrate", "== 20240201000001 AddIndexToOrders: migrating")
    view.ddl_progress((ddl("primary", 42.0, eta=8),))
    view._redraw()
    screen = Screen(100)
    screen.feed(out.getvalue())
    panel = "\n".join(screen.text)
    assert "▸ Migrate (pre-deploy)" in panel
    assert re.search(r"primary\s+█+░+\s+42\.0%\s+writing index · ETA 8s · create_index on orders", panel)
    assert "migrate == 20240201000001 AddIndexToOrders: migrating" in panel
    view.phase_ended(PhaseResult(Phase.MIGRATE, PhaseStatus.SUCCEEDED, 1.0, 3.5, "applied 1 pre-deploy migration(s)"))
    view.phase_started(Phase.CODE)
    view.phase_ended(PhaseResult(Phase.CODE, PhaseStatus.FAILED, 1.0, 3.0, "web: [CrashLoopBackOff]"))
    view.close()
    screen = Screen(100)
    screen.feed(out.getvalue())
    assert screen.text == [
        "  ✔ Migrate (pre-deploy)     2.5s  applied 1 pre-deploy migration(s)",
        "  ✘ Code rollout             2.0s  web: [CrashLoopBackOff]",
    ]
    assert not COLOUR.search(out.getvalue()), "colours with NO_COLOR set"
    assert not screen.cleared


def test_rich_view_colours_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    view, out = rich_view(100)
    view.phase_started(Phase.PLAN)
    view.phase_ended(PhaseResult(Phase.PLAN, PhaseStatus.SUCCEEDED, 1.0, 1.2, "a..b"))
    view.close()
    assert COLOUR.search(out.getvalue())


@pytest.mark.parametrize("width", [60, 100, 150])
def test_no_line_is_drawn_wider_than_the_terminal(width):
    view, out = rich_view(width)
    long = "x" * 400
    view.phase_started(Phase.WAIT_DDL)
    view.schema_progress(Readiness(False, ("w",), (ddl("primary", 99.5, eta=4000), ddl("replica1", None, replicated=True)),
                                   lags=(lag("replica2", 30.0),)))
    view.rollout_progress(RolloutProgress("web-" + long, 3, 1, 1, 1, 2, ""))
    view.progress(f"database health: passing ({long})")
    view.line("migrate", long)
    view._redraw()
    view.phase_ended(PhaseResult(Phase.WAIT_DDL, PhaseStatus.SUCCEEDED, 1.0, 2.0, long))
    view.close()
    screen = Screen(width)
    screen.feed(out.getvalue())
    assert screen.widest <= width - 1
    assert len(screen.text) == 1 and screen.text[0].endswith("…")


def test_a_terminal_narrowed_mid_phase_is_erased_to_the_last_row():
    """The panel drawn at 120 columns, the terminal then narrowed to 50 (which reflows each long line onto several
    rows): the next redraw counts the rows at the new width and erases all of it."""
    size = [os.terminal_size((120, 40))]
    out = FakeTty()
    view = RichView(out, size=lambda: size[0], refresh=3600)
    view.phase_started(Phase.CODE)
    view.rollout_progress(RolloutProgress("web", 2, 1, 1, 1, 1, ""))
    view.progress("HTTP http://127.0.0.1:8080/up: passed (HTTP 200 in 1 ms) " + "y" * 60)
    view._redraw()
    drawn = out.getvalue()
    screen = Screen(50)  # replaying at 50 columns models the reflowed rows of a shrunk terminal
    screen.feed(drawn)
    size[0] = os.terminal_size((50, 40))
    mark = len(out.getvalue())
    view.phase_ended(PhaseResult(Phase.CODE, PhaseStatus.SUCCEEDED, 1.0, 2.0, "web serving"))
    view.close()
    screen.feed(out.getvalue()[mark:])
    assert screen.text == ["  ✔ Code rollout             1.0s  web serving"]


def test_structured_log_events_print_above_the_panel_in_the_same_style():
    view, out = rich_view(100)
    log.configure(log.LogFormat.CONSOLE)
    try:
        view.phase_started(Phase.LOCK)
        log.get_logger("t").info("release lock acquired", lease="shipit-shop")  # info: only with --verbose
        log.get_logger("t").warning("release lock renewal failed", error="timeout")
        view.phase_ended(PhaseResult(Phase.LOCK, PhaseStatus.SUCCEEDED, 1.0, 1.0, "lease taken"))
    finally:
        view.close()
    screen = Screen(100)
    screen.feed(out.getvalue())
    assert screen.text == ["    ! release lock renewal failed  error=timeout", "  ✔ Lock                     0.0s  lease taken"]


def test_console_logs_show_info_only_with_verbose_and_never_an_iso_timestamp(capsys):
    import logging

    try:
        log.configure(log.LogFormat.CONSOLE, level=logging.INFO)
        log.get_logger().info("deployment image set", deployment="web")
        log.get_logger().warning("unreadable release record ignored", configmap="x")
        quiet = capsys.readouterr().err
        log.configure(log.LogFormat.CONSOLE, level=logging.DEBUG)
        log.get_logger().info("deployment image set", deployment="web")
        verbose = capsys.readouterr().err
    finally:
        log.configure(log.LogFormat.CONSOLE)
    assert "deployment image set" not in quiet and "! unreadable release record ignored  configmap=x" in quiet
    assert "· deployment image set  deployment=web" in verbose
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", quiet + verbose)


def test_json_log_format_makes_every_view_event_a_json_line(capsys):
    log.configure(log.LogFormat.JSON)
    try:
        assert log.current_format() is log.LogFormat.JSON
        view = make_view()
        assert isinstance(view, JsonView)
        view.phase_started(Phase.MIGRATE)
        view.line("migrate", "== 1 CreateUsers: migrating")
        view.progress("web: 1/2 updated")
        view.rollout_progress(RolloutProgress("web", 2, 2, 1, 1, 1, ""))
        view.phase_ended(PhaseResult(Phase.MIGRATE, PhaseStatus.SUCCEEDED, 1.0, 2.5, "applied 1"))
        log.get_logger().info("deployment image set", deployment="web")
        events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        log.configure(log.LogFormat.CONSOLE)
    assert [e["event"] for e in events] == ["phase started", "output", "progress", "progress", "phase ended",
                                            "deployment image set"]
    assert events[1]["line"] == "== 1 CreateUsers: migrating"
    assert events[3]["text"] == "web: 2/2 updated, 1 ready, 1 available, 1 old"
    assert events[4]["status"] == "succeeded" and events[4]["duration_s"] == 1.5
    assert "timestamp" in events[5]


def test_a_terminal_gets_the_panel_and_a_dumb_one_the_plain_lines(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    view = make_view(FakeTty())
    try:
        assert isinstance(view, RichView)
    finally:
        view.close()
    monkeypatch.setenv("TERM", "dumb")
    assert type(make_view(FakeTty())) is PlainView
