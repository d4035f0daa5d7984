"""Schema readiness over per-server snapshots: every object everywhere, replicas fresh."""

from __future__ import annotations

import pytest

from shipit.db.connection import Role
from shipit.db.ddl_watch import DdlKind, RunningDdl
from shipit.db.health import LagSource, ReplicaLag
from shipit.db.schema_ready import (
    ServerSchemaState,
    decide_ready,
)
from shipit.planning.classify import ExpectedObject, ObjectKind

INDEX = ExpectedObject(ObjectKind.INDEX, "orders", "index_orders_on_user_id", ("user_id",), False, "20240101000002", 3)


def _lag(seconds: float | None, sql_running: bool = True) -> ReplicaLag:
    return ReplicaLag("replica1", seconds, True, sql_running, LagSource.REPLICA_STATUS)


def _replica(**kw) -> ServerSchemaState:
    kw.setdefault("lag", _lag(0.0))
    return ServerSchemaState("replica1", Role.REPLICA, **kw)


def test_ready_only_when_every_server_has_everything_and_replicas_are_fresh():
    primary = ServerSchemaState("primary", Role.PRIMARY)
    assert decide_ready([primary, _replica()], replica_lag_max=10).ready
    assert decide_ready([primary], replica_lag_max=10).ready  # no replicas configured: the primary decides

    replaying = RunningDdl("replica1", 12, DdlKind.ALTER_TABLE, "shop", "orders", "ALTER TABLE orders ADD INDEX",
                           "altering table", 42.0, True)
    r = decide_ready([primary, _replica(missing=("index index_orders_on_user_id on orders (user_id)",),
                                        ddl=(replaying,), lag=_lag(50.0))], replica_lag_max=10)
    assert not r.ready
    assert r.waiting_for == (
        "replica1: index index_orders_on_user_id on orders (user_id) missing",
        "replica1: alter_table on orders still running (replaying, altering table, 42s)",
    )  # the lag the replay causes is not a second reason while it runs


@pytest.mark.parametrize("lag, text", [
    (_lag(11.0), "replica replica1: 11s behind (limit 10s)"),
    (_lag(None, sql_running=False), "replica replica1: lag unknown (replication SQL thread stopped) (limit 10s)"),
    (None, "replica replica1: lag unknown (limit 10s)"),
])
def test_replica_lag_over_the_limit_or_unknown_is_not_ready(lag, text):
    r = decide_ready([ServerSchemaState("primary", Role.PRIMARY), _replica(lag=lag)], replica_lag_max=10)
    assert (r.ready, r.waiting_for) == (False, (text,))
    assert decide_ready([_replica(lag=_lag(10.0))], replica_lag_max=10).ready  # at the limit is within it


def test_a_replica_deferred_while_the_primary_runs_the_ddl_says_so_and_nothing_else():
    building = RunningDdl("primary", 5, DdlKind.ALTER_TABLE, "shop", "orders", "ALTER TABLE orders ADD INDEX",
                          "altering table", 7.0, False)
    r = decide_ready([ServerSchemaState("primary", Role.PRIMARY, missing=("index i on orders (user_id)",),
                                        ddl=(building,)),
                      ServerSchemaState("replica1", Role.REPLICA, deferred=True)], replica_lag_max=10)
    assert r.waiting_for == ("primary: index i on orders (user_id) missing",
                             "primary: alter_table on orders still running (altering table, 7s)",
                             "replica1: waits for the primary's DDL to commit")


def test_hidden_index_unreadable_server_and_no_servers_are_not_ready():
    r = decide_ready([ServerSchemaState("primary", Role.PRIMARY, hidden=("index_orders_on_user_id on orders",)),
                      _replica(error="connection refused")], replica_lag_max=10)
    assert r.waiting_for == ("primary: index index_orders_on_user_id on orders exists but is invisible/ignored",
                             "replica1: cannot read it (connection refused)")
    assert decide_ready([], replica_lag_max=10).waiting_for == ("no servers to check",)
