"""Connections against the real MariaDB: flavour, time limits, reconnects, the error after the budget."""

from __future__ import annotations

import re
import socket
import time

import pytest

from shipit.core.errors import ShipitError
from shipit.db.connection import (
    DatabaseURL,
    Flavour,
    QueryError,
    QueryTimeout,
    Role,
    Server,
)
from tests.support.mariadb import admin_connect


def test_detects_flavour_and_runs_read_only(fresh_db):
    server = Server("primary", DatabaseURL.parse(fresh_db.url))
    try:
        assert server.flavour is Flavour.MARIADB
        assert server.version >= (10, 6, 0)
        row = server.query_one("SELECT @@tx_read_only AS ro, @@autocommit AS ac, @@character_set_client AS cs")
        assert row == {"ro": 1, "ac": 1, "cs": "utf8mb4"}
    finally:
        server.close()


def test_statement_time_limit_kills_long_select(fresh_db):
    server = Server("primary", DatabaseURL.parse(fresh_db.url))
    try:
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="time limit"):
            server.query("SELECT SLEEP(10)", timeout=0.5)
        assert time.monotonic() - started < 3
        assert server.query_one("SELECT 2 AS two") == {"two": 2}  # the session survives
    finally:
        server.close()


def test_reconnects_after_the_server_kills_the_connection(fresh_db):
    server = Server("primary", DatabaseURL.parse(fresh_db.url))
    try:
        first = server.connection_id
        admin = admin_connect()
        with admin.cursor() as cur:
            cur.execute(f"KILL {first}")
        admin.close()
        assert server.query_one("SELECT 1 AS one") == {"one": 1}
        assert server.connection_id != first
    finally:
        server.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_clear_error_after_the_retry_budget():
    server = Server("replica-1", DatabaseURL.parse(f"mysql://u:Secret99x@127.0.0.1:{_closed_port()}/app"),
                    Role.REPLICA, retry_budget=0.8)
    started = time.monotonic()
    with pytest.raises(ShipitError) as e:
        server.query("SELECT 1")
    # it retries (sleeping 0.1 s, 0.2 s, then 0.4 s only if that still fits the budget) and stops within it
    assert 0.3 <= time.monotonic() - started < 3
    text = str(e.value)
    assert re.search(r"unreachable after [3-9] attempts over 0.8s", text), text
    assert "replica-1" in text and "unreachable" in text and "Secret99x" not in text


def test_access_denied_fails_at_once(fresh_db):
    server = Server("primary", DatabaseURL.parse(f"mysql://nobody_here:wrongpw1@127.0.0.1:3306/{fresh_db.name}"))
    started = time.monotonic()
    with pytest.raises(QueryError) as e:
        server.query("SELECT 1")
    assert time.monotonic() - started < 2
    assert e.value.code in (1045, 1698)  # an unknown user: 1698 from MariaDB 10.11.19, 1045 from other servers


def test_errors_keep_server_code(fresh_db):
    server = Server("primary", DatabaseURL.parse(fresh_db.url))
    try:
        with pytest.raises(QueryError) as e:
            server.query("SELECT * FROM no_such_table")
        assert e.value.code == 1146
        with pytest.raises(QueryError) as e:
            server.query("CREATE TABLE t (id INT)")  # read-only session
        assert e.value.code == 1792
    finally:
        server.close()
