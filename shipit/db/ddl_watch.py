"""Which DDL is running where, how far along it is, and when it will finish.

`rails db:migrate` prints nothing while an index builds for ten minutes, and replicas replay the ALTER only after the
primary commits it. Each poll reads the processlist of one server (the migrator's statement, any ALTER / CREATE
INDEX, gh-ost / pt-osc / LHM copy work, a replica's SQL thread replaying an ALTER) and, only when DDL is running, one
progress source, most precise first: performance_schema stage events, MariaDB's
`Innodb_onlineddl_pct_progress` (only when exactly one DDL runs, it is server-global), the processlist
STAGE/MAX_STAGE/PROGRESS columns (table copies). A tool's copy chunk instead has its key range read against the
table's MIN/MAX key (shipit.db.osc_copy) in place of the stages. So a poll costs one query when idle and two
during DDL (three only when a tool copies beside a server-side ALTER).
"""

from __future__ import annotations

import dataclasses
import enum
import re
import time
from collections.abc import Callable, Iterable, Sequence

from shipit.db.connection import Flavour, QueryError, Server, Servers
from shipit.db.health import MONITOR_TIMEOUT, Thread, read_status, read_threads
from shipit.db.osc_copy import copied_pct, parse_copy_chunk
from shipit.core.errors import ShipitError

ETA_WINDOW_S = 60.0  # rate over the last minute of samples
ETA_MIN_PCT = 1.0  # like gh-ost: no ETA before 1% progress
COPY_GRACE_S = 30.0  # a tool's copy is invisible between chunks: its samples are kept this long for the ETA
_COPY_KEY = -1  # the connection id in a tool copy's history key: one history per table across its chunks

_NAME = r"(?:`(?:[^`]|``)+`|[\w$]+)"
_QNAME = rf"({_NAME})(?:\s*\.\s*({_NAME}))?"
_LEADING_COMMENTS = re.compile(r"\A(?:\s+|/\*.*?\*/|(?:--|#)[^\n]*\n)*", re.DOTALL)
_ALTER = re.compile(rf"ALTER\s+(?:ONLINE\s+)?(?:IGNORE\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?{_QNAME}", re.IGNORECASE)
_CREATE_INDEX = re.compile(
    rf"CREATE\s+(?:OR\s+REPLACE\s+)?(?:ONLINE\s+)?(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"{_NAME}\s+(?:USING\s+\w+\s+)?ON\s+{_QNAME}", re.IGNORECASE)
_DROP_INDEX = re.compile(rf"DROP\s+INDEX\s+(?:IF\s+EXISTS\s+)?{_NAME}\s+ON\s+{_QNAME}", re.IGNORECASE)
_RENAME = re.compile(rf"RENAME\s+TABLE\s+{_QNAME}", re.IGNORECASE)
_OPTIMIZE = re.compile(rf"OPTIMIZE\s+(?:NO_WRITE_TO_BINLOG\s+|LOCAL\s+)?TABLE\s+{_QNAME}", re.IGNORECASE)
_GHOST = re.compile(r"/\*\s*gh-ost\b.*?\*/.*?`?_([\w$]+)_gho`?", re.IGNORECASE | re.DOTALL)
_PTOSC = re.compile(r"`?_+([\w$]+)_new`?.*pt-online-schema-change \d+ copy", re.IGNORECASE | re.DOTALL)
_LHM = re.compile(r"INSERT\s+IGNORE\s+INTO\s+(?:" + _NAME + r"\s*\.\s*)?`?lhmn_([\w$]+)`?", re.IGNORECASE)


class DdlKind(str, enum.Enum):
    ALTER_TABLE = "alter_table"
    CREATE_INDEX = "create_index"
    DROP_INDEX = "drop_index"
    RENAME_TABLE = "rename_table"
    OPTIMIZE_TABLE = "optimize_table"
    GH_OST = "gh-ost"
    PT_OSC = "pt-online-schema-change"
    LHM = "lhm"


class ProgressSource(str, enum.Enum):
    PERFORMANCE_SCHEMA = "performance_schema"
    ONLINEDDL_STATUS = "innodb_onlineddl_pct_progress"
    PROCESSLIST = "processlist"
    COPY_RANGE = "copy_range"  # a tool's copy chunk's key range against the table's MIN/MAX key
    NONE = "none"


def _unquote(name: str) -> str:
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


@dataclasses.dataclass(frozen=True)
class DdlTarget:
    kind: DdlKind
    schema: str | None
    table: str


def parse_ddl(statement: str) -> DdlTarget | None:
    """The DDL kind and table of a processlist statement, or None when it is not schema-change work."""
    if not statement:
        return None
    for pattern, kind in ((_GHOST, DdlKind.GH_OST), (_PTOSC, DdlKind.PT_OSC), (_LHM, DdlKind.LHM)):
        m = pattern.search(statement)
        if m:
            return DdlTarget(kind, None, m.group(1))
    body = statement[_LEADING_COMMENTS.match(statement).end():]
    for pattern, kind in ((_ALTER, DdlKind.ALTER_TABLE), (_CREATE_INDEX, DdlKind.CREATE_INDEX),
                          (_DROP_INDEX, DdlKind.DROP_INDEX), (_RENAME, DdlKind.RENAME_TABLE),
                          (_OPTIMIZE, DdlKind.OPTIMIZE_TABLE)):
        m = pattern.match(body)
        if m:
            first, second = m.group(1), m.group(2)
            if second:
                return DdlTarget(kind, _unquote(first), _unquote(second))
            return DdlTarget(kind, None, _unquote(first))
    return None


@dataclasses.dataclass(frozen=True)
class RunningDdl:
    """A schema change seen in one server's processlist."""

    server: str
    conn_id: int
    kind: DdlKind
    schema: str | None
    table: str
    statement: str
    state: str
    elapsed_s: float
    replicated: bool  # a replica's SQL thread replaying the primary's DDL
    stage: int = 0
    max_stage: int = 0
    stage_progress: float = 0.0

    @property
    def waiting_for_mdl(self) -> bool:
        return self.state == "Waiting for table metadata lock"

    @property
    def is_tool_copy(self) -> bool:
        return self.kind in (DdlKind.GH_OST, DdlKind.PT_OSC, DdlKind.LHM)

    @property
    def key(self) -> tuple[str, int, str]:
        if self.is_tool_copy:  # each chunk is a new statement, often on another connection
            return (self.server, _COPY_KEY, f"{self.kind.value} {self.schema}.{self.table}")
        return (self.server, self.conn_id, self.statement)


def find_ddl(server: str, threads: Iterable[Thread]) -> tuple[RunningDdl, ...]:
    """Pure: the DDL statements among a server's threads."""
    out = []
    for t in threads:
        target = parse_ddl(t.info)
        if target is None or t.command in ("Sleep", "Killed"):
            continue
        out.append(RunningDdl(
            server=server, conn_id=t.id, kind=target.kind, schema=target.schema or t.db, table=target.table,
            statement=t.info, state=t.state, elapsed_s=t.time_s, replicated=t.replication,
            stage=t.stage, max_stage=t.max_stage, stage_progress=t.progress,
        ))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class StageReading:
    """One performance_schema stage event for a DDL thread."""

    conn_id: int
    stage: str
    work_completed: int
    work_estimated: int

    @property
    def pct(self) -> float | None:
        if self.work_estimated <= 0:
            return None
        return min(100.0, 100.0 * self.work_completed / self.work_estimated)


_PHASES = (
    ("read PK", "scanning rows"),
    ("merge sort", "sorting"),
    ("(insert)", "writing index"),
    ("log apply", "applying concurrent changes"),
    ("(flush)", "flushing"),
    ("(end)", "committing"),
    ("copy to tmp table", "copying rows"),
)


def phase_name(stage: str | None, state: str) -> str:
    """User text for where a DDL is; a metadata-lock wait beats any stage."""
    if state == "Waiting for table metadata lock":
        return "waiting for metadata lock"
    for needle, text in _PHASES:
        if stage and needle in stage:
            return text
    lowered = state.lower()
    if "commit" in lowered:
        return "committing"
    if "copy to tmp table" in lowered:
        return "copying rows"
    if "enabling keys" in lowered:  # a copying ALTER's second stage: the new table's secondary indexes are built
        return "building indexes"
    return state or "running"


@dataclasses.dataclass(frozen=True)
class ProgressReading:
    pct: float | None
    source: ProgressSource
    phase: str


def pick_progress(ddl: RunningDdl, stage: StageReading | None, onlineddl_pct: float | None,
                  concurrent_ddl: int, copied: float | None = None) -> ProgressReading:
    """Pure: the best progress source for one DDL, most precise first (stage counters, the server-wide online-DDL
    percentage when this is the only DDL, the processlist stages); none while it waits for a metadata lock. A
    tool's copy chunk has only `copied`: its key range against the table's (see copy_progress)."""
    phase = phase_name(stage.stage if stage else None, ddl.state)
    if ddl.waiting_for_mdl:
        return ProgressReading(None, ProgressSource.NONE, phase)
    if ddl.is_tool_copy:
        chunk = parse_copy_chunk(ddl.statement)
        upto = f" up to {chunk.column} {chunk.upper}" if chunk else ""
        if copied is None:
            return ProgressReading(None, ProgressSource.NONE, f"copying rows{upto}")
        return ProgressReading(round(copied, 2), ProgressSource.COPY_RANGE, f"copying rows{upto}")
    if stage is not None and stage.pct is not None:
        return ProgressReading(round(stage.pct, 2), ProgressSource.PERFORMANCE_SCHEMA, phase)
    if onlineddl_pct is not None and onlineddl_pct > 0 and concurrent_ddl == 1 and ddl.kind in (
            DdlKind.ALTER_TABLE, DdlKind.CREATE_INDEX):
        return ProgressReading(round(onlineddl_pct, 2), ProgressSource.ONLINEDDL_STATUS, phase)
    if ddl.max_stage > 0:
        overall = 100.0 * ((ddl.stage - 1) + ddl.stage_progress / 100.0) / ddl.max_stage
        return ProgressReading(round(max(0.0, min(100.0, overall)), 2), ProgressSource.PROCESSLIST, phase)
    return ProgressReading(None, ProgressSource.NONE, phase)


def estimate_eta(samples: Sequence[tuple[float, float]], *, window: float = ETA_WINDOW_S) -> float | None:
    """Pure: seconds left from (monotonic time, pct) samples, using the rate over the last `window` seconds.

    Samples after the last drop in pct only (P_S may revise its estimate); None before 1%, or without movement.
    """
    if not samples:
        return None
    start = 0
    for i in range(1, len(samples)):
        if samples[i][1] < samples[i - 1][1]:
            start = i
    recent = [s for s in samples[start:] if s[0] >= samples[-1][0] - window]
    t_last, p_last = recent[-1]
    if p_last < ETA_MIN_PCT or len(recent) < 2:
        return None
    t_first, p_first = recent[0]
    if t_last <= t_first or p_last <= p_first:
        return None
    rate = (p_last - p_first) / (t_last - t_first)
    return max(0.0, (100.0 - p_last) / rate)


@dataclasses.dataclass(frozen=True)
class DdlProgress:
    ddl: RunningDdl
    phase: str
    pct: float | None
    source: ProgressSource
    eta_s: float | None

    def describe(self) -> str:
        where = f"{self.ddl.server}{' (replaying)' if self.ddl.replicated else ''}"
        pct = f"{self.pct:.1f}%" if self.pct is not None else "progress unknown"
        eta = f", about {self.eta_s:.0f}s left" if self.eta_s is not None else ""
        table = f"{self.ddl.schema}.{self.ddl.table}" if self.ddl.schema else self.ddl.table
        return (f"{where}: {self.ddl.kind.value} on {table}: {self.phase}, {pct}{eta} "
                f"(running {self.ddl.elapsed_s:.0f}s, connection {self.ddl.conn_id})")


_STAGES_SQL = (
    "SELECT t.PROCESSLIST_ID AS conn_id, s.EVENT_NAME AS stage, s.WORK_COMPLETED AS done, s.WORK_ESTIMATED AS est "
    "FROM performance_schema.events_stages_current AS s "
    "JOIN performance_schema.threads AS t ON t.THREAD_ID = s.THREAD_ID "
    "WHERE s.EVENT_NAME LIKE 'stage/innodb/alter%' OR s.EVENT_NAME = 'stage/sql/copy to tmp table'"
)


# MariaDB's server-global InnoDB counter rides along in the same statement: one progress query per poll.
_ONLINEDDL_ROW = "Innodb_onlineddl_pct_progress"
_ONLINEDDL_UNION = (
    f" UNION ALL SELECT NULL, '{_ONLINEDDL_ROW}', VARIABLE_VALUE, NULL FROM information_schema.GLOBAL_STATUS "
    f"WHERE VARIABLE_NAME = '{_ONLINEDDL_ROW.upper()}'"
)
_NO_P_S_ACCESS = frozenset({1142, 1044, 1227})  # no SELECT on performance_schema


def parse_progress_rows(rows: Sequence[dict]) -> tuple[dict[int, StageReading], float | None]:
    """Pure: stage readings by connection, and MariaDB's online-DDL percentage (stored x100) if present."""
    stages: dict[int, StageReading] = {}
    onlineddl = None
    for r in rows:
        if r["conn_id"] is None:
            if r["stage"] == _ONLINEDDL_ROW and r["done"]:
                onlineddl = float(r["done"]) / 100.0
            continue
        stages[int(r["conn_id"])] = StageReading(int(r["conn_id"]), r["stage"], int(r["done"] or 0),
                                                 int(r["est"] or 0))
    return stages, onlineddl


def copy_progress(server: Server, ddl: Sequence[RunningDdl]) -> dict[int, float]:
    """Per connection: the share a tool's copy chunk has reached, from one MIN/MAX read of the original table's key
    per table (index dives); a table that vanished at the swap or a key that is not one integer gives none."""
    out: dict[int, float] = {}
    bounds: dict[tuple[str, str, str], tuple[int | None, int | None]] = {}
    for d in ddl:
        chunk = parse_copy_chunk(d.statement) if d.is_tool_copy else None
        schema = (chunk.schema if chunk else None) or d.schema
        if chunk is None or not schema:
            continue
        key = (schema, chunk.table, chunk.column)
        if key not in bounds:
            try:
                row = server.query_one(chunk.bounds_sql(schema), timeout=MONITOR_TIMEOUT) or {}
            except QueryError:
                row = {}
            bounds[key] = (_int_or_none(row.get("lo")), _int_or_none(row.get("hi")))
        pct = copied_pct(chunk, *bounds[key])
        if pct is not None:
            out[d.conn_id] = pct
    return out


def _int_or_none(value) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


class DdlWatcher:
    """Polls the servers for running DDL and keeps each statement's progress history for its ETA."""

    def __init__(self, servers: Servers):
        self.servers = servers
        self._p_s_denied: set[str] = set()  # servers where the monitoring user cannot read performance_schema
        self._history: dict[tuple[str, int, str], list[tuple[float, float]]] = {}

    def _server_ddl(self, server: Server, threads: Sequence[Thread] | None = None,
                    ) -> tuple[tuple[RunningDdl, ...], dict[int, StageReading], float | None]:
        """The processlist, and only while DDL runs one more query: P_S stages (empty when P_S or its consumer is
        off) with MariaDB's InnoDB counter in the same statement."""
        ddl = find_ddl(server.name, read_threads(server) if threads is None else threads)
        if not ddl or all(d.is_tool_copy for d in ddl):  # a tool's copy has no server-side stages
            return ddl, {}, None
        mariadb = server.flavour is Flavour.MARIADB
        if server.name not in self._p_s_denied:
            try:
                rows = server.query(_STAGES_SQL + (_ONLINEDDL_UNION if mariadb else ""), timeout=MONITOR_TIMEOUT)
            except QueryError as e:
                if e.code not in _NO_P_S_ACCESS:
                    raise
                self._p_s_denied.add(server.name)
            else:
                return (ddl, *parse_progress_rows(rows))
        if mariadb:
            value = read_status(server, (_ONLINEDDL_ROW,)).get(_ONLINEDDL_ROW)
            return ddl, {}, float(value) / 100.0 if value else None
        return ddl, {}, None

    def poll(self, now: float | None = None, *, threads: dict[str, Sequence[Thread]] | None = None,
             ) -> tuple[DdlProgress, ...]:
        """One reading of every server: at most two queries per server, one fewer where `threads` already holds its
        processlist (read by the caller in the same poll); servers missing from a given `threads` are skipped."""
        out: list[DdlProgress] = []
        seen = set()
        polled = set()
        for server in self.servers.all():
            if threads is not None and server.name not in threads:
                continue
            polled.add(server.name)
            ddl, stages, onlineddl = self._server_ddl(server, None if threads is None else threads[server.name])
            copied = copy_progress(server, ddl) if any(d.is_tool_copy for d in ddl) else {}
            t = time.monotonic() if now is None else now
            for d in ddl:
                reading = pick_progress(d, stages.get(d.conn_id), onlineddl, len(ddl), copied.get(d.conn_id))
                history = self._history.setdefault(d.key, [])
                if reading.pct is not None:
                    history.append((t, reading.pct))
                    del history[:-120]
                seen.add(d.key)
                out.append(DdlProgress(d, reading.phase, reading.pct, reading.source, estimate_eta(history)))
        t = time.monotonic() if now is None else now
        for key in [k for k in self._history if k not in seen and k[0] in polled]:
            history = self._history[key]
            if key[1] == _COPY_KEY and history and t - history[-1][0] < COPY_GRACE_S:
                continue  # a tool between two chunks
            del self._history[key]  # finished: a skipped server keeps its history for the next poll
        return tuple(out)

    def wait_idle(self, *, tables: Iterable[str] | None = None, timeout: float, interval: float = 1.0,
                  on_progress: Callable[[tuple[DdlProgress, ...]], None] | None = None) -> tuple[DdlProgress, ...]:
        """Poll until no DDL on the app's database (on `tables`, if given) runs anywhere; returns the last readings.

        Raises ShipitError naming what is still running when `timeout` passes.
        """
        wanted = {t.lower() for t in tables} if tables is not None else None
        ours = {s.name: s.url.database.lower() for s in self.servers.all()}
        deadline = time.monotonic() + timeout
        last: tuple[DdlProgress, ...] = ()
        while True:
            running = tuple(p for p in self.poll() if (p.ddl.schema or "").lower() == ours[p.ddl.server]
                            and (wanted is None or p.ddl.table.lower() in wanted))
            if on_progress is not None and running:
                on_progress(running)
            if not running:
                return last
            last = running
            if time.monotonic() + interval > deadline:
                raise ShipitError(f"DDL still running after {timeout:g}s: "
                                  + "; ".join(p.describe() for p in running))
            time.sleep(interval)
