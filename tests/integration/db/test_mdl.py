"""Metadata-lock watchdog on a real pile-up (idle transaction, ALTER, queued SELECTs); its decisions: tests/unit/db.

The pile-up runs twice: on the replica-pair primary, whose performance_schema has the MDL instrument on (blockers
proven by lock rows, their lock type and last statement known), and on the machine's MariaDB with P_S off (blockers
inferred from INNODB_TRX ages: candidates, so the assertions there only require ours to be among them).
"""

from __future__ import annotations

import contextlib

import pymysql
import pytest

from shipit.db.connection import Servers
from shipit.db.fingerprint import fingerprint
from shipit.db.health import MDL_WAIT_STATE, HealthThresholds
from shipit.db.mdl import (
    BlockerSource,
    MdlAction,
    MdlPolicy,
    MdlWatchdog,
    MigrationGuard,
    apply,
    decide,
)
from shipit.db.migration_state import rails_lock_name
from shipit.db.status import read_db_status
from tests.integration.db.helpers import Background, server, wait_for
from tests.support.mariadb import hold_in_transaction

ALTER = "ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id)"
BLOCKER_READ = "SELECT user_id FROM orders WHERE id = 2"
VICTIM = "SELECT user_id FROM orders WHERE id = 1"


# --- pure ----------------------------------------------------------------------------------------------------------


# --- real pile-up --------------------------------------------------------------------------------------------------

def _index_names(connect) -> set[str]:
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
                        "AND TABLE_NAME = 'orders'")
            return {r[0] for r in cur.fetchall()}
    finally:
        conn.close()


@contextlib.contextmanager
def _pileup(connect, victims: int = 3):
    """orders with an idle transaction that read it, an ALTER queued for the MDL, and `victims` SELECTs behind it."""
    setup = connect()
    with setup.cursor() as cur:
        cur.execute("CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL)")
        cur.execute("INSERT INTO orders VALUES (1, 101), (2, 102), (3, 103)")
    setup.close()
    blocker = connect()
    started: list[Background] = []
    try:
        blocker_id = hold_in_transaction(blocker, BLOCKER_READ)
        alter = Background(connect, ALTER)
        started.append(alter)
        probe = connect()
        with probe.cursor() as cur:
            def state(conn_id):
                cur.execute("SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = %s", (conn_id,))
                row = cur.fetchone()
                return row and row[0] == MDL_WAIT_STATE
            wait_for(lambda: state(alter.conn_id), timeout=30)
            queued = [Background(connect, VICTIM) for _ in range(victims)]
            started.extend(queued)
            wait_for(lambda: all(state(q.conn_id) for q in queued), timeout=30)
        probe.close()
        yield blocker, blocker_id, alter, queued
    finally:
        for b in started:
            b.close()
        blocker.close()


def _check_and_kill_our_ddl(srv, connect, blocker, blocker_id, alter, queued, source):
    dog = MdlWatchdog(srv)
    (wait,) = dog.check()
    assert wait.source is source
    assert wait.ddl.conn_id == alter.conn_id and wait.ddl.table == "orders" and wait.ddl.waiting_for_mdl
    assert {v.id for v in wait.victims} == {q.conn_id for q in queued}
    named = {b.conn_id: b for b in wait.blockers}
    assert blocker_id in named, wait.describe()
    b = named[blocker_id]
    assert (b.user, b.command) == ("root", "Sleep") and b.host.startswith("127.0.0.1")
    assert b.idle_in_transaction and b.trx_age_s >= 0 and b.state_s >= 0
    text = wait.describe()
    assert f"connection {blocker_id} (root@127.0.0.1" in text and "idle in a transaction" in text
    assert f"{len(queued)} queries queued behind it" in text and "ALTER" not in b.describe()

    # someone else's DDL is only reported; ours is killed, never the blocker (default policy)
    policy = MdlPolicy(ddl_wait_s=0.0)
    assert decide(wait, policy, frozenset()).action is MdlAction.ALERT
    decision = decide(wait, policy, frozenset({alter.conn_id}))
    assert (decision.action, decision.conn_id) == (MdlAction.KILL_OUR_DDL, alter.conn_id)
    apply(srv, decision)

    alter.join(60)
    assert isinstance(alter.error, pymysql.err.OperationalError) and alter.error.args[0] == 1317  # interrupted
    for q in queued:
        q.join(60)
        assert q.error is None and q.result == ((101,),)
    assert "index_orders_on_user_id" not in _index_names(connect)  # nothing committed: the migration fails clean
    with blocker.cursor() as cur:  # the blocker was left alone: same session, transaction still open
        cur.execute("SELECT CONNECTION_ID(), @@in_transaction")
        assert cur.fetchone() == (blocker_id, 1)
    assert dog.check() == ()
    return b


def test_watchdog_names_the_blocker_from_performance_schema_and_kills_our_ddl(pair_db):
    connect = pair_db.connect
    srv = server(pair_db.primary_url)
    try:
        with _pileup(connect) as (blocker, blocker_id, alter, queued):
            b = _check_and_kill_our_ddl(srv, connect, blocker, blocker_id, alter, queued,
                                        BlockerSource.PERFORMANCE_SCHEMA)
        # P_S proves the lock and keeps the idle session's last statement (as a fingerprint: no literals)
        assert b.lock_type == "SHARED_READ"
        assert b.last_statement == fingerprint(BLOCKER_READ) and "2" not in b.last_statement
        assert f"last ran {b.last_statement!r}" in b.describe()
    finally:
        srv.close()


def test_watchdog_without_performance_schema_infers_the_blocker_from_transactions(fresh_db):
    srv = server(fresh_db.url)
    try:
        with _pileup(fresh_db.connect) as (blocker, blocker_id, alter, queued):
            b = _check_and_kill_our_ddl(srv, fresh_db.connect, blocker, blocker_id, alter, queued,
                                        BlockerSource.INNODB_TRX)
        assert b.lock_type is None and b.last_statement == ""  # not knowable without P_S
    finally:
        srv.close()


def test_configured_blocker_kill_ends_the_idle_session_and_the_alter_completes(pair_db):
    srv = server(pair_db.primary_url)
    try:
        with _pileup(pair_db.connect, victims=2) as (blocker, blocker_id, alter, queued):
            (wait,) = MdlWatchdog(srv).check()
            assert [b.conn_id for b in wait.blockers] == [blocker_id]
            policy = MdlPolicy(ddl_wait_s=0.0, kill_blockers=True, blocker_users=frozenset({"root"}))
            decision = decide(wait, policy, frozenset({alter.conn_id}))
            assert (decision.action, decision.conn_id) == (MdlAction.KILL_BLOCKER, blocker_id)
            apply(srv, decision)
            alter.join(60)
            assert alter.error is None
            for q in queued:
                assert q.join(60).error is None and q.result == ((101,),)
            assert "index_orders_on_user_id" in _index_names(pair_db.connect)
            with pytest.raises(pymysql.err.OperationalError):
                with blocker.cursor() as cur:
                    cur.execute("SELECT 1")
    finally:
        srv.close()


# --- whose DDL, and what shipit does about it ---------------------------------------------------------------------


def _hold_migration_lock(connect, database: str):
    """A connection holding Rails' migration lock, as `rails db:migrate` does next to the one running the DDL."""
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, 0)", (rails_lock_name(database),))
        assert cur.fetchone() == (1,)
    return conn


def test_migration_guard_alerts_on_a_foreign_ddl_and_kills_the_migrators_own(pair_db):
    srv = server(pair_db.primary_url)
    guard = MigrationGuard(srv, MdlPolicy(ddl_wait_s=0.0, victim_wait_s=0.0), frozenset({"orders"}))
    lock = None
    try:
        with _pileup(pair_db.connect) as (blocker, blocker_id, alter, queued):
            # nobody holds the migration lock: the ALTER is not ours, so it is reported and left running
            verdict = guard.poll()
            assert [d.action for d in verdict.decisions] == [MdlAction.ALERT] and verdict.acted is None
            assert alter.finished_at is None
            lock = _hold_migration_lock(pair_db.connect, pair_db.name)
            verdict = guard.poll()
            wait, decision = verdict.acted
            assert (decision.action, decision.conn_id) == (MdlAction.KILL_OUR_DDL, alter.conn_id)
            assert [b.conn_id for b in wait.blockers] == [blocker_id] and len(wait.victims) == len(queued)
            alter.join(60)
            assert isinstance(alter.error, pymysql.err.OperationalError) and alter.error.args[0] == 1317
            for q in queued:
                assert q.join(60).error is None and q.result == ((101,),)
            with blocker.cursor() as cur:  # the blocker untouched: same session, transaction still open
                cur.execute("SELECT CONNECTION_ID(), @@in_transaction")
                assert cur.fetchone() == (blocker_id, 1)
            assert guard.poll().waits == ()
    finally:
        if lock is not None:
            lock.close()
        srv.close()


def test_db_status_shows_the_action_for_each_wait(pair_db):
    srv = server(pair_db.primary_url)
    servers = Servers(srv)
    lock = None
    try:
        with _pileup(pair_db.connect) as (blocker, blocker_id, alter, queued):
            foreign = read_db_status(servers, HealthThresholds(), sample_interval=0)
            (entry,) = foreign.to_json()["mdl_waits"]
            assert entry["connection"] == alter.conn_id and entry["action"] == f"end session {blocker_id}"
            assert f"    action: end session {blocker_id}" in foreign.render_text()
            lock = _hold_migration_lock(pair_db.connect, pair_db.name)
            ours = read_db_status(servers, HealthThresholds(), sample_interval=0)
            (entry,) = ours.to_json()["mdl_waits"]
            assert entry["action"] == f"kill query {alter.conn_id} (our DDL)"
            assert f"    action: kill query {alter.conn_id} (our DDL)" in ours.render_text()
            assert alter.finished_at is None  # db status only reads
            srv.execute(f"KILL QUERY {alter.conn_id}")
            alter.join(60)
    finally:
        if lock is not None:
            lock.close()
        servers.close()
