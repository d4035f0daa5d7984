"""Schema-ready gate on a real primary + replica whose replica replays the ALTER late (decisions: tests/unit/db).

To make the replica's replay last as long as the test needs on a loaded machine, a read transaction on the replica
holds the table's metadata lock: the replica's SQL thread then sits in the replayed ALTER (as it would during a long
build) with the index absent and lag growing, until the test ends the transaction.
"""

from __future__ import annotations

import pytest

from shipit.core.errors import ShipitError
from shipit.db.connection import Server, Servers
from shipit.db.schema_ready import (
    READY_RECHECK_S,
    SchemaWatch,
    decide_ready,
    read_schema_state,
    wait_until_ready,
)
from shipit.planning.classify import ExpectedObject, ObjectKind
from tests.integration.db.helpers import Background, pair_servers, wait_for
from tests.support.mariadb import execute, hold_in_transaction


class CountingServer(Server):
    """A shipit Server counting the statements it sends."""

    sent = 0

    @classmethod
    def of(cls, s: Server) -> CountingServer:
        return cls(s.name, s.url, s.role, retry_budget=s.retry_budget)

    def _run(self, sql, args, timeout, *, fetch):
        self.sent += 1
        return super()._run(sql, args, timeout, fetch=fetch)

INDEX = ExpectedObject(ObjectKind.INDEX, "orders", "index_orders_on_user_id", ("user_id",), False, "20240101000002", 3)
FK = ExpectedObject(ObjectKind.FOREIGN_KEY, "orders", "fk_rails_orders_user", ("user_id",), False, "20240101000002", 4)


# --- pure ----------------------------------------------------------------------------------------------------------


# --- real primary + replica ----------------------------------------------------------------------------------------

def _prepare(pair_db, *statements: str) -> None:
    """users and orders on the primary, then `statements`, all replicated before the test looks."""
    conn = pair_db.connect()
    execute(conn, "CREATE TABLE users (id INT PRIMARY KEY)",
            "CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL)",
            "INSERT INTO users VALUES (1), (2)", "INSERT INTO orders VALUES (1, 1), (2, 2), (3, 1)", *statements)
    conn.close()
    pair_db.pair.wait_caught_up()


def test_index_on_primary_but_not_yet_on_the_replica_then_ready(pair_db):
    _prepare(pair_db)
    servers = pair_servers(pair_db)
    hold = pair_db.connect("replica")  # a reader on the replica: its transaction holds orders' MDL
    try:
        hold_in_transaction(hold, "SELECT COUNT(*) FROM orders")
        conn = pair_db.connect()
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id)")
            cur.execute("ALTER TABLE orders ADD CONSTRAINT fk_rails_orders_user FOREIGN KEY (user_id) "
                        "REFERENCES users (id)")
        conn.close()
        primary, replica = servers.all()

        # the primary has both objects and no DDL left; the replica's SQL thread is stuck replaying the first ALTER
        p = read_schema_state(primary, [INDEX, FK])
        assert (p.missing, p.ddl, p.error) == ((), (), "")
        r = wait_for(lambda: (s := read_schema_state(replica, [INDEX, FK])).ddl and s, timeout=30)
        assert r.missing == ("index index_orders_on_user_id on orders (user_id)",
                             "foreign key fk_rails_orders_user on orders (user_id)")
        (ddl,) = r.ddl
        assert ddl.replicated and ddl.table == "orders" and ddl.schema == pair_db.name

        readiness = decide_ready([p, r], replica_lag_max=3600)
        assert not readiness.ready
        assert "replica1: index index_orders_on_user_id on orders (user_id) missing" in readiness.waiting_for
        assert any(w.startswith("replica1: alter_table on orders still running (replaying")
                   for w in readiness.waiting_for)
        assert not any(w.startswith("primary") for w in readiness.waiting_for)

        # while it replays, the replay is the reason: its lag is judged once the replay is over
        assert not any(w.startswith("replica replica1") for w in readiness.waiting_for)

        # the gate's own poll: 2 queries per server per poll while the DDL runs (processlist, progress)
        counting_primary, counting_replica = (CountingServer.of(s) for s in servers.all())
        counting = Servers(counting_primary, (counting_replica,))
        now = [0.0]
        watch = SchemaWatch(counting, [INDEX, FK], clock=lambda: now[0])
        first = watch.poll(replica_lag_max=10)
        assert not first.ready and [(p.ddl.server, p.ddl.table, p.ddl.replicated) for p in first.progress] == [
            ("replica1", "orders", True)]
        sent = [s.sent for s in counting.all()]
        for _ in range(3):
            later = watch.poll(replica_lag_max=10)
            # the schema read on the first poll still names the missing index
            assert later.waiting_for[0] == "replica1: index index_orders_on_user_id on orders (user_id) missing"
            assert later.waiting_for[2].startswith("replica1: alter_table on orders still running (replaying")
        per_poll = [(s.sent - before) / 3 for s, before in zip(counting.all(), sent)]
        # the primary is ready: its processlist only; the replica replays: processlist + progress
        assert per_poll == [1, 2]
        sent = [s.sent for s in counting.all()]
        now[0] += READY_RECHECK_S  # a ready server's schema is read again every READY_RECHECK_S
        assert not watch.poll(replica_lag_max=10).ready
        assert [s.sent - before for s, before in zip(counting.all(), sent)] == [2, 2]
        counting.close()

        with pytest.raises(ShipitError, match="schema not ready after 0.5s: .*replica1: index index_orders_on_"):
            wait_until_ready(servers, [INDEX, FK], 0.5, replica_lag_max=10, interval=0.1)

        hold.rollback()  # the replay goes on
        seen = []
        done = wait_until_ready(servers, [INDEX, FK], 60, seen.append, replica_lag_max=10, interval=0.2,
                                consecutive=2)
        assert done.ready and done.waiting_for == ()
        assert seen[-1].ready and seen[-2].ready
        assert read_schema_state(replica, [INDEX, FK]).missing == ()
    finally:
        hold.close()
        servers.close()


def test_while_the_primary_runs_the_ddl_a_replica_costs_one_query_per_poll(pair_db):
    _prepare(pair_db)
    blocker = pair_db.connect()  # holds orders' MDL on the primary: the ALTER there stays running
    alter = None
    primary, replica = (CountingServer.of(s) for s in pair_servers(pair_db).all())
    servers = Servers(primary, (replica,))
    try:
        hold_in_transaction(blocker, "SELECT COUNT(*) FROM orders")
        alter = Background(pair_db.connect, "ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id)")
        watch = SchemaWatch(servers, [INDEX])
        first = wait_for(lambda: (r := watch.poll(replica_lag_max=10)).progress and r, timeout=30)
        assert first.waiting_for == (
            "primary: index index_orders_on_user_id on orders (user_id) missing",
            first.waiting_for[1], "replica1: waits for the primary's DDL to commit")
        assert first.waiting_for[1].startswith("primary: alter_table on orders still running (Waiting for table "
                                               "metadata lock")
        sent = [s.sent for s in servers.all()]
        for _ in range(3):
            assert watch.poll(replica_lag_max=10).waiting_for[2] == "replica1: waits for the primary's DDL to commit"
        assert [(s.sent - before) / 3 for s, before in zip(servers.all(), sent)] == [2, 1]
        now, pauses = [0.0], []

        def sleep(s: float) -> None:
            pauses.append(s)
            now[0] += s
        with pytest.raises(ShipitError, match="schema not ready after 4s"):
            wait_until_ready(servers, [INDEX], 4, replica_lag_max=10, interval=0.25, slow_interval=1.0,
                             clock=lambda: now[0], sleep=sleep)
        assert pauses == [1.0] * 4  # a running build is polled at the slow interval from the start
        blocker.rollback()
        alter.join(60)
        assert alter.error is None
        assert wait_until_ready(servers, [INDEX], 60, replica_lag_max=10, interval=0.2, consecutive=2).ready
    finally:
        blocker.close()
        if alter is not None:
            alter.close()
        servers.close()


def test_replica_lag_over_the_limit_holds_the_gate(pair_db):
    """The replica falls behind on DDL of a table the release does not touch: only the lag holds the gate."""
    _prepare(pair_db, "CREATE TABLE audit (id INT PRIMARY KEY, note VARCHAR(20))",
             "ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id)")
    conn = pair_db.connect()
    servers = pair_servers(pair_db)
    hold = pair_db.connect("replica")
    try:
        hold_in_transaction(hold, "SELECT COUNT(*) FROM audit")
        execute(conn, "ALTER TABLE audit ADD INDEX index_audit_on_note (note)")
        states = wait_for(lambda: (st := [read_schema_state(s, [INDEX]) for s in servers.all()])[1].lag.lag_s
                          and st[1].lag.lag_s >= 2 and st, timeout=30, interval=0.2)
        assert states[1].ddl == () and states[1].missing == ()  # the unrelated ALTER is not the gate's business
        r = decide_ready(states, replica_lag_max=1)
        assert len(r.waiting_for) == 1 and r.waiting_for[0].startswith("replica replica1: ")
        assert r.waiting_for[0].endswith("s behind (limit 1s)")
        assert decide_ready(states, replica_lag_max=3600).ready
        hold.rollback()
        assert wait_until_ready(servers, [INDEX], 60, replica_lag_max=1, interval=0.2, consecutive=2).ready
    finally:
        hold.close()
        conn.close()
        servers.close()


def test_ignored_index_is_not_ready_until_visible(pair_db):
    _prepare(pair_db, "ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id) IGNORED")
    conn = pair_db.connect()
    servers = pair_servers(pair_db)
    try:
        r = decide_ready([read_schema_state(s, [INDEX]) for s in servers.all()], replica_lag_max=10)
        assert r.waiting_for == tuple(f"{n}: index index_orders_on_user_id on orders exists but is invisible/ignored"
                                      for n in ("primary", "replica1"))
        execute(conn, "ALTER TABLE orders ALTER INDEX index_orders_on_user_id NOT IGNORED")
        assert wait_until_ready(servers, [INDEX], 30, replica_lag_max=10, interval=0.2, consecutive=2).ready
    finally:
        conn.close()
        servers.close()


def test_not_ready_polls_back_off_to_the_slow_interval_and_confirmations_are_fast(pair_db):
    _prepare(pair_db)  # the index is never created: never ready
    servers = pair_servers(pair_db)
    now = [0.0]
    pauses = []

    def sleep(s: float) -> None:
        pauses.append(s)
        now[0] += s
    try:
        with pytest.raises(ShipitError, match="schema not ready after 5s: primary: index index_orders_on_user_id"):
            wait_until_ready(servers, [INDEX], 5, replica_lag_max=10, interval=0.25, consecutive=2, slow_interval=1.0,
                             clock=lambda: now[0], sleep=sleep)
        assert pauses[:4] == [0.25, 0.5, 1.0, 1.0] and set(pauses[2:]) == {1.0}
    finally:
        servers.close()


def test_stopped_replication_is_not_ready_even_with_every_object_present(pair_db):
    _prepare(pair_db, "ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id)")
    servers = pair_servers(pair_db)
    try:
        assert decide_ready([read_schema_state(s, [INDEX]) for s in servers.all()], replica_lag_max=10).ready
        pair_db.pair.replica.sql("STOP REPLICA SQL_THREAD")
        try:
            r = decide_ready([read_schema_state(s, [INDEX]) for s in servers.all()], replica_lag_max=10)
            assert r.waiting_for == ("replica replica1: lag unknown (replication SQL thread stopped) (limit 10s)",)
        finally:
            pair_db.pair.replica.sql("START REPLICA SQL_THREAD")
        pair_db.pair.wait_replicating()
        assert wait_until_ready(servers, [INDEX], 30, replica_lag_max=10, interval=0.2, consecutive=2).ready
    finally:
        servers.close()
