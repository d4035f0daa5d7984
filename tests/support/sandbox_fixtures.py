"""The `sandbox` and `replica_sandbox` fixtures: tests/support/sandbox.py's Sandbox on the session's private MariaDB
pair and on the world SHIPIT_TEST_CLUSTER selects: `real` (the default when Go is present: the real control plane of
tests/cluster, shipit holding the `shipit` ServiceAccount's token, so a verb missing from config/rbac.yaml fails a
release) or `kubesim` (the default without Go). Tests marked `kubesim_only` always run on kubesim."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.build import go_binary
from tests.support.sandbox import Sandbox, open_sandbox

WORLD = os.environ.get("SHIPIT_TEST_CLUSTER") or ("real" if go_binary() else "kubesim")


def _world(request, tmp_path: Path):
    """The real control plane with shipit as its ServiceAccount, unless kubesim is chosen (SHIPIT_TEST_CLUSTER=kubesim,
    no Go, or the test's `kubesim_only` marker): then None, and open_sandbox makes a kubesim."""
    if WORLD != "real" or request.node.get_closest_marker("kubesim_only"):
        return None
    from tests.cluster.world import RealWorld
    return RealWorld(request.getfixturevalue("real_cluster"), tmp_path / "admin.kubeconfig", exec_mode=True,
                     shipit_identity=True)


@pytest.fixture
def sandbox(request, tmp_path: Path, pair_db) -> Iterator[Sandbox]:
    """A Sandbox whose config names only the primary of the session's private pair (no replica). Not the shared
    MariaDB service: shipit's health gates read the server-wide processlist, and other suites' load there (query
    pile-ups in their own databases) would rightly fail these releases."""
    with open_sandbox(tmp_path / "sandbox", db_url=pair_db.primary_url, cluster=_world(request, tmp_path)) as sb:
        yield sb


@pytest.fixture
def replica_sandbox(request, tmp_path: Path, pair_db) -> Iterator[Sandbox]:
    """A Sandbox on a fresh database of the session's primary + replica pair."""
    with open_sandbox(tmp_path / "sandbox", db_url=pair_db.primary_url, replica_urls=(pair_db.replica_url,),
                      cluster=_world(request, tmp_path)) as sb:
        yield sb
