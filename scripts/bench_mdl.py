#!/usr/bin/env python3
"""Benchmark the metadata-lock watchdog a release runs during its migration Jobs: the time and query count of one
`MigrationGuard.poll()`, with nothing waiting (the usual case: one processlist read) and during a real pile-up (an
idle transaction, an ALTER queued behind it while a connection holds Rails' migration lock, 3 SELECTs queued behind
the ALTER; a policy that never kills, so every poll does the full reading). At the release's MDL_POLL = 0.5 s the
query count per poll times 2 is the queries per second on the primary (target: at most 2 while idle).

Uses the MariaDB service at 127.0.0.1:3306 (root) in a temporary database. Prints medians over the polls.

    .venv/bin/python scripts/bench_mdl.py [--polls 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipit.db.connection import DatabaseURL, Role, Server  # noqa: E402
from shipit.db.health import MDL_WAIT_STATE  # noqa: E402
from shipit.db.mdl import MdlPolicy, MigrationGuard  # noqa: E402
from shipit.db.migration_state import rails_lock_name  # noqa: E402
from shipit.adapters.mdl_watch import MDL_POLL  # noqa: E402


class CountingServer(Server):
    queries = 0

    def query(self, sql, args=None, *, timeout=5.0):
        self.queries += 1
        return super().query(sql, args, timeout=timeout)


def _connect(db: str) -> pymysql.connections.Connection:
    return pymysql.connect(host="127.0.0.1", port=3306, user="root", database=db, autocommit=True)


def _measure(guard: MigrationGuard, server: CountingServer, polls: int) -> tuple[float, float, int]:
    """(median ms per poll, queries per poll, MDL waits seen in the last poll)."""
    guard.poll()  # warm: connection, lock-table source probe
    times, before = [], server.queries
    for _ in range(polls):
        t = time.perf_counter()
        verdict = guard.poll()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), (server.queries - before) / polls, len(verdict.waits)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--polls", type=int, default=50)
    polls = ap.parse_args().polls
    db = f"shipit_bench_mdl_{uuid.uuid4().hex[:8]}"
    admin = _connect("")
    admin.cursor().execute(f"CREATE DATABASE `{db}`")
    server = CountingServer("primary", DatabaseURL.parse(f"mysql://root@127.0.0.1:3306/{db}"), Role.PRIMARY)
    conns: list[pymysql.connections.Connection] = []
    threads: list[threading.Thread] = []
    try:
        setup = _connect(db)
        conns.append(setup)
        setup.cursor().execute("CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL)")
        setup.cursor().execute("INSERT INTO orders VALUES (1, 1), (2, 2)")
        guard = MigrationGuard(server, MdlPolicy(ddl_wait_s=1e9, victim_wait_s=1e9), frozenset({"orders"}))
        idle_ms, idle_q, _ = _measure(guard, server, polls)
        print(f"idle poll: median {idle_ms:.2f} ms, {idle_q:.1f} queries/poll = {idle_q / MDL_POLL:.1f} queries/s "
              f"at {MDL_POLL:g} s")

        blocker, migrator, alter_conn = _connect(db), _connect(db), _connect(db)
        conns += [blocker, migrator, alter_conn]
        blocker.cursor().execute("BEGIN")
        blocker.cursor().execute("SELECT * FROM orders WHERE id = 1")
        migrator.cursor().execute("SELECT GET_LOCK(%s, 0)", (rails_lock_name(db),))
        with alter_conn.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            alter_id = cur.fetchone()[0]

        def run(conn, sql):
            try:
                conn.cursor().execute(sql)
            except pymysql.err.Error:
                pass  # the ALTER is killed at the end

        threads.append(threading.Thread(target=run, args=(alter_conn, "ALTER TABLE orders ADD INDEX i (user_id)")))
        for _ in range(3):
            c = _connect(db)
            conns.append(c)
            threads.append(threading.Thread(target=run, args=(c, "SELECT * FROM orders WHERE id = 2")))
        threads[0].start()
        while not setup.cursor().execute("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s AND STATE = %s",
                                         (alter_id, MDL_WAIT_STATE)):
            time.sleep(0.02)
        for t in threads[1:]:
            t.start()
        time.sleep(0.3)
        wait_ms, wait_q, seen = _measure(guard, server, max(10, polls // 3))
        assert seen == 1, "the pile-up was not seen"
        print(f"poll during a wait ({guard.watchdog.source().value}): median {wait_ms:.2f} ms, "
              f"{wait_q:.1f} queries/poll = {wait_q / MDL_POLL:.1f} queries/s at {MDL_POLL:g} s")
        setup.cursor().execute(f"KILL QUERY {int(alter_id)}")
    finally:
        for t in threads:
            t.join(30)
        for c in conns:
            c.close()
        server.close()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{db}`")
        admin.close()


if __name__ == "__main__":
    main()
