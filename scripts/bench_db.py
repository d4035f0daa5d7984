#!/usr/bin/env python3
"""Benchmark the preflight orphan check: a 5,000,000-row child table scanned in primary-key chunks.

Builds `orders` (5,000,000 rows, built with INSERT ... SELECT doubling) and `users` (100,000 rows) in a scratch
database, with 1 in 50,000 orders pointing at a missing user. Each run times shipit's chunked, throttled orphan check
(`shipit.db.preflight.run_check`, chunk_time 100 ms as in the default configuration) and, in the same run, one
unchunked `NOT EXISTS` count over the whole table. Prints the median of the runs.
Targets: at least 500,000 rows/s and no chunk over 100 ms.

    .venv/bin/python scripts/bench_db.py [--runs 3] [--url mysql://root@127.0.0.1:3306/shipit_bench] [--keep]

The database is dropped at the end unless --keep; a kept database of the right size is reused by the next run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipit.planning.classify import Check, CheckKind  # noqa: E402
from shipit.db.connection import DatabaseURL, Server  # noqa: E402
from shipit.db.preflight import Settings, Throttle, run_check  # noqa: E402

CHILD_ROWS = 5_000_000
PARENT_ROWS = 100_000
ORPHAN_EVERY = 50_000
UNCHUNKED = ("SELECT COUNT(*) AS bad FROM orders c WHERE c.user_id IS NOT NULL "
             "AND NOT EXISTS (SELECT 1 FROM users p WHERE p.id = c.user_id)")


def admin(url: DatabaseURL):
    import pymysql

    return pymysql.connect(host=url.host, port=url.port, user=url.user, password=url.password, autocommit=True)


def build(url: DatabaseURL) -> None:
    """Create the scratch database unless a complete one is already there."""
    conn = admin(url)
    db = url.database
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                    "AND TABLE_NAME IN ('orders', 'users', 'bench_done')", (db,))
        if cur.fetchone()[0] == 3:
            print(f"reusing {db}", flush=True)
            return
        started = time.monotonic()
        cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"USE `{db}`")
        # explicit keys: auto-increment leaves gaps between bulk inserts, and a gap in users makes orphans
        cur.execute("CREATE TABLE users (id INT PRIMARY KEY, email CHAR(32) NOT NULL)")
        cur.execute("CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NULL, total INT NOT NULL)")
        cur.execute("INSERT INTO users VALUES (1, MD5(1))")
        while True:  # doubling, capped at the target
            cur.execute("SELECT COUNT(*) FROM users")
            have = cur.fetchone()[0]
            if have >= PARENT_ROWS:
                break
            cur.execute(f"INSERT INTO users SELECT id + {have}, MD5(id + {have}) FROM users "
                        f"ORDER BY id LIMIT {PARENT_ROWS - have}")
        cur.execute("INSERT INTO orders VALUES (1, 1, 1)")
        while True:
            cur.execute("SELECT COUNT(*) FROM orders")
            have = cur.fetchone()[0]
            if have >= CHILD_ROWS:
                break
            cur.execute(f"INSERT INTO orders SELECT id + {have}, 1 + (id + {have}) % {PARENT_ROWS}, id % 977 "
                        f"FROM orders ORDER BY id LIMIT {CHILD_ROWS - have}")
        cur.execute(f"UPDATE orders SET user_id = {PARENT_ROWS} + id WHERE id % {ORPHAN_EVERY} = 0")
        cur.execute("UPDATE orders SET user_id = NULL WHERE id % 1000 = 7")  # NULLs are not orphans
        cur.execute("ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id)")
        cur.execute("ANALYZE TABLE users, orders")
        cur.fetchall()
        cur.execute("CREATE TABLE bench_done (at DATETIME)")
    conn.close()
    print(f"built {db} in {time.monotonic() - started:.1f}s", flush=True)


def drop(url: DatabaseURL) -> None:
    conn = admin(url)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{url.database}`")
    conn.close()


def one_run(url: DatabaseURL, settings: Settings) -> dict:
    server = Server("primary", url, retry_budget=5.0)
    try:
        check = Check(CheckKind.ORPHANS, "orders", ("user_id",), to_table="users", migration_version="bench")
        throttle = Throttle(server, (), settings.threads_running_max, settings.replica_lag_max)
        started = time.monotonic()
        result = run_check(server, check, settings, started + settings.budget, throttle)
        chunked_s = time.monotonic() - started
        started = time.monotonic()
        whole = server.query_one(UNCHUNKED, timeout=600)
        whole_s = time.monotonic() - started
    finally:
        server.close()
    expected = CHILD_ROWS // ORPHAN_EVERY
    assert result.count == int(whole["bad"]) == expected, (result.count, whole["bad"], expected)
    assert result.rows_scanned == CHILD_ROWS, result.rows_scanned
    return {"chunked_s": chunked_s, "rows_per_s": result.rows_scanned / chunked_s, "chunks": result.chunks,
            "longest_chunk_ms": result.longest_chunk_s * 1000, "unchunked_s": whole_s,
            "unchunked_rows_per_s": CHILD_ROWS / whole_s, "orphans": result.count}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--url", default="mysql://root@127.0.0.1:3306/shipit_bench_db")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database for the next run")
    args = ap.parse_args()
    url = DatabaseURL.parse(args.url)
    settings = Settings(budget=600.0, chunk_time=0.1, long_transaction=30.0, threads_running_max=50,
                        replica_lag_max=10.0)
    build(url)
    try:
        runs = []
        for i in range(args.runs):
            r = one_run(url, settings)
            runs.append(r)
            print(f"run {i + 1}: chunked {r['chunked_s']:.2f}s = {r['rows_per_s']:,.0f} rows/s in {r['chunks']} "
                  f"chunks, longest {r['longest_chunk_ms']:.1f} ms; unchunked NOT EXISTS {r['unchunked_s']:.2f}s "
                  f"= {r['unchunked_rows_per_s']:,.0f} rows/s; {r['orphans']} orphans", flush=True)
    finally:
        if not args.keep:
            drop(url)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    worst_chunk = max(r["longest_chunk_ms"] for r in runs)
    print(f"\norphan check on {CHILD_ROWS:,} rows, median of {len(runs)} runs:")
    print(f"  chunked:   {med['rows_per_s']:,.0f} rows/s ({med['chunked_s']:.2f}s, {med['chunks']:.0f} chunks), "
          f"longest chunk median {med['longest_chunk_ms']:.1f} ms, worst {worst_chunk:.1f} ms  "
          f"[targets >= 500,000 rows/s, <= 100 ms]")
    print(f"  unchunked: {med['unchunked_rows_per_s']:,.0f} rows/s ({med['unchunked_s']:.2f}s in one statement)")
    ok = med["rows_per_s"] >= 500_000 and worst_chunk <= 100
    print("  targets met" if ok else "  TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
