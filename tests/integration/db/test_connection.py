"""Connections against the real MariaDB: URL parsing, time limits, reconnects, the error after the budget."""

from __future__ import annotations

import re
import socket
import ssl
import time

import pytest

from shipit.core import redact
from shipit.core.config import DatabaseConfig, ReplicaConfig
from shipit.db.connection import (
    DatabaseURL,
    Flavour,
    QueryError,
    QueryTimeout,
    Role,
    Server,
    limit_statement,
    parse_version,
    servers_from_config,
)
from shipit.core.errors import BadInput, ShipitError
from tests.support.mariadb import admin_connect


def test_url_parses_parts_and_tls_options():
    url = DatabaseURL.parse("mysql2://app:s3cr%40tPW@db.internal:3307/shop?ssl-mode=verify_identity&ssl_ca=/etc/ca.pem")
    assert (url.host, url.port, url.user, url.password, url.database) == ("db.internal", 3307, "app", "s3cr@tPW", "shop")
    assert url.tls == (("ssl-ca", "/etc/ca.pem"), ("ssl-mode", "VERIFY_IDENTITY"))
    assert url.ssl_options() == {"check_hostname": True, "ca": "/etc/ca.pem"}
    assert DatabaseURL.parse("mysql://u@h/d").port == 3306


def test_url_password_never_shown():
    url = DatabaseURL.parse("mysql://app:Hunter2Secret@db:3306/shop")
    assert "Hunter2Secret" not in repr(url)
    assert url.display() == "mysql://app:***@db:3306/shop"
    assert redact.redact("login failed for Hunter2Secret") == "login failed for ***"


def test_ssl_modes_map_to_pymysql_options():
    assert DatabaseURL.parse("mysql://u@h/d").ssl_options() is None
    assert DatabaseURL.parse("mysql://u@h/d?ssl-mode=DISABLED").ssl_options() is None
    required = DatabaseURL.parse("mysql://u@h/d?ssl-mode=REQUIRED").ssl_options()
    assert required == {"check_hostname": False, "verify_mode": ssl.CERT_NONE}
    assert DatabaseURL.parse("mysql://u@h/d?ssl-ca=/ca.pem").ssl_options() == {"check_hostname": False, "ca": "/ca.pem"}


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgres://u@h/d", "scheme"),
        ("mysql://u@h/", "one database"),
        ("mysql://u@h:notaport/d", "not valid"),
        ("mysql://u:pw12345@h/d?sslmode=nope", "ssl-mode"),
        ("mysql://u@h/d?pool=5", "unknown option"),
        ("mysql:///d", "no host"),
    ],
)
def test_bad_urls_are_bad_input(url, message):
    with pytest.raises(BadInput, match=message) as e:
        DatabaseURL.parse(url)
    assert "pw12345" not in str(e.value)


def test_statement_limit_per_flavour():
    assert limit_statement("SELECT 1", Flavour.MARIADB, 2.5) == "SET STATEMENT max_statement_time=2.500 FOR SELECT 1"
    assert limit_statement("  select a from t", Flavour.MYSQL, 2.5) == "SELECT /*+ MAX_EXECUTION_TIME(2500) */ a from t"
    assert limit_statement("SHOW PROCESSLIST", Flavour.AURORA, 2.5) == "SHOW PROCESSLIST"
    assert limit_statement("SELECT 1", Flavour.MARIADB, None) == "SELECT 1"


def test_parse_version():
    assert parse_version("10.11.19-MariaDB-0+deb12u1-log") == (10, 11, 19)
    assert parse_version("5.5.5-10.6.12-MariaDB") == (10, 6, 12)
    assert parse_version("8.0.36") == (8, 0, 36)


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
    assert e.value.code == 1045


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


def test_servers_from_config():
    servers = servers_from_config(DatabaseConfig(
        url="mysql://app@db:3306/shop", replicas=(ReplicaConfig("r1", "mysql://app@db-r1:3306/shop"),)
    ))
    assert [s.name for s in servers.all()] == ["primary", "r1"]
    assert servers.replicas[0].role is Role.REPLICA and servers.replicas[0].url.host == "db-r1"
