"""Schema drift: what a commit's schema file declares against the live schema, on every server.

Code is written against `db/schema.rb` (or `structure.sql`) at its commit; a migration that failed, ran outside
shipit, was edited after it ran, or never reached a replica leaves the live schema short of it, and the code then runs
without its index. Each drift kind knows whether code can depend on it (missing objects, pending migrations) or not
(objects the file does not declare). Reading is two queries per server (information_schema, and schema_migrations by
primary key); the comparison and the release gate are pure.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence

from shipit.core.errors import ShipitError
from shipit.db.connection import QueryError, Server, Servers
from shipit.db.health import MONITOR_TIMEOUT
from shipit.db.migration_state import SchemaSnapshot, read_schema
from shipit.planning.schema_file import SchemaModel, Table


class DriftKind(str, enum.Enum):
    MISSING_TABLE = "missing_table"
    MISSING_COLUMN = "missing_column"
    MISSING_INDEX = "missing_index"
    INDEX_DIFFERS = "index_differs"
    INDEX_HIDDEN = "index_hidden"
    INDEX_OTHER_NAME = "index_other_name"
    MISSING_FOREIGN_KEY = "missing_foreign_key"
    EXTRA_INDEX = "extra_index"
    EXTRA_FOREIGN_KEY = "extra_foreign_key"
    PENDING_VERSION = "pending_version"


@dataclasses.dataclass(frozen=True)
class _Rule:
    depends: bool  # code written against the schema file can rely on what this drift takes away
    message: str


_RULES: dict[DriftKind, _Rule] = {
    DriftKind.MISSING_TABLE: _Rule(True, "table {table} is missing"),
    DriftKind.MISSING_COLUMN: _Rule(True, "column {table}.{name} is missing"),
    DriftKind.MISSING_INDEX: _Rule(True, "index {name} on {table} ({expected}) is missing"),
    DriftKind.INDEX_DIFFERS: _Rule(True, "index {name} on {table} is ({found}), the schema file says ({expected})"),
    DriftKind.INDEX_HIDDEN: _Rule(True, "index {name} on {table} ({expected}) exists but is invisible/ignored"),
    DriftKind.INDEX_OTHER_NAME: _Rule(False, "index {name} on {table} ({expected}) exists as {found}"),
    DriftKind.MISSING_FOREIGN_KEY: _Rule(True, "foreign key {name} on {table} ({expected}) is missing"),
    DriftKind.EXTRA_INDEX: _Rule(False, "index {name} on {table} ({found}) is not in the schema file"),
    DriftKind.EXTRA_FOREIGN_KEY: _Rule(False, "foreign key {name} on {table} ({found}) is not in the schema file"),
    DriftKind.PENDING_VERSION: _Rule(True, "migration {name} is in the commit but not in schema_migrations"),
}


@dataclasses.dataclass(frozen=True)
class Drift:
    server: str
    kind: DriftKind
    table: str
    name: str
    expected: tuple[str, ...] = ()
    found: tuple[str, ...] = ()

    @property
    def depends(self) -> bool:
        return _RULES[self.kind].depends

    def describe(self) -> str:
        return _RULES[self.kind].message.format(table=self.table, name=self.name, expected=", ".join(self.expected),
                                                found=", ".join(self.found))

    def to_json(self) -> dict:
        return {"server": self.server, "kind": self.kind.value, "table": self.table, "name": self.name,
                "expected": list(self.expected), "found": list(self.found), "code_depends": self.depends,
                "message": self.describe()}


def _table_drift(server: str, t: Table, live: SchemaSnapshot) -> list[Drift]:
    if t.name not in live.tables:
        return [Drift(server, DriftKind.MISSING_TABLE, t.name, t.name)]
    out = [Drift(server, DriftKind.MISSING_COLUMN, t.name, c.name) for c in t.columns
           if (t.name, c.name) not in live.columns]
    live_indexes = {name: cols for (table, name), (cols, _) in live.indexes.items() if table == t.name and name != "primary"}
    for ix in t.indexes:
        found = live_indexes.get(ix.name)
        if found is None:
            same = next((n for n, cols in live_indexes.items() if cols == ix.columns), None)
            kind = DriftKind.INDEX_OTHER_NAME if same else DriftKind.MISSING_INDEX
            out.append(Drift(server, kind, t.name, ix.name, ix.columns, (same,) if same else ()))
        elif found != ix.columns:
            out.append(Drift(server, DriftKind.INDEX_DIFFERS, t.name, ix.name, ix.columns, found))
        elif (t.name, ix.name) in live.hidden:
            out.append(Drift(server, DriftKind.INDEX_HIDDEN, t.name, ix.name, ix.columns))
    names, shapes = {ix.name for ix in t.indexes}, {ix.columns for ix in t.indexes}
    fk_columns = {fk.columns for fk in t.foreign_keys}  # InnoDB adds an index for a key that has none: not drift
    out += [Drift(server, DriftKind.EXTRA_INDEX, t.name, n, (), cols) for n, cols in sorted(live_indexes.items())
            if n not in names and cols not in shapes and cols not in fk_columns]
    live_fks = {name: cols for (table, name), cols in live.foreign_keys.items() if table == t.name}
    for fk in t.foreign_keys:
        if fk.name not in live_fks and fk.columns not in live_fks.values():
            out.append(Drift(server, DriftKind.MISSING_FOREIGN_KEY, t.name, fk.name, fk.columns))
    out += [Drift(server, DriftKind.EXTRA_FOREIGN_KEY, t.name, n, (), cols) for n, cols in sorted(live_fks.items())
            if n not in {fk.name for fk in t.foreign_keys} and cols not in fk_columns]
    return out


def compare_schema(model: SchemaModel, live: SchemaSnapshot, *, server: str,
                   tables: Iterable[str] | None = None) -> tuple[Drift, ...]:
    """Pure: the model's tables (or only `tables`) against one server's snapshot."""
    wanted = None if tables is None else {t.lower() for t in tables}
    return tuple(d for t in model.tables if wanted is None or t.name in wanted for d in _table_drift(server, t, live))


def pending_versions(model: SchemaModel, recorded: Iterable[str], *, server: str) -> tuple[Drift, ...]:
    """Pure: the commit's migration versions that schema_migrations does not list."""
    done = set(recorded)
    return tuple(Drift(server, DriftKind.PENDING_VERSION, "schema_migrations", v) for v in model.migrations
                 if v not in done)


@dataclasses.dataclass(frozen=True)
class GateVerdict:
    ok: bool
    message: str
    missing: tuple[Drift, ...]


def schema_gate(model: SchemaModel, touched: Iterable[str], live: Mapping[str, SchemaSnapshot]) -> GateVerdict:
    """Pure release gate: every object the target commit's schema file declares for the tables the release touches
    must exist on every server (name -> snapshot) before the code rolls out."""
    tables = sorted({t.lower() for t in touched})
    missing = tuple(d for server, snap in live.items() for d in compare_schema(model, snap, server=server, tables=tables)
                    if d.depends)
    if not missing:
        return GateVerdict(True, f"{model.source}: the objects declared for {', '.join(tables) or 'no table'} exist "
                                 f"on {', '.join(live) or 'no server'}", ())
    lines = [f"{d.server}: {d.describe()}" for d in missing]
    return GateVerdict(False, f"the code expects what {model.source} declares, but " + "; ".join(lines) +
                       ". Next: apply the missing migration (or wait for the replica), then release again", missing)


# --- reading -------------------------------------------------------------------------------------------------------

def recorded_versions(server: Server, versions: Sequence[str]) -> frozenset[str]:
    """Which of `versions` schema_migrations lists: primary-key lookups, never a scan; empty without the table."""
    if not versions:
        return frozenset()
    marks = ", ".join(["%s"] * len(versions))
    try:
        rows = server.query(f"SELECT version FROM schema_migrations WHERE version IN ({marks})", list(versions),
                            timeout=MONITOR_TIMEOUT)
    except QueryError as e:
        if e.code == 1146:
            return frozenset()
        raise
    return frozenset(str(r["version"]) for r in rows)


@dataclasses.dataclass(frozen=True)
class ServerDrift:
    server: str
    drifts: tuple[Drift, ...] = ()
    error: str = ""  # why the server could not be read


@dataclasses.dataclass(frozen=True)
class DriftReport:
    commit: str
    source: str
    servers: tuple[ServerDrift, ...]

    @property
    def drifts(self) -> tuple[Drift, ...]:
        return tuple(d for s in self.servers for d in s.drifts)

    @property
    def blocking(self) -> tuple[Drift, ...]:
        return tuple(d for d in self.drifts if d.depends)

    def to_json(self) -> dict:
        return {"commit": self.commit, "schema_file": self.source, "ok": not self.blocking,
                "servers": [{"name": s.server, "error": s.error or None,
                             "drift": [d.to_json() for d in s.drifts]} for s in self.servers]}

    def render_text(self) -> str:
        lines = [f"Schema drift against {self.source} at {self.commit[:12]}:"]
        for s in self.servers:
            if s.error:
                lines.append(f"  {s.server}: cannot be read: {s.error}")
            elif not s.drifts:
                lines.append(f"  {s.server}: matches")
            for d in s.drifts:
                lines.append(f"  {s.server}: {d.describe()}" + ("" if d.depends else " (the code does not depend on it)"))
        return "\n".join(lines)


def read_server_drift(server: Server, model: SchemaModel) -> ServerDrift:
    try:
        live = read_schema(server, [t.name for t in model.tables])
        recorded = recorded_versions(server, model.migrations)
    except ShipitError as e:
        return ServerDrift(server.name, error=str(e))
    drifts = pending_versions(model, recorded, server=server.name) + compare_schema(model, live, server=server.name)
    return ServerDrift(server.name, drifts)


def check_schema_gate(servers: Servers, model: SchemaModel | None, touched: Iterable[str]) -> GateVerdict:
    """The release gate's adapter: the touched tables read on every server (one query each), judged by schema_gate.
    A commit without a schema file passes with a note; a server that cannot be read fails the gate."""
    if model is None:
        return GateVerdict(True, "the target commit has no db/schema.rb or db/structure.sql: nothing to check", ())
    tables = sorted({t.lower() for t in touched})
    live, unread = {}, []
    for s in servers.all():
        try:
            live[s.name] = read_schema(s, tables)
        except ShipitError as e:
            unread.append(f"{s.name}: {e}")
    if unread:
        return GateVerdict(False, "the schema check could not read " + "; ".join(unread), ())
    return schema_gate(model, tables, live)


def read_drift(servers: Servers, model: SchemaModel, commit: str) -> DriftReport:
    return DriftReport(commit, model.source, tuple(read_server_drift(s, model) for s in servers.all()))
