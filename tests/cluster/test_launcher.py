"""`python -m tests.cluster`: writes the admin and shipit kubeconfigs once the node is Ready, and stops every child it
started on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real_cluster

ROOT = Path(__file__).resolve().parents[2]


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(kubeconfig.parent / "cache")}
    return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60)


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_launcher_writes_both_kubeconfigs_and_stops_its_children(tmp_path, sig):
    admin, shipit = tmp_path / "admin.kubeconfig", tmp_path / "shipit.kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "tests.cluster", "--kubeconfig", str(admin), "--exec",
                             "--shipit-kubeconfig", str(shipit), "--namespace", "shop"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
        nodes = kubectl(admin, "get", "nodes", "-o", "jsonpath={.items[*].status.conditions[?(@.type=='Ready')].status}")
        assert nodes.stdout == "True", nodes.stderr
        assert kubectl(shipit, "get", "deployments").returncode == 0
        assert kubectl(shipit, "auth", "can-i", "get", "secrets").stdout.strip() == "no"
        assert kubectl(shipit, "config", "view", "--minify", "-o", "jsonpath={..namespace}").stdout == "shop"
        control_plane = children_of(proc.pid)
        assert control_plane, "no control plane child process"
        proc.send_signal(sig)
        assert proc.wait(60) == 0, proc.stderr.read()
        assert not [pid for pid in control_plane if alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
