"""The real gh-ost (1.1.6, built from its Go module by scripts/test) on a real MariaDB primary with a ROW binlog and a
replica, adding an index to a 200,000-row table, and what shipit makes of it: the copy seen on the server with its
progress, a cut-over postponed by its flag file reported as waiting for a person, the swap and the new index on every
server once the flag file is gone, a SIGKILLed run's leftovers with the SQL that cleans them (the replica's
replicated copies named with the primary's run), and the tool's own status lines read by shipit's log-progress parser.

gh-ost refuses MariaDB before 11.1 on its first connection (`Error 1193: Unknown system variable
'transaction_isolation'`, asserted below); every other test runs it through `tests.support.ghost.MariaDbShim`, which
renames that one session variable to MariaDB's `tx_isolation` and relays all else unchanged.
"""

from __future__ import annotations

import json

import pytest

from shipit.adapters.cluster import ToolProgress
from shipit.adapters.database import MysqlDatabase
from shipit.core import config
from shipit.db.connection import Servers
from shipit.db.ddl_watch import DdlKind, find_ddl
from shipit.db.health import HealthThresholds, read_threads
from shipit.db.migration_state import MigratorKind, running_migrators
from shipit.db.osc import (
    HEARTBEAT_STALE_S, OscTool, Role, RunState, assess, leftover_report, parse_progress, read_server_osc,
)
from shipit.db.schema_ready import SchemaWatch, wait_until_ready
from shipit.db.status import read_db_status
from shipit.planning.classify import ExpectedObject, ObjectKind
from shipit.report.live import PlainView
from tests.integration.db.helpers import pair_servers, server, wait_for
from tests.support.ghost import GH_OST, SHIM_HOST, SKIP_REASON, GhostRun, ghost_args, mariadb_shim, wait_for_line

pytestmark = pytest.mark.skipif(GH_OST is None, reason=SKIP_REASON)

ROWS = 200_000
ALTER = "ADD INDEX index_orders_on_customer_id (customer_id)"
INDEX = ExpectedObject(ObjectKind.INDEX, "orders", "index_orders_on_customer_id", ("customer_id",))
SLOW_COPY = ("--chunk-size=500", "--nice-ratio=1")  # sleeps as long as each chunk took: a copy long enough to watch


@pytest.fixture
def orders(pair_db):
    conn = pair_db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, "
                        "note VARCHAR(40))")
            cur.execute(f"INSERT INTO orders (customer_id, note) SELECT seq % 997, 'n' FROM seq_1_to_{ROWS}")
        yield pair_db
    finally:
        conn.close()


def _tables(db) -> set[str]:
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
            return {r[0] for r in cur.fetchall()}
    finally:
        conn.close()


def release_database(db) -> MysqlDatabase:
    """The database port a release uses, configured with the pair's primary and replica."""
    cfg = config.parse("app: shop\nimage: {repository: reg/shop}\ndeployments: [{name: web}]\n"
                       "migration: {from_deployment: web, container: web}\n"
                       f"database: {{url: {json.dumps(db.primary_url)}, replicas: [{json.dumps(db.replica_url)}]}}\n",
                       env={})
    return MysqlDatabase(cfg, PlainView())


class RecordingView:
    """The two calls ToolProgress makes on the release's live view, kept for the test to read."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.progress_texts: list[str] = []

    def line(self, source: str, text: str) -> None:
        self.lines.append(text)

    def progress(self, text: str) -> None:
        self.progress_texts.append(text)


def test_gh_ost_refuses_mariadb_before_11_1_on_its_first_connection(orders, tmp_path):
    port = orders.pair.primary.port
    version = orders.pair.primary.sql("SELECT VERSION() AS v")[0]["v"]
    if tuple(int(p) for p in version.split("-")[0].split(".")[:2]) >= (11, 1):
        pytest.skip(f"MariaDB {version} knows transaction_isolation")
    run = GhostRun(ghost_args("127.0.0.1", port, orders.name, "orders", ALTER, tmp_path))
    assert run.wait(timeout=60) != 0
    assert "FATAL Error 1193: Unknown system variable 'transaction_isolation'" in run.output
    assert _tables(orders) == {"orders"}  # it stopped before creating anything


def test_a_postponed_gh_ost_run_is_seen_copying_then_waits_for_a_person_then_swaps_in_the_index(orders, tmp_path):
    flag = tmp_path / "postpone.flag"
    flag.touch()
    servers = pair_servers(orders)
    srv = servers.primary
    port = orders.pair.primary.port
    with mariadb_shim(port) as shim:
        run = GhostRun(ghost_args(SHIM_HOST, port, orders.name, "orders", ALTER, tmp_path, *SLOW_COPY, "--verbose",
                                  f"--postpone-cut-over-flag-file={flag}"))
        try:
            # copying: a row-copy statement in the processlist is gh-ost's on orders, for the DDL watch and the gate
            (copy,) = wait_for(lambda: [d for d in find_ddl(srv.name, read_threads(srv)) if d.kind is DdlKind.GH_OST
                                        and d.statement.startswith("insert /* gh-ost")], timeout=60, interval=0.02)
            assert (copy.table, copy.schema) == ("orders", orders.name)
            # its first status line writes its first state into the changelog
            seen = wait_for(lambda: (r := read_server_osc(srv)).statuses and r, timeout=10)
            assert {(a.role, a.name) for a in seen.artifacts} == {(Role.SHADOW, "_orders_gho"),
                                                                  (Role.CHANGELOG, "_orders_ghc")}
            assert seen.heartbeats["_orders_ghc"] < HEARTBEAT_STALE_S
            assert seen.statuses["_orders_ghc"] == "migrating"
            (live,) = assess(seen, migration_running=None)
            assert live.state is RunState.COPYING and live.table == "orders"
            # preflight's view: the ghost table is a live run, not a leftover, and its copy session is named
            migrators = [m for m in running_migrators(srv) if m.kind is MigratorKind.GH_OST]
            assert {m.detail for m in migrators if m.live and m.table == "orders"} >= {"table _orders_gho",
                                                                                         "table _orders_ghc"}
            # its row-copy statements, most of what a long run shows, carry `/* gh-ost `db`.`table` */`
            wait_for(lambda: any(m.connection_id and m.detail.startswith("insert /* gh-ost `")
                                 for m in running_migrators(srv) if m.kind is MigratorKind.GH_OST),
                     timeout=30, interval=0.02)
            assert not SchemaWatch(servers, [INDEX]).poll(replica_lag_max=5).ready
            # the release's live progress from the Job's log: how far the copy is, with its ETA
            line = wait_for(lambda: next((x for x in list(run.lines) if (p := parse_progress(x)) and 0 < p.pct < 100
                                          and p.eta_s), None), timeout=60)
            view = RecordingView()
            ToolProgress(view).line(line)
            assert view.lines == [line] and view.progress_texts[0].startswith("gh-ost: ")
            assert " copied, ETA " in view.progress_texts[0]

            # the copy is done and gh-ost waits for its flag file: a person's move, not a hang
            wait_for_line(run, "State: postponing cut-over", timeout=180)
            view = RecordingView()  # the whole log so far, as the release reads it
            tool = ToolProgress(view)
            for line in list(run.lines):
                tool.line(line)
            assert tool.last is not None and tool.last.postponed and tool.last.pct == 100.0
            assert "waiting for a person to remove the flag file" in view.progress_texts[-1]
            # `shipit db status` reads no log: gh-ost's own state in its changelog says it is postponed
            status = read_db_status(Servers(srv), HealthThresholds(), sample_interval=0)
            (doc,) = [d for d in status.to_json()["online_schema_changes"] if d["tool"] == "gh-ost"]
            assert doc["state"] == "cut-over postponed" and doc["cleanup_sql"] == []
            assert "waiting for a person" in status.render_text()
            waiting = SchemaWatch(servers, [INDEX]).poll(replica_lag_max=5)
            assert not waiting.ready and any("index_orders_on_customer_id" in w and "primary" in w
                                             for w in waiting.waiting_for)

            flag.unlink()
            assert run.wait(timeout=120) == 0, run.output[-3000:]
        finally:
            run.kill()
        assert shim.rewrites > 0  # the relay did rename the variable (and gh-ost ran through it)

    assert "Tables renamed" in run.output
    after = read_server_osc(srv)
    assert {(a.role, a.name) for a in after.artifacts} == {(Role.OLD, "_orders_del")}  # gh-ost keeps the old table
    (kept,) = assess(after, migration_running=False)
    assert kept.state is RunState.OLD_COPY_KEPT and not kept.state.blocks_ready
    # the swap reached the replica through the binlog: the gate opens with the index on both servers
    ready = wait_until_ready(servers, [INDEX], timeout=60, replica_lag_max=5, interval=0.2, consecutive=2)
    assert ready.ready

    # every status line the real tool printed, plain or through its --verbose log, parses as gh-ost progress
    status_lines = [line for line in run.lines if "Copy: " in line]
    parsed = [parse_progress(line) for line in status_lines]
    assert len(parsed) >= 4 and all(p is not None and p.tool is OscTool.GH_OST for p in parsed)
    assert any("%!;(MISSING)" in line for line in status_lines)  # gh-ost's --verbose copy of each line
    pcts = [p.pct for p in parsed]
    assert pcts == sorted(pcts) and pcts[-1] == 100.0
    assert {p.state for p in parsed} >= {"migrating", "postponing cut-over"}
    assert any(p.eta_s is not None and p.eta_s > 0 for p in parsed)  # a Go duration ETA while copying
    # "N/A" before the first rows and "due" at the end are no ETA
    assert all(p.eta_s is None for line, p in zip(status_lines, parsed) if "ETA: N/A" in line or "ETA: due" in line)
    servers.close()


def test_a_sigkilled_gh_ost_run_is_reported_with_its_leftovers_and_the_sql_that_cleans_them(orders, tmp_path):
    srv = server(orders.primary_url)
    port = orders.pair.primary.port
    with mariadb_shim(port):
        run = GhostRun(ghost_args(SHIM_HOST, port, orders.name, "orders", ALTER, tmp_path, *SLOW_COPY))
        try:
            mid = wait_for(lambda: next((p for line in list(run.lines) if (p := parse_progress(line))
                                         and 0 < p.pct < 60), None), timeout=120)
        finally:
            run.kill()  # SIGKILL mid-copy, as when the migration's pod is killed
    assert mid.state == "migrating"
    assert _tables(orders) == {"orders", "_orders_gho", "_orders_ghc"}
    # a heartbeat under HEARTBEAT_STALE_S old could be a live run whatever the Job says; then it is stale
    aged = wait_for(lambda: (r := read_server_osc(srv)).heartbeats["_orders_ghc"] > HEARTBEAT_STALE_S and r,
                    timeout=HEARTBEAT_STALE_S + 15, interval=0.5)
    (dead,) = assess(aged, migration_running=False)
    assert dead.state is RunState.STALE and dead.state.is_failure
    assert {(a.role, a.name) for a in dead.artifacts} == {(Role.SHADOW, "_orders_gho"), (Role.CHANGELOG, "_orders_ghc")}
    cleanup = dead.cleanup_sql()
    assert sorted(cleanup) == [f"DROP TABLE IF EXISTS `{orders.name}`.`_orders_ghc`;",
                               f"DROP TABLE IF EXISTS `{orders.name}`.`_orders_gho`;"]
    assert all(not m.live for m in running_migrators(srv) if m.kind is MigratorKind.GH_OST)

    # gh-ost's tables reached the replica through the binlog: the failed release's diagnosis names the primary's run
    # once, with the replica as its copy, and the clean-up is for the primary alone (a read-only replica refuses it)
    orders.pair.wait_caught_up()
    report = release_database(orders).tool_leftovers()
    assert report[0].startswith(f"gh-ost on {orders.name}.orders (primary, replicated to replica1) [last state: ")
    assert "]: no heartbeat for" in report[0]  # the changelog's last state hint, then the verdict
    assert report[1:3] == tuple(f"  {s}" for s in cleanup)
    assert report[3:] == ("  -- on primary only: these statements replicate to replica1",)
    assert leftover_report([dead])[1:] == tuple(f"  {s}" for s in cleanup)

    status = read_db_status(pair_servers(orders), HealthThresholds(), sample_interval=0)
    (doc,) = [d for d in status.to_json()["online_schema_changes"] if d["tool"] == "gh-ost"]
    assert doc["state"] == "stale" and sorted(doc["cleanup_sql"]) == sorted(cleanup)
    assert doc["server"] == "primary" and doc["replicated_to"] == ["replica1"]

    conn = orders.connect()  # the SQL shipit prints, run as a person would, really cleans up
    try:
        with conn.cursor() as cur:
            for sql in cleanup:
                cur.execute(sql)
    finally:
        conn.close()
    assert read_server_osc(srv).artifacts == ()
    assert _tables(orders) == {"orders"}
    orders.pair.wait_caught_up()
    assert release_database(orders).tool_leftovers() == ()  # and the replica followed
    srv.close()
