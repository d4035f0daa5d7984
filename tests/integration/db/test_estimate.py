"""Table sizes read from the real server, and the estimates built from them."""

from __future__ import annotations

import pytest

from shipit.db.connection import DatabaseURL, Server
from shipit.db.estimate import builds_for, estimate
from shipit.planning.classify import ExpectedObject, ObjectKind
from tests.support.mariadb import execute


def test_reads_sizes_for_existing_tables_only(fresh_db):
    conn = fresh_db.connect()
    execute(conn,
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT, pad CHAR(200))",
            "INSERT INTO orders SELECT seq, seq % 10, 'x' FROM seq_1_to_20000",
            "ANALYZE TABLE orders")
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
