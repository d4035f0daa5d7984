"""Probe against real MariaDB accounts: a limited monitoring user gets the exact GRANT it needs, and that GRANT works."""

from __future__ import annotations

import uuid

import pytest

from shipit.db.connection import DatabaseURL, Flavour, Role, Server
from shipit.db.probe import Privilege, probe
from tests.support.mariadb import admin_connect


@pytest.fixture
def limited_user(fresh_db):
    """A real account with SELECT on the test schema only; dropped afterwards."""
    name = f"shipit_mon_{uuid.uuid4().hex[:8]}"
    password = "mon-" + uuid.uuid4().hex[:12]
    admin = admin_connect()
    with admin.cursor() as cur:
        cur.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT SELECT ON `{fresh_db.name}`.* TO '{name}'@'%'")
        cur.execute(f"CREATE TABLE `{fresh_db.name}`.users (id BIGINT PRIMARY KEY)")
    try:
        yield name, f"mysql://{name}:{password}@127.0.0.1:3306/{fresh_db.name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
        admin.close()


def test_root_has_everything_and_gets_migration_warnings(fresh_db):
    server = Server("primary", DatabaseURL.parse(fresh_db.url))
    try:
        result = probe(server)
    finally:
        server.close()
    r = result.readings
    assert r.flavour is Flavour.MARIADB and r.version >= (10, 6, 0)
    assert result.missing == () and result.grant_message() is None
    assert r.lock_wait_timeout == 86400  # the machine's default
    assert any("lock_wait_timeout=86400s" in w for w in result.warnings)
    assert any("performance_schema is OFF" in w for w in result.warnings)


def test_limited_replica_user_gets_one_message_with_the_exact_grant(limited_user):
    name, url = limited_user
    server = Server("replica-1", DatabaseURL.parse(url), Role.REPLICA)
    try:
        result = probe(server)
        assert result.missing == (Privilege.PROCESS, Privilege.REPLICA_MONITOR)
        message = result.grant_message()
        statement = f"GRANT PROCESS, SLAVE MONITOR ON *.* TO '{name}'@'%';"
        assert message.startswith(f"replica-1: user {name}@% lacks PROCESS to see other sessions")
        assert message.endswith("Run: " + statement)
        admin = admin_connect()
        with admin.cursor() as cur:
            cur.execute(statement.rstrip(";"))  # the advice is executable as printed
        admin.close()
        server.close()  # privileges apply to new sessions
        assert probe(server).missing == ()
    finally:
        server.close()


def test_user_without_schema_select(fresh_db, limited_user):
    name, url = limited_user
    admin = admin_connect()
    with admin.cursor() as cur:
        cur.execute(f"REVOKE SELECT ON `{fresh_db.name}`.* FROM '{name}'@'%'")
        cur.execute(f"GRANT PROCESS ON *.* TO '{name}'@'%'")
        cur.execute(f"GRANT INSERT ON `{fresh_db.name}`.* TO '{name}'@'%'")  # can still connect to the schema
    admin.close()
    server = Server("primary", DatabaseURL.parse(url))
    try:
        result = probe(server)
    finally:
        server.close()
    assert result.missing == (Privilege.SELECT_SCHEMA,)
    assert result.blocking_missing == (Privilege.SELECT_SCHEMA,)
    assert f"GRANT SELECT ON `{fresh_db.name}`.* TO '{name}'@'%';" in result.grant_message()
