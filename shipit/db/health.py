"""Database health signals, a pre-release baseline, and the pure comparison that gates a release.

The outage was "many threads stuck on one query": Threads_running climbs, and the processlist grouped by
fingerprint shows one statement shape holding most of the active threads. Readings are one snapshot per server;
`compare` judges a snapshot against the baseline taken before the release, with the anchors of pt-osc/gh-ost:
hold at +20% over the baseline p95 (floor 25), critical at 2x (floor `gates.threads_running_max`).
"""

from __future__ import annotations

import dataclasses
import enum
import statistics
import time
from collections.abc import Iterable, Sequence
from typing import Any

from shipit.db.connection import Flavour, QueryError, Role, Server, Servers
from shipit.db.fingerprint import fingerprint

MONITOR_TIMEOUT = 2.0  # statement limit for every monitoring query: a slow monitor must not add load
MDL_WAIT_STATE = "Waiting for table metadata lock"
# Processlist commands that are not client work: idle sessions, server threads, replication plumbing.
_IDLE_COMMANDS = frozenset({"Sleep", "Daemon", "Binlog Dump", "Binlog Dump GTID", "Slave_IO", "Slave_SQL",
                            "Slave_worker", "Killed"})


@dataclasses.dataclass(frozen=True)
class Thread:
    """One processlist row. `progress` is MariaDB's within-stage percentage (COPY only in practice)."""

    id: int
    user: str
    host: str
    db: str | None
    command: str
    time_s: float
    state: str
    info: str
    stage: int = 0
    max_stage: int = 0
    progress: float = 0.0

    @property
    def active(self) -> bool:
        return self.command not in _IDLE_COMMANDS and self.user != "system user"

    @property
    def replication(self) -> bool:
        """A replica's own thread (the SQL thread runs the replayed ALTER)."""
        return self.user == "system user" or self.command.startswith("Slave_")

    @property
    def waiting_for_mdl(self) -> bool:
        return self.state == MDL_WAIT_STATE


def _thread(row: dict) -> Thread:
    time_ms = row.get("TIME_MS")
    return Thread(
        id=int(row["ID"]),
        user=row.get("USER") or "",
        host=row.get("HOST") or "",
        db=row.get("DB"),
        command=row.get("COMMAND") or "",
        time_s=float(time_ms) / 1000.0 if time_ms is not None else float(row.get("TIME") or 0),
        state=row.get("STATE") or "",
        info=row.get("INFO") or "",
        stage=int(row.get("STAGE") or 0),
        max_stage=int(row.get("MAX_STAGE") or 0),
        progress=float(row.get("PROGRESS") or 0),
    )


def processlist_sql(flavour: Flavour) -> str:
    """Every thread but our own; MariaDB adds sub-second time and the COPY progress columns."""
    extra = ", TIME_MS, STAGE, MAX_STAGE, PROGRESS" if flavour is Flavour.MARIADB else ""
    return ("SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, INFO" + extra +
            " FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()")


def read_threads(server: Server) -> tuple[Thread, ...]:
    return tuple(_thread(r) for r in server.query(processlist_sql(server.flavour), timeout=MONITOR_TIMEOUT))


def read_status(server: Server, names: Iterable[str]) -> dict[str, str]:
    """Selected `SHOW GLOBAL STATUS` values by name (works on every flavour and version)."""
    wanted = sorted(set(names))
    marks = ", ".join(["%s"] * len(wanted))
    rows = server.query(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({marks})", wanted, timeout=MONITOR_TIMEOUT)
    return {r["Variable_name"]: r["Value"] for r in rows}


# --- fingerprints and pile-ups -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FingerprintGroup:
    """Active threads running one statement shape; `fingerprint` doubles as the literal-free sample."""

    fingerprint: str
    count: int
    max_time_s: float
    avg_time_s: float
    states: tuple[str, ...]
    thread_ids: tuple[int, ...]


def group_by_fingerprint(threads: Iterable[Thread]) -> tuple[FingerprintGroup, ...]:
    """Active threads grouped by fingerprint, biggest group first."""
    groups: dict[str, list[Thread]] = {}
    for t in threads:
        if t.active and t.info:
            groups.setdefault(fingerprint(t.info), []).append(t)
    out = [
        FingerprintGroup(
            fingerprint=fp,
            count=len(ts),
            max_time_s=max(t.time_s for t in ts),
            avg_time_s=sum(t.time_s for t in ts) / len(ts),
            states=tuple(sorted({t.state for t in ts if t.state})),
            thread_ids=tuple(sorted(t.id for t in ts)),
        )
        for fp, ts in groups.items()
    ]
    return tuple(sorted(out, key=lambda g: (-g.count, -g.max_time_s, g.fingerprint)))


def find_pileups(groups: Sequence[FingerprintGroup], active: int, *, min_threads: int = 5,
                 min_share: float = 0.3) -> tuple[FingerprintGroup, ...]:
    """Groups holding at least `min_threads` threads and `min_share` of all active threads."""
    if active <= 0:
        return ()
    return tuple(g for g in groups if g.count >= min_threads and g.count / active >= min_share)


# --- replica lag ---------------------------------------------------------------------------------------------------

class LagSource(str, enum.Enum):
    REPLICA_STATUS = "replica_status"
    GTID_POSITION = "gtid_position"  # heartbeat-free fallback: when the replica reached the primary's position


@dataclasses.dataclass(frozen=True)
class ReplicaLag:
    """One replica's lag. `lag_s` None means unknown or replication broken, which is never healthy."""

    name: str
    lag_s: float | None
    io_running: bool | None
    sql_running: bool | None
    source: LagSource
    error: str = ""

    def within(self, limit: float) -> bool:
        return self.lag_s is not None and self.lag_s <= limit

    def describe(self) -> str:
        if self.lag_s is not None:
            return f"{self.name}: {self.lag_s:g}s behind"
        why = self.error or ("replication IO thread stopped" if self.io_running is False else
                             "replication SQL thread stopped" if self.sql_running is False else "lag unknown")
        return f"{self.name}: lag unknown ({why})"


def replica_status_sql(flavour: Flavour, version: tuple[int, int, int]) -> str:
    """`SHOW REPLICA STATUS` where it exists (MySQL 8.0.22+, MariaDB 10.5.1+; 8.4 removed the SLAVE form)."""
    if flavour is Flavour.MARIADB:
        return "SHOW REPLICA STATUS" if version >= (10, 5, 1) else "SHOW SLAVE STATUS"
    return "SHOW REPLICA STATUS" if version >= (8, 0, 22) else "SHOW SLAVE STATUS"


def _yes(value: Any) -> bool | None:
    return None if value is None else str(value).lower() in ("yes", "on", "1")


def parse_replica_status(name: str, row: dict | None) -> ReplicaLag:
    """Map either naming (MySQL 8 `*_Source`/`Replica_*`, MariaDB `*_Master`/`Slave_*`) to one reading."""
    if not row:
        return ReplicaLag(name, None, None, None, LagSource.REPLICA_STATUS, "not configured as a replica")
    get = lambda *keys: next((row[k] for k in keys if k in row), None)  # noqa: E731
    lag = get("Seconds_Behind_Source", "Seconds_Behind_Master")
    io = _yes(get("Replica_IO_Running", "Slave_IO_Running"))
    sql = _yes(get("Replica_SQL_Running", "Slave_SQL_Running"))
    error = " ".join(str(e) for e in (get("Last_SQL_Error"), get("Last_IO_Error")) if e).strip()
    if io is False or sql is False:
        lag = None  # NULL already, but never trust a number from a stopped replica
    return ReplicaLag(name, float(lag) if lag is not None else None, io, sql, LagSource.REPLICA_STATUS, error)


def read_replica_lag(server: Server) -> ReplicaLag:
    row = server.query_one(replica_status_sql(server.flavour, server.version), timeout=MONITOR_TIMEOUT)
    return parse_replica_status(server.name, row)


# --- snapshots, baseline, verdict ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ServerHealth:
    name: str
    role: Role
    threads_running: int  # excluding our own monitoring thread
    threads_connected: int
    mdl_waiters: int
    long_queries: tuple[Thread, ...]
    groups: tuple[FingerprintGroup, ...]
    pileups: tuple[FingerprintGroup, ...]
    oldest_trx_s: float | None
    lag: ReplicaLag | None = None  # replicas only


@dataclasses.dataclass(frozen=True)
class HealthSnapshot:
    taken_at: float  # wall clock, seconds
    servers: tuple[ServerHealth, ...]

    def server(self, name: str) -> ServerHealth | None:
        return next((s for s in self.servers if s.name == name), None)


@dataclasses.dataclass(frozen=True)
class HealthThresholds:
    threads_running_hold: int = 25
    threads_running_critical: int = 50
    hold_ratio: float = 1.2
    critical_ratio: float = 2.0
    replica_lag_max: float = 10.0
    long_query_s: float = 10.0
    long_trx_s: float = 30.0
    pileup_min_threads: int = 5
    pileup_share: float = 0.3

    @classmethod
    def from_gates(cls, gates: Any) -> HealthThresholds:
        critical = int(gates.threads_running_max)
        return cls(threads_running_hold=max(1, critical // 2), threads_running_critical=critical,
                   replica_lag_max=float(gates.replica_lag_max))


def assess_server(name: str, role: Role, threads: Sequence[Thread], status: dict[str, str],
                  oldest_trx_s: float | None, lag: ReplicaLag | None, th: HealthThresholds) -> ServerHealth:
    """Pure: one server's readings into its health record."""
    active = [t for t in threads if t.active]
    groups = group_by_fingerprint(active)
    return ServerHealth(
        name=name,
        role=role,
        threads_running=max(0, int(status.get("Threads_running", len(active) + 1)) - 1),
        threads_connected=int(status.get("Threads_connected", len(threads) + 1)),
        mdl_waiters=sum(1 for t in threads if t.waiting_for_mdl),
        long_queries=tuple(sorted((t for t in active if t.time_s >= th.long_query_s), key=lambda t: -t.time_s)),
        groups=groups,
        pileups=find_pileups(groups, len(active), min_threads=th.pileup_min_threads, min_share=th.pileup_share),
        oldest_trx_s=oldest_trx_s,
        lag=lag,
    )


def read_oldest_trx(server: Server) -> float | None:
    """Age of the oldest InnoDB transaction (seconds), None without PROCESS or without transactions."""
    try:
        row = server.query_one("SELECT TIMESTAMPDIFF(MICROSECOND, MIN(trx_started), NOW(6)) / 1e6 AS age "
                               "FROM information_schema.INNODB_TRX", timeout=MONITOR_TIMEOUT)
    except QueryError as e:
        if e.code == 1227:  # no PROCESS privilege: degrade, the probe already told the user
            return None
        raise
    return float(row["age"]) if row and row["age"] is not None else None


def read_server_health(server: Server, th: HealthThresholds) -> ServerHealth:
    threads = read_threads(server)
    status = read_status(server, ("Threads_running", "Threads_connected"))
    lag = read_replica_lag(server) if server.role is Role.REPLICA else None
    return assess_server(server.name, server.role, threads, status, read_oldest_trx(server), lag, th)


def take_snapshot(servers: Servers | Sequence[Server], th: HealthThresholds) -> HealthSnapshot:
    """Every server's health now: a `Servers`, or the servers of several databases read once each."""
    listed = servers.all() if isinstance(servers, Servers) else tuple(servers)
    return HealthSnapshot(taken_at=time.time(), servers=tuple(read_server_health(s, th) for s in listed))


@dataclasses.dataclass(frozen=True)
class ServerBaseline:
    name: str
    threads_running_p50: float
    threads_running_p95: float
    threads_connected_p95: float
    fingerprints: frozenset[str]  # shapes already active before the release


@dataclasses.dataclass(frozen=True)
class Baseline:
    samples: int
    servers: tuple[ServerBaseline, ...]

    def server(self, name: str) -> ServerBaseline | None:
        return next((s for s in self.servers if s.name == name), None)

    def usual(self, taken_at: float) -> tuple[UsualLoad, ...]:
        return tuple(UsualLoad(s.name, s.threads_running_p50, s.threads_running_p95, self.samples, taken_at)
                     for s in self.servers)


@dataclasses.dataclass(frozen=True)
class UsualLoad:
    """A server's Threads_running before a release, kept in its record: what "usual" means to a later diagnosis."""

    server: str
    p50: float
    p95: float
    samples: int
    taken_at: float  # epoch seconds

    def to_json(self) -> dict:
        return {"server": self.server, "threads_running_p50": self.p50, "threads_running_p95": self.p95,
                "samples": self.samples, "taken_at": self.taken_at}

    @classmethod
    def from_json(cls, d: dict) -> UsualLoad:
        return cls(str(d["server"]), float(d["threads_running_p50"]), float(d["threads_running_p95"]),
                   int(d["samples"]), float(d["taken_at"]))


def running_limits(p95: float, th: HealthThresholds) -> tuple[float, float]:
    """Pure: the (hold, critical) Threads_running for a usual p95: +20% and 2x of it, never below the floors."""
    return max(th.threads_running_hold, th.hold_ratio * p95), max(th.threads_running_critical, th.critical_ratio * p95)


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]


def baseline_from(snapshots: Sequence[HealthSnapshot]) -> Baseline:
    """Pure: per-server p50/p95 of the thread counts and the fingerprints seen, over pre-release snapshots."""
    if not snapshots:
        raise ValueError("a baseline needs at least one snapshot")
    names = [s.name for s in snapshots[0].servers]
    out = []
    for name in names:
        readings = [h for snap in snapshots if (h := snap.server(name)) is not None]
        running = [float(h.threads_running) for h in readings]
        out.append(ServerBaseline(
            name=name,
            threads_running_p50=statistics.median(running),
            threads_running_p95=_p95(running),
            threads_connected_p95=_p95([float(h.threads_connected) for h in readings]),
            fingerprints=frozenset(g.fingerprint for h in readings for g in h.groups),
        ))
    return Baseline(samples=len(snapshots), servers=tuple(out))


def take_baseline(servers: Servers | Sequence[Server], th: HealthThresholds, *, samples: int = 5, interval: float = 1.0) -> Baseline:
    snaps = []
    for i in range(samples):
        if i:
            time.sleep(interval)
        snaps.append(take_snapshot(servers, th))
    return baseline_from(snaps)


class HealthLevel(enum.IntEnum):
    OK = 0
    HOLD = 1  # do not start the next step yet; wait and re-check
    CRITICAL = 2  # abort our DDL / revert the code


@dataclasses.dataclass(frozen=True)
class HealthVerdict:
    level: HealthLevel
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.level is HealthLevel.OK


def compare(baseline: Baseline, now: HealthSnapshot, th: HealthThresholds) -> HealthVerdict:
    """Pure gate decision for one snapshot against the pre-release baseline."""
    level, reasons = HealthLevel.OK, []

    def flag(lvl: HealthLevel, why: str) -> None:
        nonlocal level
        level = max(level, lvl)
        reasons.append(why)

    for h in now.servers:
        base = baseline.server(h.name)
        p95 = base.threads_running_p95 if base else 0.0
        hold, critical = running_limits(p95, th)
        if h.threads_running > critical:
            flag(HealthLevel.CRITICAL, f"{h.name}: Threads_running {h.threads_running} > {critical:g} "
                                       f"(2x baseline p95 {p95:g}, floor {th.threads_running_critical})")
        elif h.threads_running > hold:
            flag(HealthLevel.HOLD, f"{h.name}: Threads_running {h.threads_running} > {hold:g} "
                                   f"(baseline p95 {p95:g} +20%, floor {th.threads_running_hold})")
        known = base.fingerprints if base else frozenset()
        for g in h.pileups:
            new = g.fingerprint not in known
            flag(HealthLevel.CRITICAL if new else HealthLevel.HOLD,
                 f"{h.name}: {g.count} threads on one {'new ' if new else ''}query shape "
                 f"(longest {g.max_time_s:.1f}s): {g.fingerprint[:200]}")
        if h.mdl_waiters:
            flag(HealthLevel.HOLD, f"{h.name}: {h.mdl_waiters} sessions waiting for a table metadata lock")
        if h.oldest_trx_s is not None and h.oldest_trx_s > th.long_trx_s:
            flag(HealthLevel.HOLD, f"{h.name}: a transaction has been open {h.oldest_trx_s:.0f}s "
                                   f"(> {th.long_trx_s:g}s; it would block DDL metadata locks)")
        if h.lag is not None and not h.lag.within(th.replica_lag_max):
            flag(HealthLevel.HOLD, f"replica {h.lag.describe()} (limit {th.replica_lag_max:g}s)")
    return HealthVerdict(level, tuple(reasons))
