"""The build-time model: how long an index or foreign key takes on the primary and in replica replay."""

from __future__ import annotations

import pytest

from shipit.db.connection import Flavour
from shipit.db.estimate import BuildKind, TableSize, builds_for, estimate_build
from shipit.planning.classify import ExpectedObject, ObjectKind


def test_model_adds_serial_replica_replay_except_on_aurora():
    size = TableSize("orders", 3_000_000, 540_000_000, 0, 0)
    index = estimate_build(size, "index_orders_on_user_id", BuildKind.INDEX, Flavour.MARIADB, replicas=1)
    assert index.primary_s == pytest.approx(20.0) and index.replica_s == pytest.approx(20.0)
    assert index.total_s == pytest.approx(40.0) and not index.blocks_writes
    assert "primary 20.0s + replica replay 20.0s = 40.0s (20.0s-1.0min)" in index.describe()
    fk = estimate_build(size, "fk_rails_x", BuildKind.FOREIGN_KEY, Flavour.AURORA, replicas=2)
    assert fk.replica_s == 0 and fk.blocks_writes and "blocks writes" in fk.describe()
    assert estimate_build(size, "i", BuildKind.INDEX, Flavour.MYSQL, replicas=0).replica_s == 0


def test_every_binlog_replica_replays_in_parallel_so_replay_is_counted_once():
    size = TableSize("orders", 1_000, 27_000_000, 0, 0)
    one = estimate_build(size, "i", BuildKind.INDEX, Flavour.MARIADB, replicas=1)
    three = estimate_build(size, "i", BuildKind.INDEX, Flavour.MARIADB, replicas=3)
    assert one.replica_s == three.replica_s == pytest.approx(1.0)
    assert three.total_s == pytest.approx(2.0)


def test_long_builds_are_described_in_hours_with_the_uncertainty_band():
    size = TableSize("events", 10**9, 27 * 10**11, 0, 0)  # 100,000 s on the primary
    text = estimate_build(size, "index_events_on_at", BuildKind.INDEX, Flavour.AURORA, replicas=1).describe()
    assert text == "index index_events_on_at on events: primary 27.8h = 27.8h (13.9h-41.7h)"


def test_sizes_describe_rows_and_bytes_and_json_rounds():
    assert TableSize("orders", 3_000_000, 540_000_000, 2048, 0).describe() == \
        "orders: ~3,000,000 rows, data 515.0 MB, indexes 2.0 KB"
    size = TableSize("orders", 1, 16_000_123, 0, 0)
    fk = estimate_build(size, "fk_rails_1", BuildKind.FOREIGN_KEY, Flavour.MYSQL, replicas=0).to_json()
    assert fk == {"table": "orders", "name": "fk_rails_1", "kind": "foreign_key", "primary_s": 1.0, "replica_s": 0.0,
                  "total_s": 1.0, "blocks_writes": True}


def test_only_indexes_and_foreign_keys_take_build_time_in_plan_order():
    expected = [
        ExpectedObject(ObjectKind.TABLE, "invoices", "invoices", ()),
        ExpectedObject(ObjectKind.FOREIGN_KEY, "orders", "fk_rails_9", ("user_id",)),
        ExpectedObject(ObjectKind.COLUMN, "orders", "state", ("state",)),
        ExpectedObject(ObjectKind.INDEX, "orders", "index_orders_on_state", ("state",)),
    ]
    assert builds_for(expected) == (("orders", "fk_rails_9", BuildKind.FOREIGN_KEY),
                                    ("orders", "index_orders_on_state", BuildKind.INDEX))
