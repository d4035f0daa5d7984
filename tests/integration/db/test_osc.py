"""Online schema change tools on a real MariaDB: a real pt-online-schema-change run (Debian's percona-toolkit), seen
while it copies and after it is killed; LHM's table-and-trigger sequence reproduced in SQL (LHM is a Ruby gem that
needs a Rails app's process), beside a gh-ost changelog of the shape gh-ost 1.1.6 creates, whose heartbeat the test
ages at will; `shipit db status` showing both. The real gh-ost runs in test_ghost.py."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import time

import pytest

from shipit.adapters.ddl_progress import DdlProgressWatch
from shipit.db.connection import Servers
from shipit.db.ddl_watch import DdlKind, DdlWatcher, ProgressSource
from shipit.db.health import HealthThresholds
from shipit.db.osc import OscTool, Role, RunState, assess, parse_progress, read_server_osc
from shipit.db.status import read_db_status
from shipit.report.live import PlainView
from tests.integration.db.helpers import server, wait_for

PT_OSC = shutil.which("pt-online-schema-change")


def _orders(conn, rows: int) -> None:
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, note VARCHAR(40))")
        cur.execute(f"INSERT INTO orders (customer_id, note) SELECT seq % 997, 'n' FROM seq_1_to_{rows}")


def _tables_and_triggers(conn) -> tuple[set[str], set[str]]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
        tables = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()")
        return tables, {r[0] for r in cur.fetchall()}


def _pt_osc_argv(db, *options: str) -> list[str]:
    """pt-online-schema-change adding an index to `orders`, paced by `options` (chunk size, sleep, progress)."""
    dsn = f"h={db.host},P={db.port},u={db.user},D={db.name},t=orders" + (f",p={db.password}" if db.password else "")
    return [PT_OSC, "--alter", "ADD INDEX index_orders_on_customer_id (customer_id)", dsn, "--execute",
            "--chunk-time", "0", *options, "--no-check-replication-filters", "--recursion-method", "none"]


@pytest.mark.skipif(PT_OSC is None, reason="pt-online-schema-change (Debian's percona-toolkit) is not installed")
def test_a_killed_pt_osc_run_is_seen_copying_then_as_leftovers_with_the_sql_that_cleans_them(fresh_db):
    conn = fresh_db.connect()
    _orders(conn, 20000)
    # small chunks with a pause between them: the copy takes long enough to be watched and killed
    proc = subprocess.Popen(
        _pt_osc_argv(fresh_db, "--chunk-size", "200", "--sleep", "0.3", "--progress", "iterations,1"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    srv = server(fresh_db.url)
    try:
        wait_for(lambda: "pt_osc_" + fresh_db.name + "_orders_ins" in _tables_and_triggers(conn)[1], timeout=60)
        seen = read_server_osc(srv)
        roles = {(a.role, a.name) for a in seen.artifacts if a.tool is OscTool.PT_OSC}
        assert (Role.SHADOW, "_orders_new") in roles
        assert {n for r, n in roles if r is Role.TRIGGER} == {
            f"pt_osc_{fresh_db.name}_orders_{op}" for op in ("ins", "upd", "del")}
        (live,) = assess(seen, migration_running=True)
        assert live.state is RunState.COPYING and live.table == "orders"

        os.killpg(proc.pid, signal.SIGKILL)  # as when the migration's pod is killed mid-copy
        output = proc.communicate(timeout=30)[0]
        assert any(parse_progress(line) is None for line in output.splitlines())  # its chatter is not progress

        after = read_server_osc(srv)
        (dead,) = assess(after, migration_running=False)
        assert dead.state is RunState.LEFTOVER and dead.state.is_failure
        cleanup = dead.cleanup_sql()
        assert cleanup[-1] == f"DROP TABLE IF EXISTS `{fresh_db.name}`.`_orders_new`;"
        with conn.cursor() as cur:  # the SQL shipit prints really cleans up
            for sql in cleanup:
                cur.execute(sql)
        assert read_server_osc(srv).artifacts == ()
        tables, triggers = _tables_and_triggers(conn)
        assert tables == {"orders"} and triggers == set()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        srv.close()
        conn.close()


@pytest.mark.skipif(PT_OSC is None, reason="pt-online-schema-change (Debian's percona-toolkit) is not installed")
def test_a_finished_pt_osc_run_leaves_nothing_and_its_progress_lines_parse(fresh_db):
    conn = fresh_db.connect()
    _orders(conn, 3000)
    done = subprocess.run(
        _pt_osc_argv(fresh_db, "--chunk-size", "300", "--sleep", "0.2", "--progress", "percentage,10"),
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    progress = [p for line in (done.stdout + done.stderr).splitlines() if (p := parse_progress(line))]
    assert progress and all(p.tool is OscTool.PT_OSC and 0 <= p.pct <= 100 for p in progress)
    srv = server(fresh_db.url)
    try:
        assert read_server_osc(srv).artifacts == ()  # swapped: the index is on orders itself, nothing left over
        with conn.cursor() as cur:
            cur.execute("SHOW INDEX FROM orders WHERE Key_name = 'index_orders_on_customer_id'")
            assert cur.fetchall()
    finally:
        srv.close()
        conn.close()


@pytest.mark.skipif(PT_OSC is None, reason="pt-online-schema-change (Debian's percona-toolkit) is not installed")
def test_pt_osc_progress_without_its_log_comes_from_its_copy_chunks_key_range(fresh_db):
    conn = fresh_db.connect()
    _orders(conn, 200_000)
    # its output is discarded: progress must come from the server alone
    proc = subprocess.Popen(
        _pt_osc_argv(fresh_db, "--chunk-size", "2000", "--sleep", "0.05"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    srv = server(fresh_db.url)
    readings, described = [], []
    try:
        watcher = DdlWatcher(Servers(srv))
        deadline = time.monotonic() + 120
        polls = 0
        while proc.poll() is None and time.monotonic() < deadline:
            readings += [p for p in watcher.poll() if p.ddl.kind is DdlKind.PT_OSC]
            polls += 1
            if polls % 10 == 0:  # db status names the run with the same progress
                status = read_db_status(Servers(srv), HealthThresholds(), sample_interval=0)
                described += [r.describe() for r in status.osc if r.progress is not None]
            time.sleep(0.03)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        srv.close()
        conn.close()
    ranged = [p for p in readings if p.source is ProgressSource.COPY_RANGE]
    assert len(ranged) >= 5, [p.describe() for p in readings]
    pcts = [p.pct for p in ranged]
    assert all(0 <= pct <= 100 for pct in pcts) and any(0 < pct < 100 for pct in pcts)
    assert pcts == sorted(pcts) and pcts[-1] > pcts[0]  # key order: it only moves forward
    assert all(p.ddl.table == "orders" and p.phase.startswith("copying rows up to id ") for p in ranged)
    assert any(p.eta_s is not None for p in ranged)  # one history across chunks gives an ETA
    assert any(d.startswith(f"pt-online-schema-change on {fresh_db.name}.orders (primary): copying ") and "%" in d
               for d in described), described


def test_lhm_and_gh_ost_sequences_in_sql_are_recognised_and_a_stale_gh_ost_heartbeat_is_a_failure(fresh_db):
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(80))")
        # LHM: the shadow table, then one trigger per write kind copying into it
        cur.execute("CREATE TABLE lhmn_users LIKE users")
        cur.execute("ALTER TABLE lhmn_users ADD INDEX index_users_on_email (email)")
        for op, event, row in (("ins", "INSERT", "NEW"), ("upd", "UPDATE", "NEW")):
            cur.execute(f"CREATE TRIGGER lhmt_{op}_users AFTER {event} ON users FOR EACH ROW "
                        f"REPLACE INTO lhmn_users (id, email) VALUES ({row}.id, {row}.email)")
        cur.execute("CREATE TRIGGER lhmt_del_users AFTER DELETE ON users FOR EACH ROW "
                    "DELETE IGNORE FROM lhmn_users WHERE id = OLD.id")
        # gh-ost: the ghost table and its changelog with a heartbeat row
        cur.execute("CREATE TABLE carts (id INT PRIMARY KEY)")
        cur.execute("CREATE TABLE _carts_gho LIKE carts")
        cur.execute("CREATE TABLE _carts_ghc (id BIGINT UNSIGNED AUTO_INCREMENT, last_update TIMESTAMP NOT NULL "
                    "DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, hint VARCHAR(64) CHARSET ascii NOT NULL, "
                    "value VARCHAR(4096) CHARSET ascii NOT NULL, PRIMARY KEY (id), UNIQUE KEY hint_uidx (hint)) "
                    "COMMENT='gh-ost changelog'")
        cur.execute("INSERT INTO _carts_ghc (id, hint, value) VALUES (2, 'state', 'GhostTableMigrated'), "
                    "(3, 'state at 1733443200123456789', 'GhostTableMigrated'), (1, 'heartbeat', DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'))")
        # gh-ost's resume checkpoints (its --checkpoint): kept with the old table unless --ok-to-drop-table
        cur.execute("CREATE TABLE _carts_ghk (gh_ost_chk_id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                    "gh_ost_chk_timestamp BIGINT, gh_ost_chk_coords TEXT CHARSET ascii, gh_ost_chk_iteration BIGINT, "
                    "gh_ost_rows_copied BIGINT, gh_ost_dml_applied BIGINT, gh_ost_is_cutover TINYINT(1) DEFAULT '0')")
    srv = server(fresh_db.url)
    try:
        seen = read_server_osc(srv)
        assert seen.heartbeats["_carts_ghc"] < 5 and seen.states == {"_carts_ghc": "GhostTableMigrated"}
        assert (Role.CHECKPOINT, "_carts_ghk") in {(a.role, a.name) for a in seen.artifacts}
        runs = {r.tool: r for r in assess(seen, migration_running=False)}
        assert runs[OscTool.GH_OST].state is RunState.COPYING  # heartbeat fresh: alive whatever the Job says
        assert runs[OscTool.LHM].state is RunState.LEFTOVER
        assert {a.name for a in runs[OscTool.LHM].artifacts} == {"lhmn_users", "lhmt_ins_users", "lhmt_upd_users",
                                                                  "lhmt_del_users"}
        with conn.cursor() as cur:
            cur.execute("UPDATE _carts_ghc SET last_update = NOW(6) - INTERVAL 30 SECOND WHERE hint = 'heartbeat'")
        stale = read_server_osc(srv)
        (ghost,) = [r for r in assess(stale)
                    if r.tool is OscTool.GH_OST]
        assert ghost.state is RunState.STALE and 29 <= ghost.heartbeat_age_s < 60

        status = read_db_status(Servers(srv), HealthThresholds(), sample_interval=0)
        doc = status.to_json()["online_schema_changes"]
        by_tool = {d["tool"]: d for d in doc}
        assert by_tool["gh-ost"]["state"] == "stale" and "DROP TABLE IF EXISTS" in by_tool["gh-ost"]["cleanup_sql"][0]
        # db status cannot know whether LHM's process is between chunks: it says so instead of calling it dead
        assert by_tool["lhm"]["state"] == "not copying now" and by_tool["lhm"]["cleanup_sql"] == []
        text = status.render_text()
        assert "Online schema change tools:" in text and "no heartbeat for" in text
        assert "progress: primary: no index-build progress: performance_schema off" in text
        assert by_tool["gh-ost"]["changelog_state"] == "GhostTableMigrated"

        # the swap done, gh-ost writes Migrated before dropping its changelog: a run killed then is finished
        with conn.cursor() as cur:
            cur.execute("UPDATE _carts_ghc SET value = 'Migrated' WHERE hint = 'state'")
        (done,) = [r for r in assess(read_server_osc(srv), migration_running=False) if r.tool is OscTool.GH_OST]
        assert done.state is RunState.MIGRATED and not done.state.is_failure
    finally:
        srv.close()
        conn.close()


def test_db_status_says_progress_is_readable_on_a_server_with_the_alter_stages_on(pair_db):
    srv = server(pair_db.primary_url)
    try:
        status = read_db_status(Servers(srv), HealthThresholds(), sample_interval=0)
        (p,) = status.to_json()["progress_readiness"]
        assert p["ready"] is True and p["missing"] == []
    finally:
        srv.close()


def test_the_migration_watch_stops_the_job_when_a_gh_ost_heartbeat_it_saw_alive_goes_stale(fresh_db):
    conn = fresh_db.connect()
    with conn.cursor() as cur:  # gh-ost's tables as it leaves them mid-copy, its heartbeat fresh
        cur.execute("CREATE TABLE carts (id INT PRIMARY KEY)")
        cur.execute("CREATE TABLE _carts_gho LIKE carts")
        cur.execute("CREATE TABLE _carts_ghc (id BIGINT AUTO_INCREMENT, last_update TIMESTAMP(6) NOT NULL "
                    "DEFAULT CURRENT_TIMESTAMP(6), hint VARCHAR(64) NOT NULL, value VARCHAR(4096) NOT NULL, "
                    "PRIMARY KEY (id), UNIQUE KEY hint_uidx (hint)) COMMENT='gh-ost changelog'")
        cur.execute("INSERT INTO _carts_ghc (hint, value) VALUES ('state', 'GhostTableMigrated'), "
                    "('heartbeat', NOW(6))")
    srv = server(fresh_db.url)
    out = io.StringIO()
    try:
        with DdlProgressWatch(Servers(srv), PlainView(out), interval=0.1, osc_interval=0.2) as watch:
            wait_for(lambda: watch.judge.alive, timeout=10)
            assert not watch.stop_job.is_set()
            with conn.cursor() as cur:  # the heartbeat stops: 30 s without one
                cur.execute("UPDATE _carts_ghc SET last_update = NOW(6) - INTERVAL 30 SECOND WHERE hint = 'heartbeat'")
            wait_for(watch.stop_job.is_set, timeout=10)
        assert watch.hung.state is RunState.STALE and watch.hung.table == "carts"
        assert "stopping the migration: gh-ost on " in out.getvalue() and "no heartbeat for 3" in out.getvalue()
    finally:
        srv.close()
        conn.close()
