"""Metadata-lock watchdog: a DDL queued for its exclusive lock stalls every later query on the table.

An idle-in-transaction session holds a shared MDL; the ALTER waits for the exclusive one, and every SELECT that
arrives after it queues behind the ALTER. The watchdog names the blocking session and counts the queued victims from
one of three sources, best first: performance_schema.metadata_locks (MySQL 8 default; MariaDB with the MDL
instrument on), MariaDB's METADATA_LOCK_INFO plugin (granted locks only), or INNODB_TRX joined to the processlist
(transactions open since before the wait began: candidates, not proof). The policy kills *our* DDL query, which fails
the migration cleanly before phase 3 commits anything; it never kills another session unless configured to.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Sequence

from shipit.db.connection import QueryError, Server
from shipit.db.ddl_watch import RunningDdl, find_ddl, parse_ddl
from shipit.db.fingerprint import fingerprint
from shipit.db.health import MONITOR_TIMEOUT, Thread, read_threads
from shipit.db.migration_state import rails_lock_name
from shipit.core.errors import ShipitError


class BlockerSource(str, enum.Enum):
    PERFORMANCE_SCHEMA = "performance_schema.metadata_locks"
    METADATA_LOCK_INFO = "information_schema.METADATA_LOCK_INFO"
    INNODB_TRX = "information_schema.INNODB_TRX"


@dataclasses.dataclass(frozen=True)
class Blocker:
    conn_id: int
    user: str
    host: str
    command: str  # 'Sleep' with an open transaction = idle in transaction
    state_s: float  # time in the current command/state
    trx_age_s: float | None
    statement: str  # fingerprint of the current statement ('' when idle): no literals reach the output
    lock_type: str | None  # SHARED_READ, SHARED_WRITE... when the source knows it
    last_statement: str = ""  # fingerprint of an idle session's last statement, from P_S when its consumer is on

    @property
    def idle_in_transaction(self) -> bool:
        return self.command == "Sleep" and self.trx_age_s is not None

    def describe(self) -> str:
        what = "idle in a transaction" if self.idle_in_transaction else (
            f"running {self.statement[:120]!r}" if self.statement else self.command.lower())
        if not self.statement and self.last_statement:
            what += f" (last ran {self.last_statement[:120]!r})"
        trx = f", transaction open {self.trx_age_s:.0f}s" if self.trx_age_s is not None else ""
        lock = f", holds {self.lock_type}" if self.lock_type else ""
        return f"connection {self.conn_id} ({self.user}@{self.host}) {what} for {self.state_s:.0f}s{trx}{lock}"


@dataclasses.dataclass(frozen=True)
class MdlWait:
    """A DDL waiting for its exclusive metadata lock, the sessions blocking it, and the queue behind it."""

    server: str
    ddl: RunningDdl
    blockers: tuple[Blocker, ...]
    victims: tuple[Thread, ...]  # sessions queued behind the DDL on the same table
    source: BlockerSource

    @property
    def max_victim_wait_s(self) -> float:
        return max((v.time_s for v in self.victims), default=0.0)

    def describe(self) -> str:
        table = f"{self.ddl.schema}.{self.ddl.table}" if self.ddl.schema else self.ddl.table
        head = (f"{self.server}: {self.ddl.kind.value} on {table} (connection {self.ddl.conn_id}) has waited "
                f"{self.ddl.elapsed_s:.0f}s for its metadata lock; {len(self.victims)} queries queued behind it "
                f"(longest {self.max_victim_wait_s:.0f}s)")
        if not self.blockers:
            return head + "; blocker not identified (grant PROCESS, or enable performance_schema MDL instrument)"
        return head + "; blocked by " + "; ".join(b.describe() for b in self.blockers) + f" [{self.source.value}]"


def _mentions(statement: str, table: str) -> bool:
    return re.search(rf"(?<![\w$]){re.escape(table)}(?![\w$])", statement, re.IGNORECASE) is not None


def queued_victims(ddl: RunningDdl, threads: Iterable[Thread]) -> tuple[Thread, ...]:
    """Pure: other sessions in the MDL wait state whose statement names the DDL's table."""
    return tuple(t for t in threads if t.id != ddl.conn_id and t.waiting_for_mdl and parse_ddl(t.info) is None
                 and _mentions(t.info, ddl.table))


# --- blocker sources -----------------------------------------------------------------------------------------------

_P_S_BLOCKERS = (
    "SELECT hold_t.PROCESSLIST_ID AS conn, h.LOCK_TYPE AS lock_type "
    "FROM performance_schema.metadata_locks AS x "
    "JOIN performance_schema.threads AS ddl_t ON ddl_t.THREAD_ID = x.OWNER_THREAD_ID "
    "JOIN performance_schema.metadata_locks AS h ON h.OBJECT_TYPE = x.OBJECT_TYPE "
    " AND h.OBJECT_SCHEMA = x.OBJECT_SCHEMA AND h.OBJECT_NAME = x.OBJECT_NAME AND h.LOCK_STATUS = 'GRANTED' "
    " AND h.OWNER_THREAD_ID <> x.OWNER_THREAD_ID "
    "JOIN performance_schema.threads AS hold_t ON hold_t.THREAD_ID = h.OWNER_THREAD_ID "
    "WHERE x.OBJECT_TYPE = 'TABLE' AND x.LOCK_STATUS = 'PENDING' AND x.LOCK_TYPE = 'EXCLUSIVE' "
    "AND ddl_t.PROCESSLIST_ID = %s"
)
_LOCK_INFO_BLOCKERS = (
    "SELECT THREAD_ID AS conn, LOCK_MODE AS lock_type FROM information_schema.METADATA_LOCK_INFO "
    "WHERE LOCK_TYPE = 'Table metadata lock' AND TABLE_SCHEMA = %s AND TABLE_NAME = %s AND THREAD_ID <> %s"
)
_LAST_STATEMENTS = (
    "SELECT t.PROCESSLIST_ID AS conn, s.SQL_TEXT AS sql_text FROM performance_schema.events_statements_current AS s "
    "JOIN performance_schema.threads AS t ON t.THREAD_ID = s.THREAD_ID WHERE t.PROCESSLIST_ID IN ({})"
)
_TRX = (
    "SELECT trx_mysql_thread_id AS conn, TIMESTAMPDIFF(MICROSECOND, trx_started, NOW(6)) / 1e6 AS age "
    "FROM information_schema.INNODB_TRX"
)


def _mdl_instrument_on(server: Server) -> bool:
    try:
        row = server.query_one("SELECT ENABLED FROM performance_schema.setup_instruments "
                               "WHERE NAME = 'wait/lock/metadata/sql/mdl'", timeout=MONITOR_TIMEOUT)
        consumer = server.query_one("SELECT ENABLED FROM performance_schema.setup_consumers "
                                    "WHERE NAME = 'global_instrumentation'", timeout=MONITOR_TIMEOUT)
    except ShipitError:
        return False
    return bool(row) and row["ENABLED"] == "YES" and bool(consumer) and consumer["ENABLED"] == "YES"


def _statements_consumer_on(server: Server) -> bool:
    """events_statements_current keeps each thread's last statement after it ends (on by default in MySQL 8 only)."""
    try:
        row = server.query_one("SELECT ENABLED FROM performance_schema.setup_consumers "
                               "WHERE NAME = 'events_statements_current'", timeout=MONITOR_TIMEOUT)
    except ShipitError:
        return False
    return bool(row) and row["ENABLED"] == "YES"


def _lock_info_available(server: Server) -> bool:
    try:
        row = server.query_one("SELECT PLUGIN_STATUS FROM information_schema.PLUGINS "
                               "WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO'", timeout=MONITOR_TIMEOUT)
    except ShipitError:
        return False
    return bool(row) and row["PLUGIN_STATUS"] == "ACTIVE"


def candidate_blockers_by_age(ddl: RunningDdl, trx_ages: dict[int, float], threads: dict[int, Thread]) -> tuple[int, ...]:
    """Pure: without lock tables, sessions whose transaction began before the DDL started waiting; those using the
    DDL's schema first (a transaction elsewhere rarely holds this table), oldest first within each group."""
    schema = (ddl.schema or "").lower()
    return tuple(conn for conn, age in sorted(
        trx_ages.items(), key=lambda kv: ((threads[kv[0]].db or "").lower() != schema if kv[0] in threads else True,
                                          -kv[1]))
        if conn != ddl.conn_id and age >= ddl.elapsed_s and conn in threads)


@dataclasses.dataclass
class MdlWatchdog:
    """Finds MDL waits on one server; the lock-table source is probed once and reused."""

    server: Server
    _source: BlockerSource | None = None
    _last_statements: bool | None = None

    def source(self) -> BlockerSource:
        if self._source is None:
            self._source = (BlockerSource.PERFORMANCE_SCHEMA if _mdl_instrument_on(self.server) else
                            BlockerSource.METADATA_LOCK_INFO if _lock_info_available(self.server) else
                            BlockerSource.INNODB_TRX)
        return self._source

    def last_statements(self, conn_ids: Iterable[int]) -> dict[int, str]:
        """Fingerprints of these sessions' most recent statements, when P_S keeps them; else empty."""
        ids = sorted({int(c) for c in conn_ids})
        if not ids:
            return {}
        if self._last_statements is None:
            self._last_statements = _statements_consumer_on(self.server)
        if not self._last_statements:
            return {}
        rows = self.server.query(_LAST_STATEMENTS.format(", ".join(["%s"] * len(ids))), ids, timeout=MONITOR_TIMEOUT)
        return {int(r["conn"]): fingerprint(r["sql_text"]) for r in rows if r["conn"] is not None and r["sql_text"]}

    def check(self, threads: Sequence[Thread] | None = None) -> tuple[MdlWait, ...]:
        """MDL waits of DDL statements now; one processlist read when nothing waits."""
        threads = tuple(threads) if threads is not None else read_threads(self.server)
        waiting = [d for d in find_ddl(self.server.name, threads) if d.waiting_for_mdl]
        if not waiting:
            return ()
        by_id = {t.id: t for t in threads}
        try:
            trx = {int(r["conn"]): float(r["age"]) for r in self.server.query(_TRX, timeout=MONITOR_TIMEOUT)}
        except QueryError as e:
            if e.code != 1227:  # without PROCESS the blockers stay unnamed, and describe() says why
                raise
            trx = {}
        out = []
        for ddl in waiting:
            source = self.source()
            if source is BlockerSource.PERFORMANCE_SCHEMA:
                held = [(int(r["conn"]), r["lock_type"]) for r in
                        self.server.query(_P_S_BLOCKERS, (ddl.conn_id,), timeout=MONITOR_TIMEOUT) if r["conn"]]
            elif source is BlockerSource.METADATA_LOCK_INFO:
                held = [(int(r["conn"]), r["lock_type"]) for r in self.server.query(
                    _LOCK_INFO_BLOCKERS, (ddl.schema, ddl.table, ddl.conn_id), timeout=MONITOR_TIMEOUT)]
            else:
                held = [(c, None) for c in candidate_blockers_by_age(ddl, trx, by_id)]
            victims = queued_victims(ddl, threads)
            victim_ids = {v.id for v in victims}
            holders = {conn: lock_type for conn, lock_type in dict(held).items()
                       if conn in by_id and conn not in victim_ids}
            last = self.last_statements(c for c in holders if not by_id[c].info)
            blockers = []
            for conn, lock_type in holders.items():
                t = by_id[conn]
                blockers.append(Blocker(conn, t.user, t.host, t.command, t.time_s, trx.get(conn),
                                        fingerprint(t.info) if t.info else "", lock_type, last.get(conn, "")))
            out.append(MdlWait(self.server.name, ddl, tuple(blockers), victims, source))
        return tuple(out)


# --- policy --------------------------------------------------------------------------------------------------------

class MdlAction(str, enum.Enum):
    NONE = "none"
    ALERT = "alert"  # someone else's DDL, or not bad enough yet: tell the user
    KILL_OUR_DDL = "kill_our_ddl"
    KILL_BLOCKER = "kill_blocker"


@dataclasses.dataclass(frozen=True)
class MdlPolicy:
    min_victims: int = 1
    ddl_wait_s: float = 2.0  # our DDL queued this long with victims behind it
    victim_wait_s: float = 5.0  # or any victim waited this long
    kill_blockers: bool = False
    blocker_users: frozenset[str] = frozenset()  # users whose idle transactions may be killed when kill_blockers


@dataclasses.dataclass(frozen=True)
class MdlDecision:
    action: MdlAction
    conn_id: int | None
    reason: str


def decide(wait: MdlWait, policy: MdlPolicy, ours: frozenset[int]) -> MdlDecision:
    """Pure: what to do about one MDL wait. Only our own DDL (`ours`) is ever killed by default; a blocker only when
    configured, and only when a lock table proves it holds the lock (INNODB_TRX ages give candidates, not proof)."""
    harmful = (len(wait.victims) >= policy.min_victims and wait.ddl.elapsed_s >= policy.ddl_wait_s) or (
        wait.max_victim_wait_s >= policy.victim_wait_s)
    if not harmful:
        return MdlDecision(MdlAction.NONE, None, "DDL waits for its metadata lock; nothing queued behind it yet")
    if wait.ddl.conn_id not in ours:
        return MdlDecision(MdlAction.ALERT, None, f"not our DDL; left alone: {wait.describe()}")
    if policy.kill_blockers and wait.source is not BlockerSource.INNODB_TRX:  # never kill a mere candidate
        idle = [b for b in wait.blockers if b.idle_in_transaction and b.user in policy.blocker_users]
        if idle and len(idle) == len(wait.blockers):
            return MdlDecision(MdlAction.KILL_BLOCKER, idle[0].conn_id,
                               f"killing idle-in-transaction blocker {idle[0].describe()}")
    return MdlDecision(MdlAction.KILL_OUR_DDL, wait.ddl.conn_id,
                       f"killing our DDL query (connection {wait.ddl.conn_id}) so the queued queries run; "
                       f"the migration fails cleanly and nothing was committed: {wait.describe()}")


def apply(server: Server, decision: MdlDecision) -> None:
    """Carry out a kill decision: `KILL QUERY` for our DDL, `KILL` (the connection) for an idle blocker."""
    if decision.action is MdlAction.KILL_OUR_DDL and decision.conn_id is not None:
        server.execute(f"KILL QUERY {int(decision.conn_id)}")
    elif decision.action is MdlAction.KILL_BLOCKER and decision.conn_id is not None:
        server.execute(f"KILL {int(decision.conn_id)}")


# --- whose DDL ------------------------------------------------------------------------------------------------------

def _client_host(host: str) -> str:
    """'10.0.0.5:41234' -> '10.0.0.5': the lock holder and the DDL are two connections of one migrator process."""
    return host.rsplit(":", 1)[0] if host.count(":") >= 1 and host.rsplit(":", 1)[1].isdigit() else host


def our_ddl_connections(threads: Sequence[Thread], lock_holder: int | None,
                        tables: frozenset[str] | None = None) -> frozenset[int]:
    """Pure: the DDL sessions that belong to the running migrator. Rails 6.1+ holds its migration lock on a connection
    of its own, so besides the lock holder this is DDL from the holder's user and client host, on the plan's tables
    (`tables`, lowercase; None = any table). No lock holder, nothing is ours: shipit never kills a DDL it cannot tie
    to the migrator."""
    by_id = {t.id: t for t in threads}
    holder = by_id.get(lock_holder) if lock_holder is not None else None
    if holder is None:
        return frozenset()
    ours = {holder.id}
    for ddl in find_ddl("", threads):
        t = by_id[ddl.conn_id]
        if (t.user == holder.user and _client_host(t.host) == _client_host(holder.host)
                and (tables is None or ddl.table.lower() in tables)):
            ours.add(ddl.conn_id)
    return frozenset(ours)


def migration_lock_holder(server: Server) -> int | None:
    """The connection holding Rails' migration lock (GET_LOCK 2053462845 * CRC32(database)), if any."""
    row = server.query_one("SELECT IS_USED_LOCK(%s) AS conn", (rails_lock_name(server.url.database),),
                           timeout=MONITOR_TIMEOUT)
    return int(row["conn"]) if row and row["conn"] is not None else None


def suggested_action(wait: MdlWait, ours: frozenset[int]) -> str:
    """Pure: what `shipit db status` says shipit would do (our DDL) or the person should do (anyone else's)."""
    if wait.ddl.conn_id in ours:
        return f"kill query {wait.ddl.conn_id} (our DDL)"
    if wait.blockers:
        return "end session " + ", ".join(str(b.conn_id) for b in wait.blockers)
    return f"find the session holding a lock on {wait.ddl.table} (not identified)"


@dataclasses.dataclass(frozen=True)
class GuardVerdict:
    """One poll of a running migration: the waits seen and what was decided for each."""

    waits: tuple[MdlWait, ...] = ()
    decisions: tuple[MdlDecision, ...] = ()

    @property
    def acted(self) -> tuple[MdlWait, MdlDecision] | None:
        return next(((w, d) for w, d in zip(self.waits, self.decisions)
                     if d.action in (MdlAction.KILL_OUR_DDL, MdlAction.KILL_BLOCKER)), None)


@dataclasses.dataclass
class MigrationGuard:
    """Watches the primary while our migration runs; one processlist read per poll when nothing waits."""

    server: Server
    policy: MdlPolicy
    tables: frozenset[str] | None = None
    watchdog: MdlWatchdog | None = None

    def poll(self) -> GuardVerdict:
        """Decide for every MDL wait now, and carry out the first kill decision (at most one kill per poll)."""
        watchdog = self.watchdog = self.watchdog or MdlWatchdog(self.server)
        threads = read_threads(self.server)
        waits = watchdog.check(threads)
        if not waits:
            return GuardVerdict()
        ours = our_ddl_connections(threads, migration_lock_holder(self.server), self.tables)
        verdict = GuardVerdict(waits, tuple(decide(w, self.policy, ours) for w in waits))
        if verdict.acted:
            apply(self.server, verdict.acted[1])
        return verdict
