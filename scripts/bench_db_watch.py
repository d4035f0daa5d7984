#!/usr/bin/env python3
"""Benchmark the monitoring cost of a DDL watch: queries per second per server, and the time of one poll.

Starts a private MariaDB primary + replica (tests/support/replica.py: performance_schema with stage events on),
builds a 1,048,576-row table (INSERT ... SELECT doubling, replicated), then per run adds an index on the primary in
another connection twice: once watched with `DdlWatcher.wait_idle` (interval 1 s), once with the release's
schema-ready gate `wait_until_ready` (interval 0.25 s, as the release calls it), each until the primary and the
replica's replay are done. Queries are counted on the server side, from performance_schema's per-thread statement
summary of shipit's monitoring connections (and on the client side for the watcher). Prints medians over the runs.
Target: at most 2 queries per second per server.

    .venv/bin/python scripts/bench_db_watch.py [--runs 3] [--rows-log2 20]

With 2^20 rows a build lasts 2-4 s (3-5 polls, so the rate is coarse); --rows-log2 22 watches 12-14 s per run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipit.db.connection import DatabaseURL, Role, Server, Servers  # noqa: E402
from shipit.planning.classify import ExpectedObject, ObjectKind  # noqa: E402
from shipit.db.ddl_watch import DdlWatcher  # noqa: E402
from shipit.db.schema_ready import wait_until_ready  # noqa: E402
from tests.support.replica import start_pair  # noqa: E402

_P_S_COUNT = ("SELECT COALESCE(SUM(s.COUNT_STAR), 0) AS n FROM "
              "performance_schema.events_statements_summary_by_thread_by_event_name AS s "
              "JOIN performance_schema.threads AS t ON t.THREAD_ID = s.THREAD_ID WHERE t.PROCESSLIST_ID = %s")


class CountingServer(Server):
    """A shipit Server that counts the statements it sends (the client-side view of the cost)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.sent = 0

    def _run(self, sql, args, timeout, *, fetch):
        self.sent += 1
        return super()._run(sql, args, timeout, fetch=fetch)


def server_side_count(admin_server, conn_id: int) -> int:
    return int(admin_server.sql(_P_S_COUNT, (conn_id,))[0]["n"])


def _replica_has(pair, db: str, index: str) -> bool:
    return bool(pair.replica.sql("SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
                                 "AND INDEX_NAME = %s", (db, index))[0]["n"])


def measure(pair, db: str, index: str, watch) -> dict:
    """Start an index build on the primary, then run `watch(servers, index, alter_thread)` (which must return once
    the primary and the replica are done) and count what it sent to each server."""
    servers = Servers(CountingServer("primary", DatabaseURL.parse(pair.primary.url(db)), Role.PRIMARY),
                      (CountingServer("replica1", DatabaseURL.parse(pair.replica.url(db)), Role.REPLICA),))
    ids = {s.name: s.connection_id for s in servers.all()}  # opens the monitoring connections
    admin = {"primary": pair.primary, "replica1": pair.replica}
    conn = pair.primary.connect(db)
    alter = threading.Thread(target=lambda: conn.cursor().execute(
        f"ALTER TABLE big ADD INDEX {index} (email), ALGORITHM=INPLACE, LOCK=NONE"))
    alter.start()
    while not pair.primary.sql("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE %s",
                               (f"ALTER TABLE big ADD INDEX {index}%",))[0]["n"]:
        time.sleep(0.02)
    before_server = {n: server_side_count(admin[n], i) for n, i in ids.items()}
    before_client = {s.name: s.sent for s in servers.all()}
    started = time.monotonic()
    out = watch(servers, index, alter)
    elapsed = time.monotonic() - started
    after_server = {n: server_side_count(admin[n], i) for n, i in ids.items()}
    after_client = {s.name: s.sent for s in servers.all()}
    alter.join()
    conn.cursor().execute(f"ALTER TABLE big DROP INDEX {index}")
    conn.close()
    pair.wait_caught_up(timeout=600)
    servers.close()
    out["elapsed_s"] = elapsed
    for name in ids:
        out[f"{name}_qps"] = (after_server[name] - before_server[name]) / elapsed
        out[f"{name}_client_qps"] = (after_client[name] - before_client[name]) / elapsed
    return out


def watcher_run(pair, db: str, run: int) -> dict:
    """`DdlWatcher.wait_idle` at 1 s, as `shipit db status`-style watching does."""
    def watch(servers, index, alter):
        watcher = DdlWatcher(servers)
        poll_times: list[float] = []
        original_poll = watcher.poll

        def timed_poll(now=None, **kw):
            started = time.perf_counter()
            try:
                return original_poll(now, **kw)
            finally:
                poll_times.append(time.perf_counter() - started)

        watcher.poll = timed_poll  # type: ignore[method-assign]
        while True:  # the replica starts its replay only after the primary commits: watch until it is done too
            watcher.wait_idle(tables=["big"], timeout=600, interval=1.0)
            if not alter.is_alive() and _replica_has(pair, db, index):
                return {"polls": len(poll_times), "poll_ms": statistics.median(poll_times) * 1000}
            time.sleep(1.0)  # the watch interval: wait_idle polls again at once
    return measure(pair, db, f"idx_watch{run}", watch)


def gate_run(pair, db: str, run: int) -> dict:
    """The release's schema-ready gate, `wait_until_ready`, with the release's 0.25 s interval."""
    def watch(servers, index, alter):
        expected = [ExpectedObject(ObjectKind.INDEX, "big", index, ("email",))]
        polls: list[float] = []
        last = [time.perf_counter()]

        def on_progress(readiness):
            now = time.perf_counter()
            polls.append(now - last[0])
            last[0] = now
        wait_until_ready(servers, expected, 600, on_progress, replica_lag_max=10, interval=0.25, consecutive=2)
        return {"polls": len(polls)}
    return measure(pair, db, f"idx_gate{run}", watch)
def build(pair, db: str, rows_log2: int) -> None:
    pair.primary.sql(f"CREATE DATABASE `{db}`")
    conn = pair.primary.connect(db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE big (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, "
                    "email CHAR(32) NOT NULL)")
        cur.execute("INSERT INTO big (user_id, email) VALUES (1, MD5(1))")
        for _ in range(rows_log2):
            cur.execute("INSERT INTO big (user_id, email) SELECT id % 5000, MD5(id + RAND()) FROM big")
    conn.close()
    pair.wait_caught_up(timeout=600)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rows-log2", type=int, default=20)
    args = ap.parse_args()
    db = "shipit_bench_watch"
    with start_pair() as pair:
        started = time.monotonic()
        build(pair, db, args.rows_log2)
        print(f"built {2 ** args.rows_log2:,} rows (replicated) in {time.monotonic() - started:.1f}s", flush=True)
        watch_runs, gate_runs = [], []
        for i in range(args.runs):
            r = watcher_run(pair, db, i)
            watch_runs.append(r)
            print(f"watcher run {i + 1}: watched {r['elapsed_s']:.1f}s, {r['polls']} polls, median poll "
                  f"{r['poll_ms']:.1f} ms; queries/s primary {r['primary_qps']:.2f} (client "
                  f"{r['primary_client_qps']:.2f}), replica {r['replica1_qps']:.2f} (client "
                  f"{r['replica1_client_qps']:.2f})", flush=True)
            g = gate_run(pair, db, i)
            gate_runs.append(g)
            print(f"gate run {i + 1}: ready after {g['elapsed_s']:.1f}s, {g['polls']} polls; queries/s primary "
                  f"{g['primary_qps']:.2f}, replica {g['replica1_qps']:.2f}", flush=True)
        # the pair (and its data directory) is removed when start_pair exits
    med = {k: statistics.median(r[k] for r in watch_runs) for k in watch_runs[0]}
    gmed = {k: statistics.median(r[k] for r in gate_runs) for k in gate_runs[0]}
    worst = max(max(r["primary_qps"], r["replica1_qps"]) for r in watch_runs + gate_runs)
    print(f"\nindex build on {2 ** args.rows_log2:,} rows watched on primary + replica, median of {args.runs} runs:")
    print(f"  DdlWatcher (1 s):            primary {med['primary_qps']:.2f} q/s, replica {med['replica1_qps']:.2f} "
          f"q/s; one poll of both servers {med['poll_ms']:.1f} ms")
    print(f"  schema-ready gate (0.25 s):  primary {gmed['primary_qps']:.2f} q/s, replica {gmed['replica1_qps']:.2f} "
          f"q/s over {gmed['elapsed_s']:.1f}s")
    print(f"  worst run {worst:.2f} q/s per server [target <= 2]")
    ok = worst <= 2.0
    print("  target met" if ok else "  TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
