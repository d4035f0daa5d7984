"""Metadata-lock waits: who is hurt, whose DDL it is, and what shipit does about it (pure decisions)."""

from __future__ import annotations

import dataclasses

import pytest

from shipit.db.ddl_watch import DdlKind, RunningDdl
from shipit.db.health import MDL_WAIT_STATE, Thread
from shipit.db.mdl import (
    Blocker,
    BlockerSource,
    MdlAction,
    MdlPolicy,
    MdlWait,
    candidate_blockers_by_age,
    decide,
    our_ddl_connections,
    queued_victims,
    suggested_action,
)

ALTER = "ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id)"


VICTIM = "SELECT user_id FROM orders WHERE id = 1"


def _ddl(elapsed: float = 3.0, conn: int = 10) -> RunningDdl:
    return RunningDdl("primary", conn, DdlKind.ALTER_TABLE, "shop", "orders", ALTER, MDL_WAIT_STATE, elapsed, False)


def _victim(conn: int, waited: float, sql: str = VICTIM) -> Thread:
    return Thread(conn, "app", "10.0.0.5:5000", "shop", "Query", waited, MDL_WAIT_STATE, sql)


def _blocker(conn: int = 7, user: str = "app", command: str = "Sleep", trx: float | None = 40.0) -> Blocker:
    return Blocker(conn, user, "10.0.0.9:4000", command, 30.0, trx, "" if command == "Sleep" else "select ?",
                   "SHARED_READ")


def _wait(elapsed: float = 3.0, victims: tuple[Thread, ...] = (), blockers: tuple[Blocker, ...] = ()) -> MdlWait:
    return MdlWait("primary", _ddl(elapsed), blockers or (_blocker(),), victims,
                   BlockerSource.PERFORMANCE_SCHEMA)


def test_decide_waits_until_someone_is_hurt():
    # our DDL queued, nobody behind it yet: killing it would waste the build for nothing
    assert decide(_wait(elapsed=60.0), MdlPolicy(), frozenset({10})).action is MdlAction.NONE
    # victims behind it, but the DDL has queued for less than ddl_wait_s and no victim waited victim_wait_s
    assert decide(_wait(elapsed=1.0, victims=(_victim(20, 1.0),)), MdlPolicy(), frozenset({10})).action is \
        MdlAction.NONE


@pytest.mark.parametrize("elapsed, victim_wait", [(2.0, 0.5), (0.5, 5.0)])
def test_decide_kills_only_our_ddl_by_default(elapsed, victim_wait):
    wait = _wait(elapsed=elapsed, victims=(_victim(20, victim_wait), _victim(21, 0.2)))
    d = decide(wait, MdlPolicy(), frozenset({10}))
    assert (d.action, d.conn_id) == (MdlAction.KILL_OUR_DDL, 10)
    assert "connection 7 (app@10.0.0.9:4000) idle in a transaction" in d.reason and "2 queries queued" in d.reason


def test_decide_never_kills_someone_elses_ddl():
    d = decide(_wait(victims=(_victim(20, 30.0),)), MdlPolicy(kill_blockers=True, blocker_users=frozenset({"app"})),
               frozenset({99}))
    assert (d.action, d.conn_id) == (MdlAction.ALERT, None)
    assert "not our DDL" in d.reason


def test_decide_kills_a_blocker_only_when_configured_and_every_blocker_qualifies():
    victims = (_victim(20, 9.0),)
    ours = frozenset({10})
    allowed = MdlPolicy(kill_blockers=True, blocker_users=frozenset({"app"}))
    # default policy: the idle blocker is never touched
    assert decide(_wait(victims=victims), MdlPolicy(), ours).action is MdlAction.KILL_OUR_DDL
    d = decide(_wait(victims=victims), allowed, ours)
    assert (d.action, d.conn_id) == (MdlAction.KILL_BLOCKER, 7)
    # a user outside the allow-list, a blocker that is running (not idle), or a second non-qualifying blocker:
    # fall back to killing our own DDL
    assert decide(_wait(victims=victims, blockers=(_blocker(user="reporting"),)), allowed, ours).action is \
        MdlAction.KILL_OUR_DDL
    assert decide(_wait(victims=victims, blockers=(_blocker(command="Query"),)), allowed, ours).action is \
        MdlAction.KILL_OUR_DDL
    assert decide(_wait(victims=victims, blockers=(_blocker(), _blocker(8, trx=None))), allowed, ours).action is \
        MdlAction.KILL_OUR_DDL
    # blockers guessed from transaction ages (no lock table) are candidates, never killed
    guessed = dataclasses.replace(_wait(victims=victims), source=BlockerSource.INNODB_TRX)
    assert decide(guessed, allowed, ours).action is MdlAction.KILL_OUR_DDL
    proven = dataclasses.replace(_wait(victims=victims), source=BlockerSource.METADATA_LOCK_INFO)
    assert decide(proven, allowed, ours).action is MdlAction.KILL_BLOCKER


def test_victims_are_other_statements_on_the_table_waiting_for_the_mdl():
    ddl = _ddl()
    threads = [
        _victim(20, 2.0),
        _victim(21, 2.0, "SELECT * FROM `shop`.`orders` WHERE id = 5"),
        _victim(22, 2.0, "SELECT * FROM orders_archive WHERE id = 5"),  # another table whose name starts alike
        Thread(23, "app", "h", "shop", "Query", 2.0, "Sending data", VICTIM),  # running, not queued
        Thread(10, "app", "h", "shop", "Query", 3.0, MDL_WAIT_STATE, ALTER),  # the DDL itself
        Thread(24, "app", "h", "shop", "Query", 1.0, MDL_WAIT_STATE, "ALTER TABLE orders ADD COLUMN x INT"),
    ]
    assert [t.id for t in queued_victims(ddl, threads)] == [20, 21]


def test_candidate_blockers_are_transactions_older_than_the_wait_same_schema_then_oldest_first():
    ddl = _ddl(elapsed=5.0)
    threads = {i: Thread(i, "app", "h", "shop", "Sleep", 1.0, "", "") for i in (7, 8, 9, 10)}
    threads[12] = Thread(12, "etl", "h", "warehouse", "Sleep", 1.0, "", "")
    ages = {7: 30.0, 8: 4.0, 9: 60.0, 10: 50.0, 11: 90.0, 12: 500.0}  # 8 began after the wait; 10 is the DDL; 11 gone
    assert candidate_blockers_by_age(ddl, ages, threads) == (9, 7, 12)


def _session(conn: int, user: str, host: str, sql: str = "", command: str = "Query") -> Thread:
    return Thread(conn, user, host, "shop", command if sql else "Sleep", 3.0, MDL_WAIT_STATE if sql else "", sql)


def test_our_ddl_is_the_lock_holders_user_and_host_on_the_plans_tables():
    threads = [
        _session(5, "app", "10.0.0.5:4000"),  # the Rails migration lock holder (Rails 6.1+: its own connection)
        _session(10, "app", "10.0.0.5:4001", ALTER),  # the migrator's DDL: same user and client host
        _session(11, "app", "10.0.0.6:4001", ALTER),  # the same user from another pod: not our migrator
        _session(12, "dba", "10.0.0.5:4002", ALTER),  # another user on the same host
        _session(13, "app", "10.0.0.5:4003", "ALTER TABLE users ADD COLUMN nick VARCHAR(10)"),  # not a plan table
        _session(14, "app", "10.0.0.5:4004", VICTIM),  # not DDL
    ]
    assert our_ddl_connections(threads, 5, frozenset({"orders"})) == {5, 10}
    assert our_ddl_connections(threads, 5, None) == {5, 10, 13}  # raw SQL in the plan: any table of the migrator
    assert our_ddl_connections(threads, None, frozenset({"orders"})) == frozenset()  # no migrator, nothing is ours
    assert our_ddl_connections(threads, 99, frozenset({"orders"})) == frozenset()  # holder already gone


def test_suggested_action_kills_only_our_ddl_and_asks_for_the_blocker_otherwise():
    wait = _wait(victims=(_victim(20, 3.0),))
    assert suggested_action(wait, frozenset({10})) == "kill query 10 (our DDL)"
    assert suggested_action(wait, frozenset()) == "end session 7"
    unnamed = dataclasses.replace(wait, blockers=())
    assert suggested_action(unnamed, frozenset()) == "find the session holding a lock on orders (not identified)"
