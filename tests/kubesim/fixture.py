"""pytest fixtures: `kubesim` (an in-process Cluster emulating 1.33) and `kubesim_factory(**Cluster options)`.
Each cluster has `.kubeconfig` written, `.kubectl(*args)` (real kubectl, fresh KUBECACHEDIR) and `.api_client()`.
`start_process` runs `python -m tests.kubesim` as a subprocess for tests that need a separate server process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kubesim.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kubesim_factory(tmp_path: Path) -> Iterator:
    clusters: list[Cluster] = []

    def make(**options) -> Cluster:
        cluster = Cluster(**options)
        clusters.append(cluster)
        cluster.start()
        cluster.write_kubeconfig(tmp_path / f"kubesim-{len(clusters)}" / "kubeconfig")
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop()


@pytest.fixture
def kubesim(kubesim_factory) -> Cluster:
    return kubesim_factory(k8s_version="1.33")


def start_process(kubeconfig: Path, *args: str, timeout: float = 20.0) -> tuple[subprocess.Popen, str]:
    """Start `python -m tests.kubesim` and wait until it has written `kubeconfig` and printed its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.kubesim", "--port", "0", "--kubeconfig", str(kubeconfig),
                             *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url or not kubeconfig.exists() or time.monotonic() > deadline:
        proc.kill()
        raise RuntimeError(f"kubesim did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, url
