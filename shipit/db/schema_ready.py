"""The schema-ready gate: the new code may roll out only when what it needs exists everywhere it reads (doc §3.4).

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

from shipit.db.connection import Flavour, Role, Server, Servers
from shipit.db.ddl_watch import RunningDdl, find_ddl
from shipit.db.health import MONITOR_TIMEOUT, ReplicaLag, read_replica_lag, read_threads
from shipit.db.migration_state import ObjectState, compare, read_schema
from shipit.errors import ShipitError


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


@dataclasses.dataclass(frozen=True)
class Readiness:
    ready: bool
    waiting_for: tuple[str, ...]


def decide_ready(snapshots: Sequence[ServerSchemaState], *, replica_lag_max: float) -> Readiness:
    """Pure: ready only when every server has everything, visible, with no DDL left and replicas caught up."""
    waiting: list[str] = []
    for s in snapshots:
        if s.error:
            waiting.append(f"{s.server}: cannot read it ({s.error})")
            continue
        waiting += [f"{s.server}: {m} missing" for m in s.missing]
        waiting += [f"{s.server}: index {h} exists but is invisible/ignored" for h in s.hidden]
        waiting += [f"{s.server}: {d.kind.value} on {d.table} still running "
                    f"({'replaying, ' if d.replicated else ''}{d.state or 'running'}, {d.elapsed_s:.0f}s)"
                    for d in s.ddl]
        if s.role is Role.REPLICA and (s.lag is None or not s.lag.within(replica_lag_max)):
            lag = s.lag.describe() if s.lag else f"{s.server}: lag unknown"
            waiting.append(f"replica {lag} (limit {replica_lag_max:g}s)")
    if not snapshots:
        waiting.append("no servers to check")
    return Readiness(not waiting, tuple(waiting))


def _hidden_indexes(server: Server, tables: Sequence[str]) -> set[tuple[str, str]]:
    if not tables:
        return set()
    column = "IGNORED" if server.flavour is Flavour.MARIADB else "IS_VISIBLE"
    if server.flavour is Flavour.MARIADB and server.version < (10, 6, 0):
        return set()  # no ignored indexes before 10.6
    hidden_value = "YES" if column == "IGNORED" else "NO"
    marks = ", ".join(["%s"] * len(tables))
    rows = server.query(
        f"SELECT DISTINCT TABLE_NAME AS t, INDEX_NAME AS i FROM information_schema.STATISTICS "
        f"WHERE TABLE_SCHEMA = DATABASE() AND LOWER(TABLE_NAME) IN ({marks}) AND {column} = %s",
        [*tables, hidden_value], timeout=MONITOR_TIMEOUT)
    return {(r["t"].lower(), r["i"].lower()) for r in rows}


def read_schema_state(server: Server, expected: Sequence[Any]) -> ServerSchemaState:
    """One server's state for the plan's `ExpectedObject`s (errors become part of the state, never raised)."""
    tables = sorted({e.table.lower() for e in expected})
    try:
        results = compare(expected, read_schema(server, tables))
        hidden = _hidden_indexes(server, tables)
        ddl = tuple(d for d in find_ddl(server.name, read_threads(server))
                    if d.table.lower() in tables and (d.schema or "").lower() == server.url.database.lower())
        lag = read_replica_lag(server) if server.role is Role.REPLICA else None
    except ShipitError as e:
        return ServerSchemaState(server.name, server.role, error=str(e))
    missing = tuple(r.describe() for r in results if r.state is not ObjectState.APPLIED)
    shown_hidden = tuple(f"{i} on {t}" for (t, i) in sorted(hidden)
                         if any(e.name.lower() == i and e.table.lower() == t for e in expected))
    return ServerSchemaState(server.name, server.role, missing, shown_hidden, ddl, lag)


def wait_until_ready(
    servers: Servers,
    expected: Sequence[Any],
    timeout: float,
    on_progress: Callable[[Readiness], None] | None = None,
    *,
    replica_lag_max: float,
    interval: float = 2.0,
    consecutive: int = 3,
) -> Readiness:
    """Poll every server until `decide_ready` holds `consecutive` times in a row (lag must stay down, doc §5.5).

    Raises ShipitError listing what is still missing when `timeout` passes.
    """
    deadline = time.monotonic() + timeout
    streak = 0
    while True:
        readiness = decide_ready([read_schema_state(s, expected) for s in servers.all()],
                                 replica_lag_max=replica_lag_max)
        if on_progress is not None:
            on_progress(readiness)
        streak = streak + 1 if readiness.ready else 0
        if streak >= consecutive:
            return readiness
        if time.monotonic() + interval > deadline:
            raise ShipitError(f"schema not ready after {timeout:g}s: " + "; ".join(readiness.waiting_for or
                                                                                  ("replica lag not yet stable",)))
        time.sleep(interval)
