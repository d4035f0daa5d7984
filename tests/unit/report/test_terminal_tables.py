"""Tables for a terminal: `shipit history` and `shipit status` fit the width (an ellipsis, never a wrapped row),
colours only on a terminal without NO_COLOR; the failure evidence leaves out routine pod events after a crash."""

from __future__ import annotations

import fcntl
import io
import os
import re
import struct
import termios

import pytest

from shipit.release.state import ReleaseState
from shipit.release.diagnosis import Diagnosis
from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus
from shipit.report import summary
from shipit.report.terminal import Terminal, fit

SGR = re.compile(r"\x1b\[[0-9;]*m")


def state(i: int, status: ReleaseStatus, message: str, **kw) -> ReleaseState:
    return ReleaseState(
        id=f"r{i:04d}", sequence=i, app="shop", status=status, from_sha="a" * 40, to_sha="b" * 40,
        image_after="registry.local/shop:" + "b" * 40, user="alice", started=1_700_000_000.0 + i,
        ended=1_700_000_010.0 + i, message=message, **kw,
    )


HISTORY = [
    state(3, ReleaseStatus.REVERTED, "the rollout failed: Deployment web: pod web-7896f7db69-mtsq8 is CrashLoopBackOff "
          "and the previous templates (registry.local/shop:" + "c" * 40 + ") are serving again"),
    state(2, ReleaseStatus.SUCCEEDED, "released"),
    state(1, ReleaseStatus.FAILED, "préflight stopped the release: 漢字 in a message counts two cells each"),
]


@pytest.mark.parametrize("width", [60, 100, 150])
def test_history_rows_fit_the_width_with_an_ellipsis(width):
    from rich.cells import cell_len

    lines = summary.history_lines(HISTORY, Terminal(width, color=False))
    assert len(lines) == 1 + len(HISTORY)
    assert all(cell_len(line) <= width for line in lines), [cell_len(line) for line in lines]
    assert lines[1].endswith("…") and lines[1].startswith("r0003    reverted")
    if width >= 100:
        assert lines[2].endswith("released")  # a row that fits is left whole
    assert not any(SGR.search(line) for line in lines)


def test_history_without_a_width_is_left_whole():
    lines = summary.history_lines(HISTORY)
    assert lines[1].endswith("are serving again") and "…" not in "".join(lines)


def test_history_colours_the_status_only_when_the_terminal_takes_colours():
    lines = summary.history_lines(HISTORY, Terminal(100, color=True))
    assert "\x1b[33mreverted\x1b[0m" in lines[1] and "\x1b[32msucceeded\x1b[0m" in lines[2]
    assert "\x1b[31mfailed\x1b[0m" in lines[3]
    from rich.cells import cell_len

    assert all(cell_len(SGR.sub("", line)) <= 100 for line in lines)


def test_status_fits_its_phase_rows_and_keeps_the_prose():
    phases = (
        PhaseResult(Phase.PLAN, PhaseStatus.SUCCEEDED, 1.0, 1.2, "a..b; 1 pre-deploy"),
        PhaseResult(Phase.CODE, PhaseStatus.FAILED, 2.0, 3.0, "the rollout failed: " + "x" * 200),
    )
    why = "container web exited with code 1 " + "y" * 150
    st = state(4, ReleaseStatus.REVERTED, "failed", phases=phases, diagnosis=Diagnosis("the rollout failed", why))
    text = summary.render_text(st, term=Terminal(80, color=True))
    lines = text.splitlines()
    assert lines[0] == summary.headline(st)  # the headline is never cut: its end says the exit code
    rows = [line for line in lines if "Code rollout" in line]
    assert len(rows) == 1 and len(SGR.sub("", rows[0])) <= 80 and rows[0].endswith("…")
    assert "\x1b[31mFAILED  \x1b[0m" in rows[0] and "\x1b[32mok      \x1b[0m" in text
    assert f"Why:         {why}" in text  # what to act on is never cut
    plain = summary.render_text(st)
    assert not SGR.search(plain) and "x" * 200 in plain


def test_the_summary_after_a_live_view_leaves_the_phase_table_out():
    st = state(5, ReleaseStatus.SUCCEEDED, "released",
               phases=(PhaseResult(Phase.PLAN, PhaseStatus.SUCCEEDED, 1.0, 1.2, "a..b"),))
    with_table = summary.render_text(st)
    without = summary.render_text(st, phases=False)
    assert "  Plan " in with_table and "Plan" not in without
    assert without.splitlines()[0] == with_table.splitlines()[0]


def pty_stream(columns: int) -> tuple[io.TextIOWrapper, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    return open(slave, "w", closefd=True), master


def test_terminal_of_reads_a_terminals_own_width_not_a_stale_columns():
    stream, master = pty_stream(97)
    try:
        term = Terminal.of(stream, env={"COLUMNS": "200", "TERM": "xterm"})
        assert term == Terminal(97, color=True)
        assert Terminal.of(stream, env={"NO_COLOR": "1", "TERM": "xterm"}).color is False
        assert Terminal.of(stream, env={"TERM": "dumb"}).color is False
    finally:
        stream.close()
        os.close(master)


def test_terminal_of_a_pipe_takes_columns_if_set_and_never_colours():
    assert Terminal.of(io.StringIO(), env={"COLUMNS": "120"}) == Terminal(120, color=False)
    assert Terminal.of(io.StringIO(), env={}) == Terminal(None, color=False)


def test_fit_cuts_by_cells():
    assert fit("abcdef", 4) == "abc…"
    assert fit("abc", 3) == "abc"
    assert fit("漢字漢字", 5) == "漢字…"


CRASH = (
    "the rollout failed: Deployment web: pod web-1 is CrashLoopBackOff: Error: container web exited with code 1",
    "  pod web-1, container web, state CrashLoopBackOff, exit code 1",
    "  last 2 log lines:",
    "    | => Booting Puma",
    '    | config/initializers/cache.rb:1: key not found: "REDIS_URL" (KeyError)',
    "  events:",
    "    Normal Scheduled: Successfully assigned default/web-1 to node-1",
    '    Normal Pulling: Pulling image "registry.local/shop:abc"',
    '    Normal Pulled: Successfully pulled image "registry.local/shop:abc" in 0.3s. Image size: 4096 bytes.',
    "    Normal Created: Created container web",
    "    Normal Started: Started container web",
    "    Warning BackOff: Back-off restarting failed container web",
    "  next: the new code does not start; read the log lines above",
)


def test_a_crash_after_start_drops_the_routine_events():
    kept = summary.evidence(CRASH)
    assert not any(reason in line for line in kept for reason in ("Scheduled:", "Pulling:", "Pulled:", "Created:"))
    assert "    Normal Started: Started container web" in kept
    assert "    Warning BackOff: Back-off restarting failed container web" in kept
    assert '    | config/initializers/cache.rb:1: key not found: "REDIS_URL" (KeyError)' in kept


def test_an_image_that_never_started_keeps_its_pull_events():
    pull = (
        "the rollout failed: Deployment web: pod web-1 is ImagePullBackOff",
        "  pod web-1, container web, state ImagePullBackOff",
        "  events:",
        "    Normal Scheduled: Successfully assigned default/web-1 to node-1",
        '    Normal Pulling: Pulling image "registry.local/shop:nope"',
        '    Warning Failed: Failed to pull image "registry.local/shop:nope": not found',
    )
    assert summary.evidence(pull) == list(pull)


def test_an_events_heading_left_empty_goes_too():
    details = ("crash", "  pod web-1, container web, state CrashLoopBackOff, exit code 1", "  events:",
               '    Normal Pulled: Successfully pulled image "x"', "  next: read the log")
    assert summary.evidence(details) == ["crash", "  pod web-1, container web, state CrashLoopBackOff, exit code 1",
                                         "  next: read the log"]
