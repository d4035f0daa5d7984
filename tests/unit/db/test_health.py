"""Database health decisions over readings: replica status, query pile-ups, the baseline comparison."""

from __future__ import annotations

from shipit.core.config import GatesConfig
from shipit.db.connection import Flavour, Role
from shipit.db.health import (
    Baseline,
    HealthLevel,
    HealthSnapshot,
    HealthThresholds,
    ReplicaLag,
    ServerBaseline,
    Thread,
    assess_server,
    baseline_from,
    compare,
    find_pileups,
    group_by_fingerprint,
    parse_replica_status,
    replica_status_sql,
)

TH = HealthThresholds()


def _t(i: int, info: str, time_s: float = 1.0, command: str = "Query", state: str = "Sending data") -> Thread:
    return Thread(i, "app", "10.0.0.1:5000", "shop", command, time_s, state, info)


def test_replica_status_maps_both_namings_and_null_is_never_zero():
    mysql = {"Seconds_Behind_Source": 3, "Replica_IO_Running": "Yes", "Replica_SQL_Running": "Yes"}
    maria = {"Seconds_Behind_Master": 7, "Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes"}
    broken = {"Seconds_Behind_Master": None, "Slave_IO_Running": "Yes", "Slave_SQL_Running": "No",
              "Last_SQL_Error": "Error 'Unknown database' on query", "Last_IO_Error": ""}
    assert parse_replica_status("r", mysql).lag_s == 3.0
    assert parse_replica_status("r", maria).lag_s == 7.0
    b = parse_replica_status("r", broken)
    assert b.lag_s is None and b.sql_running is False and not b.within(1000)
    assert "Unknown database" in b.describe()
    assert parse_replica_status("r", None).lag_s is None


def test_replica_status_statement_by_flavour_and_version():
    assert replica_status_sql(Flavour.MYSQL, (8, 4, 0)) == "SHOW REPLICA STATUS"
    assert replica_status_sql(Flavour.MYSQL, (8, 0, 21)) == "SHOW SLAVE STATUS"
    assert replica_status_sql(Flavour.MARIADB, (10, 11, 6)) == "SHOW REPLICA STATUS"
    assert replica_status_sql(Flavour.MARIADB, (10, 4, 30)) == "SHOW SLAVE STATUS"


def test_pileup_needs_count_and_share_of_active_threads():
    threads = [_t(i, f"SELECT * FROM orders WHERE user_id = {i}") for i in range(6)]
    threads += [_t(100 + i, f"SELECT * FROM users WHERE id = {i}") for i in range(3)]
    threads += [_t(200, "", command="Sleep", state="")]
    groups = group_by_fingerprint(threads)
    assert groups[0].fingerprint == "select * from orders where user_id = ?" and groups[0].count == 6
    assert [g.fingerprint for g in find_pileups(groups, 9)] == ["select * from orders where user_id = ?"]
    # six of forty active threads is ordinary traffic, not a pile-up
    names = [f"t{a}{b}" for a in "abcdef" for b in "ghijk"][:31]
    many = threads + [_t(300 + i, f"SELECT a FROM {name}") for i, name in enumerate(names)]
    assert find_pileups(group_by_fingerprint(many), 40) == ()


def _health(name: str, running: int, *, groups_from=(), lag: ReplicaLag | None = None, role=Role.PRIMARY,
            trx: float | None = None):
    return assess_server(name, role, list(groups_from), {"Threads_running": str(running + 1),
                                                          "Threads_connected": "20"}, trx, lag, TH)


def test_compare_against_baseline_hold_and_critical():
    base = baseline_from([HealthSnapshot(0, (_health("primary", n),)) for n in (4, 5, 6, 5, 30)])
    assert base.server("primary").threads_running_p95 == 30
    assert compare(base, HealthSnapshot(1, (_health("primary", 20),)), TH).level is HealthLevel.OK
    hold = compare(base, HealthSnapshot(1, (_health("primary", 37),)), TH)
    assert hold.level is HealthLevel.HOLD and "Threads_running 37" in hold.reasons[0]
    assert compare(base, HealthSnapshot(1, (_health("primary", 61),)), TH).level is HealthLevel.CRITICAL


def test_new_pileup_is_critical_known_one_only_holds():
    pile = [_t(i, f"SELECT * FROM orders WHERE user_id = {i}", time_s=8) for i in range(8)]
    quiet = HealthSnapshot(0, (_health("primary", 2),))
    now = HealthSnapshot(1, (_health("primary", 8, groups_from=pile),))
    v = compare(baseline_from([quiet]), now, TH)
    assert v.level is HealthLevel.CRITICAL and "8 threads on one new query shape" in v.reasons[0]
    known = baseline_from([now])
    assert compare(known, HealthSnapshot(2, (_health("primary", 8, groups_from=pile),)), TH).level is HealthLevel.HOLD


def test_replica_lag_unknown_or_high_holds_and_long_trx_holds():
    base = Baseline(1, (ServerBaseline("primary", 1, 1, 10, frozenset()), ServerBaseline("r1", 1, 1, 10, frozenset())))
    lagging = ReplicaLag("r1", 42.0, True, True, parse_replica_status("r1", {}).source)
    v = compare(base, HealthSnapshot(0, (_health("primary", 1, trx=95.0),
                                         _health("r1", 1, lag=lagging, role=Role.REPLICA))), TH)
    assert v.level is HealthLevel.HOLD
    assert any("open 95s" in r for r in v.reasons) and any("r1: 42s behind" in r for r in v.reasons)
    th = HealthThresholds.from_gates(GatesConfig(replica_lag_max=60.0, threads_running_max=80))
    assert th.threads_running_critical == 80 and th.threads_running_hold == 40 and th.replica_lag_max == 60.0
