"""pytest fixtures for the real control plane: `real_cluster` (one per session; exec mode switchable per test) and
`cluster_namespace` (a fresh namespace per test, deleted afterwards). Tests needing them carry the `real_cluster`
marker; without Go they are skipped with the reason."""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.build import go_binary
from tests.cluster.cluster import ClusterError, RealCluster

NO_GO = "Go is not installed: the real control plane cannot be built (scripts/test sets it up where Go exists)"


def pytest_collection_modifyitems(config, items) -> None:
    if go_binary() is None:
        for item in items:
            if item.get_closest_marker("real_cluster"):
                item.add_marker(pytest.mark.skip(reason=NO_GO))


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory) -> Iterator[RealCluster]:
    if go_binary() is None:
        pytest.skip(NO_GO)
    workdir = tmp_path_factory.mktemp("real-cluster")
    cluster = RealCluster(workdir, log=lambda msg: print(f"real cluster: {msg}", file=sys.stderr, flush=True))
    try:
        cluster.start()
    except ClusterError as exc:
        cluster.stop()
        pytest.fail(f"the real control plane did not start: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster_namespace(real_cluster: RealCluster, request) -> Iterator[str]:
    """A namespace named after the test; Job containers run as processes only if the test sets exec mode."""
    name = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:50].strip("-")
    name = f"t-{name}-{secrets.token_hex(3)}"
    real_cluster.create_namespace(name)
    real_cluster.agent.runtime._exec_mode = False
    yield name
    real_cluster.agent.runtime._exec_mode = False
    real_cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
def shipit_kubeconfig(real_cluster: RealCluster, cluster_namespace: str, tmp_path: Path) -> Path:
    """config/rbac.yaml applied in the test's namespace; a kubeconfig holding the shipit ServiceAccount's token."""
    return real_cluster.shipit_kubeconfig(cluster_namespace, tmp_path / "shipit.kubeconfig")
