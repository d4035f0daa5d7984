"""The schema-ready gate: the new code may roll out only when what it needs exists everywhere it reads.

A finished `rails db:migrate` is not enough: replicas replay the ALTER only after the primary commits it, so for about
one build duration the replicas the app reads from have no index and fall behind. Ready means every expected index,
foreign key and column exists (with its columns) and is visible on the primary and every replica, no DDL runs on the
affected tables anywhere, and every replica's lag is under `gates.replica_lag_max`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from shipit.db.connection import Role, Server, Servers
from shipit.db.ddl_watch import DdlProgress, DdlWatcher, RunningDdl, find_ddl
from shipit.db.health import ReplicaLag, Thread, read_replica_lag, read_threads
from shipit.db.migration_state import ObjectState, SchemaSnapshot, compare, read_schema
from shipit.core.errors import ShipitError


@dataclasses.dataclass(frozen=True)
class ServerSchemaState:
    """What one server shows for the expected objects, at one moment."""

    server: str
    role: Role
    missing: tuple[str, ...] = ()  # expected objects absent or with other columns
    hidden: tuple[str, ...] = ()  # indexes present but INVISIBLE (MySQL) / IGNORED (MariaDB)
    ddl: tuple[RunningDdl, ...] = ()  # DDL still running on an affected table
    lag: ReplicaLag | None = None
    error: str = ""  # the server could not be read
    deferred: bool = False  # a replica not read because the primary still runs DDL on an affected table


@dataclasses.dataclass(frozen=True)
class Readiness:
    ready: bool
    waiting_for: tuple[str, ...]
    progress: tuple[DdlProgress, ...] = ()  # DDL running on any server, read in the same poll
    lags: tuple[ReplicaLag, ...] = ()  # the replicas' lags read in this poll (the live view's catch-up bars)


def decide_ready(snapshots: Sequence[ServerSchemaState], *, replica_lag_max: float) -> Readiness:
    """Pure: ready only when every server has everything, visible, with no DDL left and replicas caught up.

    A replica replaying DDL on an affected table is reported by that DDL; its lag (which the replay causes) is
    judged once the replay is over."""
    waiting: list[str] = []
    for s in snapshots:
        if s.error:
            waiting.append(f"{s.server}: cannot read it ({s.error})")
            continue
        if s.deferred:
            waiting.append(f"{s.server}: waits for the primary's DDL to commit")
        waiting += [f"{s.server}: {m} missing" for m in s.missing]
        waiting += [f"{s.server}: index {h} exists but is invisible/ignored" for h in s.hidden]
        waiting += [f"{s.server}: {d.kind.value} on {d.table} still running "
                    f"({'replaying, ' if d.replicated else ''}{d.state or 'running'}, {d.elapsed_s:.0f}s)"
                    for d in s.ddl]
        if s.role is Role.REPLICA and not s.ddl and not s.deferred and (
                s.lag is None or not s.lag.within(replica_lag_max)):
            lag = s.lag.describe() if s.lag else f"{s.server}: lag unknown"
            waiting.append(f"replica {lag} (limit {replica_lag_max:g}s)")
    if not snapshots:
        waiting.append("no servers to check")
    return Readiness(not waiting, tuple(waiting), lags=tuple(s.lag for s in snapshots if s.lag is not None))


def affected_ddl(server: Server, threads: Sequence[Thread], tables: Sequence[str]) -> tuple[RunningDdl, ...]:
    """DDL in this server's processlist on one of `tables` of the app's database."""
    return tuple(d for d in find_ddl(server.name, threads)
                 if d.table.lower() in tables and (d.schema or "").lower() == server.url.database.lower())


def schema_state(server: Server, expected: Sequence[Any], snapshot: SchemaSnapshot, ddl: tuple[RunningDdl, ...],
                 lag: ReplicaLag | None) -> ServerSchemaState:
    """Pure: one server's readings against the plan's `ExpectedObject`s."""
    results = compare(expected, snapshot)
    missing = tuple(r.describe() for r in results if r.state is not ObjectState.APPLIED)
    hidden = tuple(f"{i} on {t}" for (t, i) in sorted(snapshot.hidden)
                   if any(e.name.lower() == i and e.table.lower() == t for e in expected))
    return ServerSchemaState(server.name, server.role, missing, hidden, ddl, lag)


def _tables(expected: Sequence[Any]) -> list[str]:
    return sorted({e.table.lower() for e in expected})


def read_schema_state(server: Server, expected: Sequence[Any]) -> ServerSchemaState:
    """One server's full state now: processlist, schema and (replicas) lag. Errors become part of the state."""
    tables = _tables(expected)
    try:
        ddl = affected_ddl(server, read_threads(server), tables)
        snapshot = read_schema(server, tables)
        lag = read_replica_lag(server) if server.role is Role.REPLICA else None
    except ShipitError as e:
        return ServerSchemaState(server.name, server.role, error=str(e))
    return schema_state(server, expected, snapshot, ddl, lag)


READY_RECHECK_S = 5.0  # a server already ready is re-read this often while the gate waits for another one


class SchemaWatch:
    """Polls every server for the gate at no more than two queries per server while DDL runs (monitoring must stay
    cheap through an hour-long build):

    - a server running DDL on an affected table: its processlist, then the progress query. The objects cannot appear
      before that DDL commits, which ends it, so its schema is read when the DDL is first seen and again after;
    - a replica while the primary still runs such DDL (it cannot have the change yet): its processlist only;
    - a server already ready while another is not: its processlist, with a full re-read every READY_RECHECK_S and
      on every poll once all servers were ready (the confirmations `wait_until_ready` counts);
    - otherwise its processlist, its schema in one statement and, for a replica, its lag.
    """

    def __init__(self, servers: Servers, expected: Sequence[Any], *, clock: Callable[[], float] = time.monotonic):
        self.servers = servers
        self.expected = tuple(expected)
        self.tables = _tables(expected)
        self.watcher = DdlWatcher(servers)
        self.clock = clock
        self._during_ddl: dict[str, ServerSchemaState] = {}
        self._ready: dict[str, tuple[float, ServerSchemaState]] = {}
        self._all_ready = False

    def _server(self, server: Server, threads: Sequence[Thread], primary_ddl: bool,
                replica_lag_max: float) -> ServerSchemaState:
        ddl = affected_ddl(server, threads, self.tables)
        if primary_ddl and server.role is Role.REPLICA:
            return ServerSchemaState(server.name, server.role, ddl=ddl, deferred=True)
        known = self._during_ddl.get(server.name)
        if ddl and known is not None:
            return dataclasses.replace(known, ddl=ddl)
        now = self.clock()
        ready = self._ready.get(server.name)
        if not ddl and ready is not None and not self._all_ready and now - ready[0] < READY_RECHECK_S:
            return ready[1]
        snapshot = read_schema(server, self.tables)
        lag = read_replica_lag(server) if server.role is Role.REPLICA and not ddl else None
        state = schema_state(server, self.expected, snapshot, ddl, lag)
        self._during_ddl.pop(server.name, None)
        self._ready.pop(server.name, None)
        if ddl:
            self._during_ddl[server.name] = state
        elif decide_ready([state], replica_lag_max=replica_lag_max).ready:
            self._ready[server.name] = (now, state)
        return state

    def poll(self, *, replica_lag_max: float) -> Readiness:
        states: list[ServerSchemaState] = []
        threads: dict[str, tuple[Thread, ...]] = {}
        for server in self.servers.all():  # the primary first
            primary_ddl = bool(states) and bool(states[0].ddl) and states[0].role is Role.PRIMARY
            try:
                threads[server.name] = read_threads(server)
                states.append(self._server(server, threads[server.name], primary_ddl, replica_lag_max))
            except ShipitError as e:
                threads.pop(server.name, None)
                self._during_ddl.pop(server.name, None)
                self._ready.pop(server.name, None)
                states.append(ServerSchemaState(server.name, server.role, error=str(e)))
        try:
            progress = self.watcher.poll(threads=threads)
        except ShipitError:
            progress = ()  # progress is for the user's eyes; the readiness above already holds
        readiness = decide_ready(states, replica_lag_max=replica_lag_max)
        self._all_ready = readiness.ready
        return dataclasses.replace(readiness, progress=progress)


def merge_readiness(parts: Sequence[Readiness]) -> Readiness:
    """Pure: several databases' readiness as one, ready only when each is."""
    return Readiness(all(p.ready for p in parts), tuple(w for p in parts for w in p.waiting_for),
                     tuple(d for p in parts for d in p.progress), tuple(lag for p in parts for lag in p.lags))


class SchemaWatches:
    """One `SchemaWatch` per database (its servers and the objects its migrations create), polled together."""

    def __init__(self, groups: Sequence[tuple[Servers, Sequence[Any]]], *, clock: Callable[[], float] = time.monotonic):
        self.watches = tuple(SchemaWatch(servers, expected, clock=clock) for servers, expected in groups)

    def poll(self, *, replica_lag_max: float) -> Readiness:
        return merge_readiness([w.poll(replica_lag_max=replica_lag_max) for w in self.watches])


def wait_until_ready(servers: Servers, expected: Sequence[Any], timeout: float,
                     on_progress: Callable[[Readiness], None] | None = None, **options: Any) -> Readiness:
    """One database's servers against its objects: `wait_until_each_ready` with one group."""
    return wait_until_each_ready([(servers, expected)], timeout, on_progress, **options)


def wait_until_each_ready(
    groups: Sequence[tuple[Servers, Sequence[Any]]],
    timeout: float,
    on_progress: Callable[[Readiness], None] | None = None,
    *,
    replica_lag_max: float,
    interval: float = 2.0,
    consecutive: int = 3,
    slow_interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Readiness:
    """Poll each database's servers against its own objects until `decide_ready` holds `consecutive` times in a row
    (lag must stay down).

    Polls every `interval` while confirming readiness; while DDL runs every `slow_interval` (or `interval` if
    longer), so a long build costs at most two queries per server per `slow_interval`; otherwise, while not ready,
    the pause doubles from `interval` up to that.
    `Readiness.progress` carries the running DDL for `on_progress`. Raises ShipitError listing what is still
    missing when `timeout` passes.
    """
    watch = SchemaWatches(groups, clock=clock) if len(groups) != 1 else SchemaWatch(*groups[0], clock=clock)
    deadline = clock() + timeout
    streak = 0
    backoff = interval
    while True:
        readiness = watch.poll(replica_lag_max=replica_lag_max)
        if on_progress is not None:
            on_progress(readiness)
        streak = streak + 1 if readiness.ready else 0
        if streak >= consecutive:
            return readiness
        slow = max(interval, slow_interval)
        if readiness.ready:
            delay = backoff = interval
        elif readiness.progress:  # a build is running: it will not end in the next moment
            delay = backoff = slow
        else:
            delay, backoff = backoff, min(backoff * 2, slow)
        if clock() + delay > deadline:
            raise ShipitError(f"schema not ready after {timeout:g}s: " + "; ".join(readiness.waiting_for or
                                                                                  ("replica lag not yet stable",)))
        sleep(delay)
