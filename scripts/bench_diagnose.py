"""Benchmark `shipit diagnose`: wall time and database queries with 200 connections in the processlist.

The e2e sandbox (kubesim in exec mode, the real CLI) on a private MariaDB primary + replica pair, so the general log
holds only what shipit and the benchmark send. The loaded case has 200 extra connections on the
primary: 40 run the same full-scan query (held by SLEEP, so they stay in the processlist without sending anything new)
and 160 are idle. The baseline is the same command, same run, without them. Each case: `--runs` runs of
`shipit diagnose --output json` as a subprocess; medians of the wall time (Python start-up included), of the time the
command reports for itself, and of the statements it sent (the counter's own reads subtracted).

Run: .venv/bin/python scripts/bench_diagnose.py [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pymysql  # noqa: E402

from tests.support.replica import start_pair  # noqa: E402
from tests.support.sandbox import NAMESPACE, Sandbox, connect, open_sandbox  # noqa: E402

CONNECTIONS, PILING = 200, 40
CREATE = """\
def change
  create_table :orders do |t|
    t.bigint :customer_id, null: false
    t.timestamps
  end
end
"""
SCHEMA = """\
ActiveRecord::Schema.define(version: 20240101000001) do
  create_table "orders", force: :cascade do |t|
    t.bigint "customer_id", null: false
    t.datetime "created_at", precision: 6, null: false
    t.datetime "updated_at", precision: 6, null: false
  end
end
"""


def marks(servers) -> dict[str, str]:
    return {s.name: str(s.sql("SELECT NOW(6) AS t")[0]["t"]) for s in servers}


def statements(sb: Sandbox, servers, since: dict[str, str]) -> list[tuple[str, str]]:
    """(server, statement) shipit's database user sent since the marks (the log is never truncated: a TRUNCATE on
    the primary would replicate and empty the replica's log under the benchmark)."""
    out = []
    for s in servers:
        rows = s.sql("SELECT argument AS a FROM mysql.general_log WHERE user_host LIKE %s AND event_time >= %s "
                     "AND command_type IN ('Query', 'Execute') ORDER BY event_time", (f"{sb.db_user}%", since[s.name]))
        out += [(s.name, r["a"].decode() if isinstance(r["a"], bytes) else r["a"]) for r in rows]
    return out


def measure(sb: Sandbox, runs: int, servers) -> dict:
    walls, reported, sent, problems, last = [], [], [], set(), []
    for _ in range(runs):
        since = marks(servers)
        r = sb.shipit("diagnose", "--output", "json", timeout=60)
        last = statements(sb, servers, since)
        sent.append(len(last))
        if r.code not in (0, 1):
            raise SystemExit(f"diagnose failed\n{r.text}")
        report = r.json()
        walls.append(r.seconds)
        reported.append(report["elapsed_s"])
        problems.add(tuple(sorted(f["kind"] for s in report["sections"].values() for f in s["findings"])))
    return {"wall_s": statistics.median(walls), "reported_s": statistics.median(reported),
            "queries": statistics.median(sent), "max_wall_s": max(walls), "findings": sorted(problems), "last": last}


@contextlib.contextmanager
def connections(sb: Sandbox) -> Iterator[None]:
    """CONNECTIONS extra sessions on the primary: PILING run one full scan held by SLEEP, the rest idle."""
    conns = [connect(sb.db_admin_url) for _ in range(CONNECTIONS)]

    def run(conn: pymysql.connections.Connection) -> None:
        with contextlib.suppress(pymysql.MySQLError), conn.cursor() as cur:
            cur.execute("SELECT * FROM orders WHERE customer_id = 7 AND SLEEP(120) = 0")

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in conns[:PILING]]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while sb.sql("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST")[0]["n"] < CONNECTIONS:
        if time.monotonic() > deadline:
            raise SystemExit("the connections did not all appear in the processlist")
        time.sleep(0.2)
    try:
        yield
    finally:
        for row in sb.sql("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%%SLEEP(120)%%' "
                          "AND ID <> CONNECTION_ID()"):
            with contextlib.suppress(pymysql.MySQLError):
                sb.sql(f"KILL {int(row['ID'])}")
        for c in conns:
            with contextlib.suppress(Exception):
                c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trace", action="store_true", help="also print the statements of the last loaded run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-diagnose-") as tmp, start_pair(Path(tmp)) as pair, \
            pair.fresh_database() as db, open_sandbox(Path(tmp) / "sb", db_url=db.primary_url,
                                                      replica_urls=(db.replica_url,)) as sb:
        pair.primary.sql(f"SET GLOBAL max_connections = {CONNECTIONS + 100}")  # a private server: 151 by default
        sb.add_migration("20240101000001", "create_orders", CREATE, commit=False)
        (sb.repo / "db" / "schema.rb").write_text(SCHEMA)
        sha = sb.commit("orders")
        out = sb.app.migrate(sb.db_admin_url)
        if out.returncode != 0:
            raise SystemExit(out.stdout)
        sb.sql("INSERT INTO orders (customer_id, created_at, updated_at) SELECT seq % 5000, NOW(), NOW() "
               "FROM seq_1_to_20000")
        for name in ("web", "worker"):
            sb.cluster.kubectl("set", "image", f"deployment/{name}", f"{name}={sb.image(sha)}", "-n", NAMESPACE)
        sb.wait_deployments_ready()
        pair.wait_caught_up()
        servers = (pair.primary, pair.replica)
        for s in servers:  # counts exactly what shipit's user sends (a private pair: nobody else is logged)
            s.sql("SET GLOBAL log_output = 'TABLE'")
            s.sql("SET GLOBAL general_log = 1")
        base = measure(sb, args.runs, servers)
        with connections(sb):
            loaded = measure(sb, args.runs, servers)
    print(f"shipit diagnose, {args.runs} runs per case, medians (primary + replica, kubesim, 2 Deployments)")
    for label, m in (("baseline (no extra connections)", base), (f"{CONNECTIONS} connections ({PILING} piling)", loaded)):
        print(f"  {label:36} wall {m['wall_s']:.2f}s (max {m['max_wall_s']:.2f}s), reported {m['reported_s']:.2f}s, "
              f"{m['queries']:.0f} queries; findings {m['findings']}")
    if args.trace:
        for server, sql in loaded["last"]:
            print(f"  {server}: {sql[:120]}")
    print(f"  ratio loaded/baseline: wall {loaded['wall_s'] / base['wall_s']:.2f}x, "
          f"queries {loaded['queries'] / max(1, base['queries']):.2f}x")


if __name__ == "__main__":
    main()
