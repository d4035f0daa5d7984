"""Shared pieces for the DDL-watch tests: shipit Servers for a test database, and statements run in the background."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pymysql

from shipit.db.connection import DatabaseURL, Role, Server, Servers


def server(url: str, name: str = "primary", role: Role = Role.PRIMARY) -> Server:
    return Server(name, DatabaseURL.parse(url), role, retry_budget=2.0)


def pair_servers(db) -> Servers:
    """The shipit view of a PairDatabase: its primary and one replica named replica1."""
    return Servers(server(db.primary_url), (server(db.replica_url, "replica1", Role.REPLICA),))


class Background:
    """One statement on its own connection in a thread; `.conn_id` is known before it starts running."""

    def __init__(self, connect: Callable[[], pymysql.connections.Connection], sql: str, *, setup: tuple[str, ...] = ()):
        self.conn = connect()
        with self.conn.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            self.conn_id = int(cur.fetchone()[0])
            for s in setup:
                cur.execute(s)
        self.sql = sql
        self.error: BaseException | None = None
        self.result = None
        self.finished_at: float | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self.conn.cursor() as cur:
                cur.execute(self.sql)
                self.result = cur.fetchall()
        except BaseException as e:  # the test inspects it
            self.error = e
        finally:
            self.finished_at = time.monotonic()

    def join(self, timeout: float = 60.0) -> Background:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"still running after {timeout}s: {self.sql}"
        return self

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(interval)


def fill(conn: pymysql.connections.Connection, table: str, rows: int) -> None:
    """A table of `rows` rows with a 96-character string column, built server-side with the sequence engine."""
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{table}` (id INT PRIMARY KEY, email VARCHAR(200) NOT NULL, n INT NOT NULL)")
        cur.execute(f"INSERT INTO `{table}` SELECT seq, CONCAT(MD5(seq), MD5(seq + 1), MD5(seq + 2)), seq % 1000 "
                    f"FROM seq_1_to_{int(rows)}")
