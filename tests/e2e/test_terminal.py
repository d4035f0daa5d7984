"""What a person sees in a real terminal: `shipit release` and `scripts/demo` run inside tmux at 100 and 150 columns.

Checked in tmux's own record of the screen and its scrollback (`capture-pane -S -`): no line wider than the terminal
(also with wrapped rows joined back, for shipit's own lines), nothing of the live panel left once a release ended
(not even after the terminal was narrowed and widened again mid-release), each phase's line exactly once per release,
the summary there (a failure's within one pane), and no structured-log lines with ISO timestamps without --verbose.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.support.mariadb import admin_connect
from tests.support.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
HEIGHT = 40
PHASE_LINE = re.compile(r"^  [✔✘–] (?P<title>\S.*?)\s{2,}\d")  # "  ✔ Migrate (pre-deploy)     3.9s  applied ..."
PANEL = re.compile(r"[╭╮╰╯│█░]|──|^▸ ")  # box borders, progress bars, the panel's heading
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_RUNNER_ONLY = frozenset({"CI", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"})  # a CI runner's variables a person's terminal lacks
RELEASE_TITLES = ("Plan", "Lock", "Preflight", "Migrate (pre-deploy)", "Wait for DDL", "Gates before code",
                  "Code rollout", "Verify (bake)", "Post-deploy migrations", "Record")


class Tmux:
    """One private tmux server (its own socket) with one session running one command; the pane stays after the
    command ends (the script sleeps) so its screen and scrollback can be read."""

    def __init__(self, workdir: Path, width: int, height: int = HEIGHT):
        assert shutil.which("tmux"), "tmux is needed on PATH (scripts/_setup.sh installs it)"
        workdir.mkdir(parents=True, exist_ok=True)
        self.socket, self.exit_file, self.width = workdir / "tmux.sock", workdir / "exit-code", width
        self.workdir, self.size = workdir, (width, height)

    def tmux(self, *args: str) -> str:
        # the server's environment becomes the pane's: never the CI runner's CI=true (it switches shipit to JSON logs)
        env = {k: v for k, v in os.environ.items() if k not in _RUNNER_ONLY}
        return subprocess.run(["tmux", "-S", str(self.socket), *args], check=True, capture_output=True,
                              text=True, env=env).stdout

    def start(self, commands: list[list[str]], env: dict[str, str]) -> None:
        """Run the commands one after the other; wait_exit returns their exit codes."""
        # the pane's shell sets TERM (tmux's own); the command gets the caller's environment, never a COLUMNS/LINES
        skip = {"TERM", "TMUX", "TMUX_PANE", "COLUMNS", "LINES"}
        exports = "".join(f"unset {k}\n" for k in sorted(_RUNNER_ONLY - set(env)))
        exports += "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items() if k not in skip and k.isidentifier())
        codes = self.workdir / "codes"
        run = "".join(f"{shlex.join(argv)}\necho $? >> {shlex.quote(str(codes))}\n" for argv in commands)
        script = self.workdir / "run.sh"
        script.write_text(f"{exports}cd {shlex.quote(str(ROOT))}\n{run}"
                          f"mv {shlex.quote(str(codes))} {shlex.quote(str(self.exit_file))}\nsleep 3600\n")
        self.tmux("new-session", "-d", "-s", "t", "-x", str(self.size[0]), "-y", str(self.size[1]),
                  f"sh {shlex.quote(str(script))}")
        self.tmux("set-option", "-t", "t", "history-limit", "20000")

    def wait_exit(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        while not self.exit_file.exists():
            assert time.monotonic() < deadline, f"still running after {timeout:.0f}s:\n{self.capture()}"
            time.sleep(0.2)
        return [int(code) for code in self.exit_file.read_text().split()]

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.tmux("capture-pane", "-p", "-t", "t"):
            assert not self.exit_file.exists(), f"{text!r} never showed:\n{self.capture()}"
            assert time.monotonic() < deadline, f"{text!r} never showed:\n{self.capture()}"
            time.sleep(0.05)

    def resize(self, width: int) -> None:
        self.tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(self.size[1]))

    def capture(self, *, joined: bool = False) -> list[str]:
        """The scrollback and the screen, one row per line (or, `joined`, one line per line the program wrote)."""
        out = self.tmux("capture-pane", "-p", *(("-J",) if joined else ()), "-t", "t", "-S", "-")
        return [line.rstrip() for line in out.splitlines()]

    def close(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True)


def assert_clean(rows: list[str], joined: list[str], width: int, *, ours=lambda line: True) -> None:
    """Nothing wider than the terminal, nothing of the live panel left, no structured-log timestamp lines."""
    wide = [line for line in rows if cell_len(line) > width]
    assert not wide, wide
    wrapped = [line for line in joined if cell_len(line) > width and ours(line)]
    assert not wrapped, "shipit wrote lines wider than the terminal:\n" + "\n".join(wrapped)
    debris = [line for line in rows if PANEL.search(line)]
    assert not debris, "the live panel left lines behind:\n" + "\n".join(debris)
    stamped = [line for line in rows if ISO.search(line) or "[info" in line]
    assert not stamped, "structured log lines without --verbose:\n" + "\n".join(stamped)


def phase_counts(lines: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        m = PHASE_LINE.match(line)
        if m:
            counts[m["title"]] = counts.get(m["title"], 0) + 1
    return counts


@pytest.mark.parametrize("width", [100, 150])
def test_release_in_a_terminal_resized_mid_release_leaves_one_line_per_phase(sandbox: Sandbox, tmp_path, width):
    sb = sandbox
    sb.write_config(gates={"bake": "4s"})  # a bake long enough to resize the terminal under its panel
    sb.add_migration("20240101000001", "create_users", "def change\n  create_table :users do |t|\n"
                     "    t.string :email\n  end\nend")
    sb.change_code("app/models/user.rb", "class User < ApplicationRecord\nend\n")
    term = Tmux(tmp_path / "tmux", width)
    try:
        term.start([sb.command("release", "--from", sb.initial_sha), sb.command("status"), sb.command("history")],
                   sb.env())
        term.wait_for("Verify (bake)", timeout=120)
        term.resize(45)  # narrower than the panel's lines: the terminal reflows them onto more rows
        time.sleep(1.0)
        term.resize(width)
        codes = term.wait_exit(timeout=120)
        rows, joined = term.capture(), term.capture(joined=True)
    finally:
        term.close()
    text = "\n".join(rows)
    assert codes == [0, 0, 0], text
    assert_clean(rows, joined, width)  # shipit's own lines, status and history included, within the width
    assert phase_counts(rows) == {title: 1 for title in RELEASE_TITLES}, text
    # the summary (its headline: the phase lines are just above), then status with its fitted phase table
    assert sum(line.startswith("shipit shop r0001: released (") for line in rows) == 2, text
    assert re.search(r"^  Preflight +ok +\d+\.\ds  database, data and workloads ready; target image .*…$", text, re.M)
    assert re.search(r"^r0001 +succeeded ", text, re.M), text
    assert sb.password not in "\n".join(joined)


@pytest.fixture
def demo_db():
    name = f"shipit_demo_tty_{uuid.uuid4().hex[:8]}"
    yield name
    conn = admin_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


DEMO_HEADLINES = (
    "shipit shop r0001: released",
    "shipit shop r0002: FAILED before changing anything",
    "shipit shop r0003: released",
    "shipit shop r0004: FAILED and REVERTED: the previous code is serving",
)


@pytest.mark.parametrize("width", [100, 150])
def test_demo_in_a_terminal(tmp_path, demo_db, width):
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY", "KUBECONFIG", "CI")}
    term = Tmux(tmp_path / "tmux", width)
    try:
        term.start([[str(ROOT / "scripts" / "demo"), "--database", demo_db]], env)
        codes = term.wait_exit(timeout=300)
        rows, joined = term.capture(), term.capture(joined=True)
    finally:
        term.close()
    text = "\n".join(rows)
    assert codes == [0], text

    def ours(line: str) -> bool:  # the tables and rules (prose, like a headline or the evidence, may wrap)
        return bool(PHASE_LINE.match(line) or line.startswith(("━━━", "release  ", "r000")))

    assert_clean(rows, joined, width, ours=ours)
    runs = text.split("$ shipit release")[1:]
    assert len(runs) == 4, text
    for run, headline in zip(runs, DEMO_HEADLINES):
        assert headline in run, run
        counts = phase_counts(run.splitlines())
        assert counts and set(counts.values()) == {1}, run
    assert set(phase_counts(runs[2].splitlines())) == set(RELEASE_TITLES), runs[2]
    assert "Automatic revert" in phase_counts(runs[3].splitlines()), runs[3]
    # the crash's evidence is what helps: its log, not the image pull
    assert 'key not found: "REDIS_URL"' in runs[3] and "Pulling image" not in runs[3]
    assert sum(line.startswith("r000") for line in rows) == 4, text  # shipit history, one row per release
    # a failure's summary is read in one look: its rows (wrapped as the terminal shows them) fit the pane
    for run, headline in zip(text.split("$ shipit release")[1:], DEMO_HEADLINES):
        if "FAILED" not in headline:
            continue
        block = summary_block(run.splitlines(), headline)
        assert 3 <= len(block) <= HEIGHT, "\n".join(block)
        assert all(cell_len(row) <= width for row in block), "\n".join(block)


def summary_block(rows: list[str], headline: str) -> list[str]:
    """The end-of-run summary's rows: from its headline to what the demo prints next (its narration, a rule, the
    next command), trailing blank rows left out."""
    start = next(i for i, row in enumerate(rows) if row.startswith(headline))
    end = next((i for i in range(start + 1, len(rows)) if rows[i].startswith(("demo ", "━━━", "$ "))), len(rows))
    block = rows[start:end]
    while block and not block[-1].strip():
        block.pop()
    return block


BAR = re.compile(r"^    (primary|replica1 \(replaying\)|replica1)\s+[█░·]+\s+\d+\.\d%\s+\S")
WORKLOAD = re.compile(r"^    web\s{2,}\d/2 updated  \d ready  \d available")


def test_index_build_and_rollout_show_as_bars_and_counts(replica_sandbox: Sandbox, tmp_path):
    from tests.e2e.test_replica import ADD_INDEX, fill_users, replica_held_until_wait_ddl

    sb = replica_sandbox
    sb.bootstrap()
    fill_users(sb, 1_000_000)
    sb.add_migration("20240106000001", "add_index_to_users_email", ADD_INDEX)
    sb.change_code("app/models/user.rb", "class User < ApplicationRecord\nend\n")
    term = Tmux(tmp_path / "tmux", 150)
    frames: list[str] = []
    try:
        with replica_held_until_wait_ddl(sb):
            term.start([sb.command("release")], sb.env())
            while not term.exit_file.exists():
                frames.append(term.tmux("capture-pane", "-p", "-t", "t"))
                time.sleep(0.05)
        codes = term.wait_exit(timeout=600)
    finally:
        term.close()
    assert codes == [0], frames[-1] if frames else ""
    lines = {line for frame in frames for line in frame.splitlines()}
    bars = [line for line in lines if BAR.match(line)]
    assert any("replica1" in line for line in bars), "no progress bar for the replica's index build"
    assert any(WORKLOAD.match(line) for line in lines), "no updated/ready/available line for web"
