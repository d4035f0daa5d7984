"""Size readings from the real server and the build-time model (doc §4.5)."""

from __future__ import annotations

import pytest

from shipit.db.connection import DatabaseURL, Flavour, Server
from shipit.db.estimate import BuildKind, TableSize, builds_for, estimate, estimate_build
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


def test_reads_sizes_for_existing_tables_only(fresh_db):
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT, pad CHAR(200))")
        cur.execute("INSERT INTO orders SELECT seq, seq % 10, 'x' FROM seq_1_to_20000")
        cur.execute("ANALYZE TABLE orders")
    conn.close()
    expected = [
        ExpectedObject(ObjectKind.INDEX, "orders", "index_orders_on_user_id", ("user_id",)),
        ExpectedObject(ObjectKind.COLUMN, "orders", "state", ("state",)),
        ExpectedObject(ObjectKind.INDEX, "invoices", "index_invoices_on_x", ("x",)),  # table created by the release
    ]
    assert [b[1] for b in builds_for(expected)] == ["index_orders_on_user_id", "index_invoices_on_x"]
    server = Server("primary", DatabaseURL.parse(fresh_db.url))
    try:
        sizes, estimates = estimate(server, expected, replicas=0)
    finally:
        server.close()
    assert [s.table for s in sizes] == ["orders"]
    assert 15_000 <= sizes[0].rows <= 25_000 and sizes[0].data_length > 4_000_000
    assert [e.name for e in estimates] == ["index_orders_on_user_id"]
    assert estimates[0].primary_s == pytest.approx(sizes[0].data_length / 27e6)
