"""A fresh database per test on the machine's MariaDB (127.0.0.1:3306, root, empty password)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator

import pymysql
import pytest

HOST = os.environ.get("SHIPIT_TEST_MYSQL_HOST", "127.0.0.1")
PORT = int(os.environ.get("SHIPIT_TEST_MYSQL_PORT", "3306"))
USER = os.environ.get("SHIPIT_TEST_MYSQL_USER", "root")
PASSWORD = os.environ.get("SHIPIT_TEST_MYSQL_PASSWORD", "")


@dataclasses.dataclass(frozen=True)
class FreshDatabase:
    name: str
    host: str = HOST
    port: int = PORT
    user: str = USER
    password: str = PASSWORD

    @property
    def url(self) -> str:
        auth = f"{self.user}:{self.password}@" if self.password else f"{self.user}@"
        return f"mysql://{auth}{self.host}:{self.port}/{self.name}"

    def connect(self, **kw) -> pymysql.connections.Connection:
        return pymysql.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, database=self.name,
            autocommit=True, **kw,
        )


def query(conn: pymysql.connections.Connection, statement: str, args=None) -> list[dict]:
    """Rows of one statement as dicts, on a connection opened for it (DictCursor) and closed afterwards."""
    try:
        with conn.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def execute(conn: pymysql.connections.Connection, *statements: str) -> None:
    """Run `statements` in order on `conn`."""
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def hold_in_transaction(conn: pymysql.connections.Connection, read: str) -> int:
    """BEGIN and `read` on `conn`: the open transaction holds the read table's metadata lock until it ends, so DDL on
    that table queues behind it. Returns the connection id."""
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        conn_id = int(cur.fetchone()[0])
        cur.execute("BEGIN")
        cur.execute(read)
        cur.fetchall()
    return conn_id


def admin_connect(**kw) -> pymysql.connections.Connection:
    return pymysql.connect(host=HOST, port=PORT, user=USER, password=PASSWORD, autocommit=True, **kw)


@pytest.fixture
def fresh_db() -> Iterator[FreshDatabase]:
    """An empty database, dropped after the test (with any connections the test left behind)."""
    yield from _fresh_database()


@pytest.fixture
def second_fresh_db() -> Iterator[FreshDatabase]:
    """Another empty database on the same server (an app's second Rails database), dropped after the test."""
    yield from _fresh_database()


def _fresh_database() -> Iterator[FreshDatabase]:
    db = FreshDatabase(name=f"shipit_t_{uuid.uuid4().hex[:12]}")
    conn = admin_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{db.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        yield db
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()", (db.name,))
            for (pid,) in cur.fetchall():
                try:
                    cur.execute(f"KILL {int(pid)}")
                except pymysql.MySQLError:
                    pass
            cur.execute(f"DROP DATABASE IF EXISTS `{db.name}`")
    finally:
        conn.close()
