"""The build-time model: how long an index or foreign key takes on the primary and in replica replay."""

from __future__ import annotations

import pytest

from shipit.db.connection import Flavour
from shipit.db.estimate import BuildKind, TableSize, estimate_build


def test_model_adds_serial_replica_replay_except_on_aurora():
    size = TableSize("orders", 3_000_000, 540_000_000, 0, 0)
    index = estimate_build(size, "index_orders_on_user_id", BuildKind.INDEX, Flavour.MARIADB, replicas=1)
    assert index.primary_s == pytest.approx(20.0) and index.replica_s == pytest.approx(20.0)
    assert index.total_s == pytest.approx(40.0) and not index.blocks_writes
    assert "primary 20.0s + replica replay 20.0s = 40.0s (20.0s-1.0min)" in index.describe()
    fk = estimate_build(size, "fk_rails_x", BuildKind.FOREIGN_KEY, Flavour.AURORA, replicas=2)
    assert fk.replica_s == 0 and fk.blocks_writes and "blocks writes" in fk.describe()
    assert estimate_build(size, "i", BuildKind.INDEX, Flavour.MYSQL, replicas=0).replica_s == 0
