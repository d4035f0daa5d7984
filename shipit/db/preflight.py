"""Before migrating: will the data let the DDL succeed, and is it a safe moment to run it?

Data checks (`shipit.db.checks`, one module per kind) predict the failures that end a migration half-way; this
module runs them: row scans walk the primary key in ranges sized to a share of `preflight.chunk_time`, pause while
Threads_running or replica lag is high, run on a replica when one is fresh, and stop at `preflight.budget`: an
unfinished check blocks, because "probably fine" is how the outage started. Concurrency risks (`shipit.db.risks`)
and a migration left half-applied come from the primary, where the migration will run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from shipit.db import estimate as est
from shipit.db import migration_state as ms
from shipit.db import probe as probe_mod
from shipit.db.checks import Check
from shipit.db.checks.result import CheckResult, CheckStatus
from shipit.db.connection import QueryError, QueryTimeout, Server, Servers
from shipit.db.risks import Risk, RiskKind, migrator_risks, read_transactions, rebuild_risks, transaction_risks

SAMPLE_LIMIT = 10
FRESH_REPLICA_LAG = 1.0  # read from a replica only when it is this close to the primary
THROTTLE_CHECK_INTERVAL = 0.5
# Chunks aim at this share of `chunk_time`: on a busy server one chunk can take 3-4x its usual time, and chunk_time
# is a limit the user set, not an average (measured: 50 ms chunks peaked at 145-220 ms on a loaded machine).
CHUNK_TARGET_SHARE = 0.25
_INTEGER_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "integer", "bigint"})


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# --- results -------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PreflightReport:
    server: str  # where the data checks ran
    pending: tuple[str, ...]
    checks: tuple[CheckResult, ...]
    risks: tuple[Risk, ...]
    sizes: tuple[est.TableSize, ...]
    estimates: tuple[est.BuildEstimate, ...]
    elapsed_s: float

    @property
    def blocking_reasons(self) -> tuple[str, ...]:
        failed = tuple(c.finding() for c in self.checks if c.blocking)
        return failed + tuple(r.message for r in self.risks if r.blocking)

    @property
    def ok(self) -> bool:
        return not self.blocking_reasons

    def render_text(self) -> str:
        lines = []
        if self.ok:
            lines.append("Preflight passed: the release may proceed.")
        else:
            lines.append("Preflight BLOCKED: the release must not proceed.")
            lines.extend(f"  - {r}" for r in self.blocking_reasons)
        lines.append(f"Pending migrations: {', '.join(self.pending) if self.pending else 'none'}")
        if self.checks:
            lines.append(f"Data checks (on {self.server}):")
            lines.extend(f"  {c.status.value:<10} {c.describe()}" for c in self.checks)
        warnings = [c.finding() for c in self.checks if c.status is CheckStatus.FAILED and not c.blocking]
        warnings += [r.message for r in self.risks if not r.blocking]
        if warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {w}" for w in warnings)
        if self.sizes:
            lines.append("Tables:")
            lines.extend(f"  {s.describe()}" for s in self.sizes)
        if self.estimates:
            lines.append(f"Build estimates ({est.RATE_SOURCE}):")
            lines.extend(f"  {e.describe()}" for e in self.estimates)
        lines.append(f"Preflight took {self.elapsed_s:.1f}s.")
        if not self.ok:
            lines.append("Next: fix the data or end the sessions named above, then run `shipit preflight` again.")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "blocking_reasons": list(self.blocking_reasons),
            "server": self.server,
            "pending": list(self.pending),
            "checks": [c.to_json() for c in self.checks],
            "risks": [r.to_json() for r in self.risks],
            "tables": [s.to_json() for s in self.sizes],
            "estimates": [e.to_json() for e in self.estimates],
            "elapsed_s": round(self.elapsed_s, 3),
        }


# --- throttling ----------------------------------------------------------------------------------------------------


class BudgetExhausted(Exception):
    """The preflight budget ran out; carries what it was doing (or waiting for)."""


def throttle_reason(threads_running: int, lags: Sequence[Any], threads_max: int, lag_max: float) -> str | None:
    """Why the next chunk must wait, or None. Lags are shipit.db.health.ReplicaLag readings; unknown lag waits."""
    if threads_running > threads_max:
        return f"Threads_running {threads_running} > {threads_max}"
    for lag in lags:
        if not lag.within(lag_max):
            return f"replica {lag.describe()} (limit {lag_max:g}s)"
    return None


@dataclasses.dataclass
class Throttle:
    """Pauses between chunks while the scanned server is busy or a replica falls behind (pt-osc/LHM style)."""

    server: Server
    replicas: tuple[Server, ...]
    threads_running_max: int
    replica_lag_max: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    waited_s: float = 0.0
    _last_check: float = -1e9

    def reason_now(self) -> str | None:
        from shipit.db.health import read_replica_lag, read_status

        running = int(read_status(self.server, ["Threads_running"]).get("Threads_running", 0)) - 1  # minus ourselves
        return throttle_reason(running, [read_replica_lag(r) for r in self.replicas], self.threads_running_max,
                               self.replica_lag_max)

    def wait(self, deadline: float) -> None:
        now = self.clock()
        if now - self._last_check < THROTTLE_CHECK_INTERVAL:
            return
        self._last_check = now
        delay = 0.25
        while (reason := self.reason_now()) is not None:
            if self.clock() + delay > deadline:
                raise BudgetExhausted(f"budget ran out while throttled: {reason}")
            self.sleep(delay)
            self.waited_s += delay
            delay = min(delay * 2, 2.0)
        self._last_check = self.clock()


# --- chunked scans -------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TableInfo:
    name: str
    primary_key: tuple[str, ...]
    integer_pk: bool
    columns: frozenset[str]  # lowercase


def read_table(server: Server, table: str) -> TableInfo | None:
    rows = server.query(
        "SELECT c.COLUMN_NAME AS col, c.DATA_TYPE AS type, s.SEQ_IN_INDEX AS seq FROM information_schema.COLUMNS c "
        "LEFT JOIN information_schema.STATISTICS s ON s.TABLE_SCHEMA = c.TABLE_SCHEMA AND s.TABLE_NAME = c.TABLE_NAME "
        "AND s.COLUMN_NAME = c.COLUMN_NAME AND s.INDEX_NAME = 'PRIMARY' "
        "WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = %s",
        (table,),
    )
    if not rows:
        return None
    pk = sorted((r for r in rows if r["seq"] is not None), key=lambda r: r["seq"])
    return TableInfo(
        name=table,
        primary_key=tuple(r["col"] for r in pk),
        integer_pk=len(pk) == 1 and pk[0]["type"].lower() in _INTEGER_TYPES,
        columns=frozenset(r["col"].lower() for r in rows),
    )


@dataclasses.dataclass(frozen=True)
class ScanOutcome:
    bad: int
    samples: tuple[Any, ...]
    rows: int
    chunks: int
    longest_s: float
    complete: bool
    note: str = ""


def next_chunk_size(size: int, took_s: float, target_s: float) -> int:
    """Scale the PK span towards the target duration, at most doubling or halving per chunk."""
    if took_s <= 0:
        return size * 2
    return max(100, int(size * min(2.0, max(0.5, target_s / took_s))))


def scan_ranges(
    server: Server,
    table: TableInfo,
    count_sql: str,
    sample_sql: str,
    *,
    chunk_time: float,
    deadline: float,
    throttle: Throttle | None,
    clock: Callable[[], float] = time.monotonic,
    sample_limit: int = SAMPLE_LIMIT,
) -> ScanOutcome:
    """Walk the integer primary key in ranges. `count_sql` takes (lo, hi) and returns `n` rows and `bad` rows;
    `sample_sql` takes (lo, hi, limit) and returns the offending keys as `k`."""
    pk = _q(table.primary_key[0])
    bounds = server.query_one(f"SELECT MIN({pk}) AS lo, MAX({pk}) AS hi FROM {_q(table.name)}", timeout=30.0)
    if bounds is None or bounds["lo"] is None:
        return ScanOutcome(0, (), 0, 0, 0.0, True)
    lo, top = int(bounds["lo"]), int(bounds["hi"])
    size, target = 1000, chunk_time * CHUNK_TARGET_SHARE
    bad = rows = chunks = 0
    longest = 0.0
    samples: list[Any] = []
    while lo <= top:
        try:
            if throttle is not None:
                throttle.wait(deadline)
            remaining = deadline - clock()
            if remaining <= 0:
                raise BudgetExhausted("budget ran out")
            started = clock()
            try:
                row = server.query_one(count_sql, (lo, lo + size), timeout=min(max(20 * chunk_time, 1.0), remaining))
            except QueryTimeout:
                if size <= 100:
                    raise BudgetExhausted(f"a chunk of {size} keys exceeded its time limit") from None
                size = max(100, size // 8)
                continue
            took = clock() - started
        except BudgetExhausted as e:
            done = (lo - int(bounds["lo"])) / max(1, top - int(bounds["lo"]) + 1)
            return ScanOutcome(bad, tuple(samples), rows, chunks, longest, False, f"{e}; {done:.0%} of keys scanned")
        chunks += 1
        rows += int(row["n"] or 0)
        found = int(row["bad"] or 0)
        if found and len(samples) < sample_limit:
            keys = server.query(sample_sql, (lo, lo + size, sample_limit - len(samples)), timeout=max(1.0, chunk_time * 20))
            samples.extend(r["k"] for r in keys)
        bad += found
        longest = max(longest, took)
        lo += size
        size = next_chunk_size(size, took, target)
    return ScanOutcome(bad, tuple(samples), rows, chunks, longest, True)


def _whole_table(server: Server, count_sql: str, sample_sql: str, deadline: float, clock: Callable[[], float],
                 sample_limit: int = SAMPLE_LIMIT) -> ScanOutcome:
    """One bounded query for tables whose key cannot be ranged (no single integer primary key)."""
    remaining = deadline - clock()
    try:
        started = clock()
        row = server.query_one(count_sql, timeout=max(remaining, 0.001))
        took = clock() - started
        samples = ()
        if int(row["bad"] or 0):
            samples = tuple(r["k"] for r in server.query(sample_sql, (sample_limit,), timeout=max(remaining, 0.001)))
    except QueryTimeout:
        return ScanOutcome(0, (), 0, 0, 0.0, False, "budget ran out during a whole-table scan (no integer primary key)")
    return ScanOutcome(int(row["bad"] or 0), samples, int(row["n"] or 0), 1, took, True)


# --- running one check ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Settings:
    budget: float
    chunk_time: float
    long_transaction: float
    threads_running_max: int
    replica_lag_max: float

    @classmethod
    def from_config(cls, preflight: Any, gates: Any) -> Settings:
        return cls(preflight.budget, preflight.chunk_time, preflight.long_transaction, gates.threads_running_max,
                   gates.replica_lag_max)


@dataclasses.dataclass
class ScanContext:
    """What a check kind's `scan` may use: the server, ranged or whole-table row scans, bounded queries."""

    server: Server
    settings: Settings
    deadline: float
    throttle: Throttle | None
    clock: Callable[[], float]
    q: Callable[[str], str] = staticmethod(_q)

    def read_table(self, name: str) -> TableInfo | None:
        return read_table(self.server, name)

    def rows(self, info: TableInfo, bad_sql: str, join: str = "") -> ScanOutcome:
        """Count rows matching `bad_sql` (table alias `c`), over ranges of an integer key or in one bounded query."""
        table = _q(info.name)
        if info.integer_pk:
            pk = f"c.{_q(info.primary_key[0])}"
            rng = f"{pk} >= %s AND {pk} < %s"
            count_sql = f"SELECT COUNT(*) AS n, SUM({bad_sql}) AS bad FROM {table} c {join} WHERE {rng}"
            sample_sql = f"SELECT {pk} AS k FROM {table} c {join} WHERE {rng} AND {bad_sql} ORDER BY {pk} LIMIT %s"
            return scan_ranges(self.server, info, count_sql, sample_sql, chunk_time=self.settings.chunk_time,
                               deadline=self.deadline, throttle=self.throttle, clock=self.clock)
        key = f"c.{_q(info.primary_key[0])}" if info.primary_key else "NULL"
        count_sql = f"SELECT COUNT(*) AS n, SUM({bad_sql}) AS bad FROM {table} c {join}"
        sample_sql = f"SELECT {key} AS k FROM {table} c {join} WHERE {bad_sql} LIMIT %s"
        return _whole_table(self.server, count_sql, sample_sql, self.deadline, self.clock)

    def query_one(self, sql: str) -> dict | None:
        """One row, or None when the remaining budget ran out."""
        try:
            return self.server.query_one(sql, timeout=max(self.deadline - self.clock(), 0.001))
        except QueryTimeout:
            return None

    def query(self, sql: str) -> list | None:
        try:
            return self.server.query(sql, timeout=max(self.deadline - self.clock(), 0.001))
        except QueryTimeout:
            return None

    @staticmethod
    def incomplete(note: str) -> ScanOutcome:
        return ScanOutcome(0, (), 0, 0, 0.0, False, note)

    @staticmethod
    def outcome(bad: int, samples: tuple) -> ScanOutcome:
        return ScanOutcome(bad, samples, 0, 0, 0.0, True)


def run_check(
    server: Server, check: Check, settings: Settings, deadline: float, throttle: Throttle | None,
    clock: Callable[[], float] = time.monotonic,
) -> CheckResult:
    """Run one check on `server`: skipped when its table or columns do not exist yet, else its kind's scan."""
    started = clock()

    def result(status: CheckStatus, out: ScanOutcome | None = None, note: str = "") -> CheckResult:
        if out is None:
            return CheckResult(check, status, 0, (), server.name, note=note, elapsed_s=clock() - started)
        return CheckResult(check, status, out.bad, out.samples, server.name, out.rows, out.chunks, out.longest_s,
                           clock() - started, out.note)

    info = read_table(server, check.table)
    if info is None:
        return result(CheckStatus.SKIPPED, note=f"table {check.table} does not exist yet")
    missing = [c for c in check.scanned_columns if c.lower() not in info.columns]
    if missing:
        return result(CheckStatus.SKIPPED, note=f"column {', '.join(missing)} does not exist yet on {info.name}")
    out = check.spec.scan(ScanContext(server, settings, deadline, throttle, clock), check, info)
    status = CheckStatus.FAILED if out.bad else (CheckStatus.PASSED if out.complete else CheckStatus.INCOMPLETE)
    return result(status, out)


# --- the whole preflight -------------------------------------------------------------------------------------------


def choose_check_server(servers: Servers, max_lag: float = FRESH_REPLICA_LAG) -> tuple[Server, Risk | None]:
    """A replica within `max_lag` of the primary, else the primary (with the reason)."""
    if not servers.replicas:
        return servers.primary, None
    from shipit.db.health import read_replica_lag

    why = []
    for replica in servers.replicas:
        try:
            lag = read_replica_lag(replica)
        except QueryError as e:
            why.append(f"{replica.name}: {e}")
            continue
        if lag.within(max_lag):
            return replica, None
        why.append(lag.describe())
    return servers.primary, Risk(
        RiskKind.REPLICA, f"data checks ran on the primary: no replica within {max_lag:g}s ({'; '.join(why)})", False
    )


def run_preflight(
    servers: Servers,
    migrations: Sequence[Any],
    settings: Settings,
    *,
    clock: Callable[[], float] = time.monotonic,
    database: str = "primary",
) -> PreflightReport:
    """Checks and risks for the plan's migrations of `database` (objects with `.version`, `.checks`, `.expected`,
    `.database`) on that database's `servers`. Reads only."""
    started = clock()
    deadline = started + settings.budget
    primary = servers.primary
    risks: list[Risk] = []

    check_server, replica_note = choose_check_server(servers)
    if replica_note:
        risks.append(replica_note)
    probes = {s.name: probe_mod.probe(s) for s in {primary.name: primary, check_server.name: check_server}.values()}
    for p in probes.values():
        if p.missing:
            risks.append(Risk(RiskKind.GRANTS, p.grant_message() or "", bool(p.blocking_missing)))
        risks.extend(Risk(RiskKind.SETTING, w, False) for w in p.warnings)
    has_process = probe_mod.Privilege.PROCESS not in probes[primary.name].missing

    # another database's migrations are not checked on these servers (said, not hidden)
    others = [m for m in migrations if getattr(m, "database", "primary") != database]
    if others:
        names = sorted({m.database for m in others})
        risks.append(Risk(RiskKind.SETTING, f"{len(others)} migration(s) for database {', '.join(names)} were not "
                                            f"checked: this preflight reads only database {database}", False))
    applied = ms.applied_versions(primary)
    pending_migrations = [m for m in migrations if str(m.version) not in applied and m not in others]
    pending = tuple(str(m.version) for m in pending_migrations)
    expected = [e for m in pending_migrations for e in m.expected]
    checks = [c for m in pending_migrations for c in m.checks]
    affected = {e.table.lower() for e in expected} | {c.table.lower() for c in checks}

    risks.extend(migrator_risks(ms.running_migrators(primary), affected))
    if has_process:
        risks.extend(transaction_risks(read_transactions(primary), settings.long_transaction))
    snapshot = ms.read_schema(primary, affected)
    for m in pending_migrations:
        state = ms.PartialState(str(m.version), False, ms.compare(m.expected, snapshot))
        if state.applied:
            risks.append(Risk(RiskKind.PARTIAL_MIGRATION, state.render(), True))

    sizes, estimates = est.estimate(primary, expected, replicas=len(servers.replicas))
    risks.extend(rebuild_risks(primary, pending_migrations))

    throttle = Throttle(check_server, servers.replicas, settings.threads_running_max, settings.replica_lag_max,
                        clock=clock)
    results = tuple(run_check(check_server, c, settings, deadline, throttle, clock) for c in checks)
    return PreflightReport(
        server=check_server.name, pending=pending, checks=results, risks=tuple(risks), sizes=sizes,
        estimates=estimates, elapsed_s=clock() - started,
    )
