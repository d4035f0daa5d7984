"""scripts/demo, the README's first command, tells its story and cleans up after itself."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.cluster.build import go_binary
from tests.cluster.fixture import NO_GO
from tests.support.mariadb import admin_connect

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo"



@pytest.fixture
def demo_db():
    name = f"shipit_demo_t_{uuid.uuid4().hex[:8]}"
    yield name
    conn = admin_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("GITHUB_STEP_SUMMARY", "KUBECONFIG", "CI")}


def _workdir(output: str) -> Path:
    m = re.search(r"the shop's repository is (\S+)/shop;", output)
    assert m, output
    return Path(m.group(1))


@pytest.mark.parametrize("world", ["kubesim", "real"])
def test_demo_tells_the_three_releases_and_exits_0(demo_db, world):
    """The default (kubesim) is the README's first command; --real-cluster tells the same story on
    the real control plane of tests/cluster."""
    if world == "real" and go_binary() is None:
        pytest.skip(NO_GO)
    extra = ["--real-cluster"] if world == "real" else []
    proc = subprocess.run([str(DEMO), "--database", demo_db, *extra], cwd=ROOT, env=_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=400)
    out = proc.stdout
    assert proc.returncode == 0, out
    # the story, in order: the world it runs in, each shipit run's headline and the demo's check of it
    story = [
        "the real control plane (tests/cluster)" if world == "real" else "a simulated cluster (kubesim)",
        "shipit shop r0001: released",
        "demo ✔ release 1 exit code 0",
        "shipit shop r0002: FAILED before changing anything",
        "orphans payments.order_id -> orders.id: 3 orphaned rows (first ids: 17, 4242, 4711)",
        "demo ✔ release 2 stopped by preflight: exit code 1",
        "demo ✔ no migration Job was created",
        "demo ✔ the schema is untouched",
        "add_index(:orders, [:customer_id, :created_at])",
        "shipit shop r0003: released",
        "the rollout began only after that",
        "shipit shop r0004: FAILED and REVERTED: the previous code is serving",
        'key not found: "REDIS_URL"',
        "demo ✔ release 2's image is serving again",
        "demo ✔ all three releases went as expected",
    ]
    at = 0
    for line in story:
        found = out.find(line, at)
        assert found >= 0, f"{line!r} missing or out of order\n{out}"
        at = found
    assert "1,048,573 orders" in out
    assert not re.search(r"pw-[0-9a-f]{16}", out), "the database password reached the output"
    assert not _workdir(out).exists(), "the demo's working folder was left behind"
    conn = admin_connect(database=demo_db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version FROM schema_migrations ORDER BY version")
            assert [v for (v,) in cur.fetchall()][-2:] == ["20240201000001", "20240201000002"]
            cur.execute("SELECT COUNT(*) FROM payments p LEFT JOIN orders o ON o.id = p.order_id WHERE o.id IS NULL")
            assert cur.fetchone() == (0,)
    finally:
        conn.close()


def test_demo_interrupted_stops_everything(demo_db):
    # as from a terminal's Ctrl-C, whatever SIGINT disposition this test process inherited
    proc = subprocess.Popen([str(DEMO), "--database", demo_db], cwd=ROOT, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    out = ""
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # interrupt while release 1's shipit runs
            out += line
            if "==> Migrate (pre-deploy)" in line:
                break
        else:
            pytest.fail(f"release 1 never reached its migration\n{out}")
        shipit_pids = _children_running("shipit.cli")
        assert shipit_pids, out
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        out += rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    assert "all three releases went as expected" not in out
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in shipit_pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in shipit_pids), "shipit kept running after the demo stopped"
    assert not _workdir(out).exists(), "the demo's working folder was left behind"


def _children_running(fragment: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fragment in cmdline and "--config" in cmdline and "shipit-demo-" in cmdline:
                pids.append(int(entry.name))
    return pids


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(") ", 1)[1][:1] != "Z"


def test_demo_with_a_replica_waits_for_the_index_on_it():
    proc = subprocess.run([str(DEMO), "--replica"], cwd=ROOT, env=_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
    out = proc.stdout
    assert proc.returncode == 0, out
    wait = out[out.index("==> Wait for DDL", out.index("shipit shop r0002")):]
    wait = wait[:wait.index("<== Wait for DDL")]
    assert "replica1 (replaying): create_index on" in wait, out
    assert "the index and the foreign key exist on primary and replica1" in out
    assert "demo ✔ all three releases went as expected" in out
