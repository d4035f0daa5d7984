"""Where the database stands relative to the plan: applied and pending versions, who is migrating right now, and
what a failed migration left behind.

MySQL and MariaDB DDL is not transactional: a migration that fails at statement k keeps statements 1..k-1 and does
not record its version, so a plain rerun stops at the first leftover ("Duplicate key name"). The partial-state report
compares everything the migration meant to do (objects it creates by name, columns and uniqueness; changes and
removals through shipit.db.operation_state) with information_schema and says exactly that, on one screen, and says
"cannot tell" rather than "complete" when a statement cannot be checked.
"""

from __future__ import annotations

import dataclasses
import enum
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shipit.db.connection import Flavour, QueryError, Server
from shipit.db.operation_state import ChangeResult, ChangeState, check_changes
from shipit.db.osc import HEARTBEAT_STALE_S, changelog_sql

RAILS_MIGRATOR_SALT = 2053462845


def rails_lock_name(database: str) -> str:
    """The GET_LOCK name `rails db:migrate` holds (Rails 6.1-8: MIGRATOR_SALT * Zlib.crc32(current_database))."""
    return str(RAILS_MIGRATOR_SALT * zlib.crc32(database.encode("utf-8")))


def _kind(value: Any) -> str:
    """Enum or string kind as its lowercase value (plan objects come from shipit.planning.classify as str enums)."""
    return str(getattr(value, "value", value)).lower()


# --- versions ------------------------------------------------------------------------------------------------------


def applied_versions(server: Server, *, timeout: float = 30.0) -> frozenset[str]:
    """Versions in schema_migrations; empty when the table does not exist yet (a fresh database)."""
    try:
        rows = server.query("SELECT version FROM schema_migrations", timeout=timeout)
    except QueryError as e:
        if e.code == 1146:
            return frozenset()
        raise
    return frozenset(str(r["version"]) for r in rows)


def pending_versions(applied: Iterable[str], planned: Sequence[str]) -> tuple[str, ...]:
    done = set(applied)
    return tuple(v for v in planned if v not in done)


@dataclasses.dataclass(frozen=True)
class UnplannedVersions:
    """Versions the migration Job recorded that the plan did not list: the image is not the commit's."""

    versions: tuple[str, ...]
    to_sha: str

    def what(self) -> str:
        return f"the migration Job applied migrations the plan did not list: {', '.join(self.versions)}"

    def why(self) -> str:
        return (f"the image does not match commit {self.to_sha[:12]}: it holds migrations that are not in the "
                "repository at that commit (an untracked file in the build, or an image built from another commit)")

    def next_step(self) -> str:
        return ("rebuild the image from the commit, or commit those migrations and release again; they are applied "
                "and recorded in schema_migrations, so review what they changed")


def unplanned_versions(before: Iterable[str] | Mapping[str, Iterable[str]],
                       after: Iterable[str] | Mapping[str, Iterable[str]], planned: Iterable[str], *,
                       to_sha: str) -> UnplannedVersions | None:
    """Pure: schema_migrations before and after the Job (one set, or one per database by name) against the versions
    it was meant to apply."""
    if isinstance(after, Mapping) and isinstance(before, Mapping):
        new = {v for db, versions in after.items() for v in set(versions) - set(before.get(db, ()))}
    else:
        new = set(after) - set(before)
    extra = tuple(sorted(new - set(planned)))
    return UnplannedVersions(extra, to_sha) if extra else None


# --- other migrators -----------------------------------------------------------------------------------------------


class MigratorKind(str, enum.Enum):
    RAILS = "rails"
    GH_OST = "gh-ost"
    PT_OSC = "pt-osc"
    LHM = "lhm"


@dataclasses.dataclass(frozen=True)
class MigratorActivity:
    kind: MigratorKind
    detail: str  # what was seen: a lock holder, a table, a trigger, a process
    live: bool  # a session is doing it now; False = leftover artefact
    connection_id: int | None = None
    table: str | None = None

    def describe(self) -> str:
        state = f"running (connection {self.connection_id})" if self.live and self.connection_id else (
            "running" if self.live else "leftover"
        )
        return f"{self.kind.value} {state}: {self.detail}"


def classify_artefact_table(name: str, comment: str = "") -> tuple[MigratorKind, str] | None:
    """(tool, original table) for a gh-ost/pt-osc/LHM working table name, else None."""
    lowered = name.lower()
    if comment == "gh-ost changelog" or (
        lowered.startswith("_") and lowered.rsplit("_", 1)[-1] in ("gho", "ghc", "ghk", "del") and len(lowered) > 5
    ):
        return MigratorKind.GH_OST, name.lstrip("_").rsplit("_", 1)[0]
    if lowered.startswith("_") and lowered.rsplit("_", 1)[-1] in ("new", "old") and len(lowered) > 5:
        return MigratorKind.PT_OSC, name.lstrip("_").rsplit("_", 1)[0]
    if lowered.startswith(("lhmn_", "lhma_")):
        return MigratorKind.LHM, name[5:]
    return None


def running_migrators(server: Server, *, exclude_connection: int | None = None) -> tuple[MigratorActivity, ...]:
    """Rails' migration lock holder, gh-ost/pt-osc/LHM tables and triggers, and their live processes."""
    found: list[MigratorActivity] = []
    lock = rails_lock_name(server.url.database)
    row = server.query_one("SELECT IS_USED_LOCK(%s) AS conn", (lock,))
    if row and row["conn"] is not None and int(row["conn"]) != exclude_connection:
        found.append(MigratorActivity(
            MigratorKind.RAILS, f"a rails db:migrate holds the migration lock {lock}", True, int(row["conn"])
        ))
    live_processes = server.query(
        "SELECT ID AS id, USER AS user, HOST AS host, TIME AS time, LEFT(INFO, 200) AS info "
        "FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND ("
        "INFO LIKE '%pt-online-schema-change%' OR INFO LIKE '%/* gh-ost%')"
    )
    tables = server.query(
        "SELECT TABLE_NAME AS name, TABLE_COMMENT AS comment FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND (TABLE_NAME REGEXP '^_.+_(gho|ghc|del|new|old)$' "
        "OR TABLE_COMMENT = 'gh-ost changelog' OR TABLE_NAME REGEXP '^lhm[an]_')"
    )
    live_kinds = set()
    for p in live_processes:
        info = p["info"] or ""
        kind = MigratorKind.PT_OSC if "pt-online-schema-change" in info else MigratorKind.GH_OST
        live_kinds.add(kind)
        found.append(MigratorActivity(kind, f"{info} for {p['time']}s", True, int(p["id"])))
    hits = [(t["name"], hit) for t in tables if (hit := classify_artefact_table(t["name"], t["comment"] or ""))]
    # a fresh heartbeat in a changelog makes every gh-ost table of that original table live, not only the changelog
    beating = {original.lower() for name, (kind, original) in hits if kind is MigratorKind.GH_OST
               and name.lower().endswith("_ghc") and _ghost_heartbeat_fresh(server, name)}
    for name, (kind, original) in hits:
        live = kind in live_kinds or (kind is MigratorKind.GH_OST and original.lower() in beating)
        found.append(MigratorActivity(kind, f"table {name}", live, table=original))
    for trig in server.query(
        "SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS tbl FROM information_schema.TRIGGERS "
        "WHERE TRIGGER_SCHEMA = DATABASE() AND (TRIGGER_NAME LIKE 'pt\\_osc\\_%' OR TRIGGER_NAME LIKE 'lhmt\\_%')"
    ):
        kind = MigratorKind.PT_OSC if trig["name"].lower().startswith("pt_osc") else MigratorKind.LHM
        # triggers copy every write into the shadow table: they are active whether or not the tool still runs
        found.append(MigratorActivity(kind, f"trigger {trig['name']} on {trig['tbl']}", True, table=trig["tbl"]))
    return tuple(found)


def _ghost_heartbeat_fresh(server: Server, changelog: str) -> bool:
    """gh-ost updates its changelog's heartbeat row every 100 ms while it runs (its replica connection is not
    distinguishable from a real replica's, so the heartbeat is the liveness signal). Judged as `db status` judges
    it, so both call the same run alive or dead at the same moment."""
    try:
        row = server.query_one(changelog_sql(changelog))
    except QueryError:
        return False
    return bool(row) and row["age"] is not None and float(row["age"]) <= HEARTBEAT_STALE_S


# --- partial state after a failed migration ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SchemaSnapshot:
    """The parts of information_schema the partial-state report needs; names lowercased (MySQL compares them so)."""

    tables: frozenset[str]
    columns: frozenset[tuple[str, str]]  # (table, column)
    indexes: dict[tuple[str, str], tuple[tuple[str, ...], bool]]  # (table, name) -> (columns, unique)
    foreign_keys: dict[tuple[str, str], tuple[str, ...]]  # (table, name) -> columns
    hidden: frozenset[tuple[str, str]] = frozenset()  # (table, index) INVISIBLE (MySQL 8) or IGNORED (MariaDB 10.6+)
    column_types: dict[tuple[str, str], tuple[str, bool]] = dataclasses.field(default_factory=dict)  # -> (type, NULL)


def _hidden_expr(flavour: Flavour, version: tuple[int, int, int]) -> str:
    if flavour is Flavour.MARIADB:
        return "IGNORED = 'YES'" if version >= (10, 6, 0) else "0"
    return "IS_VISIBLE = 'NO'" if version >= (8, 0, 0) else "0"


def schema_sql(flavour: Flavour, version: tuple[int, int, int], tables: int) -> str:
    """One statement for tables, columns, indexes (with visibility) and foreign keys: a schema read is one query,
    which matters when the schema-ready gate polls every server each second."""
    marks = ", ".join(["%s"] * tables)
    where = f"TABLE_SCHEMA = DATABASE() AND LOWER(TABLE_NAME) IN ({marks})"
    return (
        f"SELECT 'table' AS k, TABLE_NAME AS t, '' AS n, '' AS c, 0 AS nu, 0 AS seq, 0 AS h "
        f"FROM information_schema.TABLES WHERE {where} "
        f"UNION ALL SELECT 'column', TABLE_NAME, LOWER(COLUMN_TYPE), COLUMN_NAME, IS_NULLABLE = 'YES', 0, 0 "
        f"FROM information_schema.COLUMNS WHERE {where} "
        f"UNION ALL SELECT 'index', TABLE_NAME, INDEX_NAME, COLUMN_NAME, NON_UNIQUE, SEQ_IN_INDEX, "
        f"{_hidden_expr(flavour, version)} FROM information_schema.STATISTICS WHERE {where} "
        "UNION ALL SELECT 'fk', k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, 0, k.ORDINAL_POSITION, 0 "
        "FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.KEY_COLUMN_USAGE k "
        "ON k.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND k.TABLE_NAME = tc.TABLE_NAME "
        "AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME "
        f"WHERE tc.CONSTRAINT_TYPE = 'FOREIGN KEY' AND tc.TABLE_SCHEMA = DATABASE() AND LOWER(tc.TABLE_NAME) IN ({marks}) "
        "ORDER BY k, t, n, seq"
    )


def snapshot_from_rows(rows: Iterable[dict]) -> SchemaSnapshot:
    """Pure: the rows of `schema_sql` (ordered by kind, table, name, position) as a snapshot."""
    tables: set[str] = set()
    columns: set[tuple[str, str]] = set()
    indexes: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {}
    foreign: dict[tuple[str, str], tuple[str, ...]] = {}
    hidden: set[tuple[str, str]] = set()
    types: dict[tuple[str, str], tuple[str, bool]] = {}
    for r in rows:
        kind, table = r["k"], r["t"].lower()
        if kind == "table":
            tables.add(table)
        elif kind == "column":
            columns.add((table, r["c"].lower()))
            if r["n"]:
                types[(table, r["c"].lower())] = (str(r["n"]).lower(), bool(int(r["nu"] or 0)))
        elif kind == "index":
            key = (table, r["n"].lower())
            cols, _ = indexes.get(key, ((), False))
            indexes[key] = (cols + (r["c"].lower(),), not int(r["nu"]))
            if int(r["h"] or 0):
                hidden.add(key)
        elif kind == "fk":
            key = (table, r["n"].lower())
            foreign[key] = foreign.get(key, ()) + (r["c"].lower(),)
    return SchemaSnapshot(frozenset(tables), frozenset(columns), indexes, foreign, frozenset(hidden), types)


def read_schema(server: Server, tables: Iterable[str]) -> SchemaSnapshot:
    names = sorted({t.lower() for t in tables})
    if not names:
        return SchemaSnapshot(frozenset(), frozenset(), {}, {})
    return snapshot_from_rows(server.query(schema_sql(server.flavour, server.version, len(names)), names * 4))


class ObjectState(str, enum.Enum):
    APPLIED = "applied"
    NOT_APPLIED = "not_applied"
    DIFFERENT = "different"  # the name exists with other columns: someone else's object, or an edited migration


# What Rails reports when the statement that creates an existing object runs again.
_RERUN_ERROR = {
    "table": "Table '{name}' already exists (error 1050)",
    "column": "Duplicate column name '{name}' (error 1060)",
    "index": "Duplicate key name '{name}' (error 1061)",
    "foreign_key": "Duplicate foreign key constraint name '{name}' (MySQL error 1826; MariaDB error 1005 errno 121)",
}


@dataclasses.dataclass(frozen=True)
class ObjectResult:
    kind: str  # table | column | index | foreign_key
    table: str
    name: str
    columns: tuple[str, ...]
    line: int
    state: ObjectState
    found_columns: tuple[str, ...] = ()
    note: str = ""  # how a DIFFERENT object differs beyond its columns

    @property
    def rerun_error(self) -> str | None:
        if self.state is ObjectState.NOT_APPLIED:
            return None
        return _RERUN_ERROR.get(self.kind, "'{name}' already exists").format(name=self.name)

    def describe(self) -> str:
        what = {"foreign_key": "foreign key"}.get(self.kind, self.kind)
        cols = f" ({', '.join(self.columns)})" if self.columns and self.kind != "column" else ""
        where = "" if self.kind == "table" else f" on {self.table}"
        extra = "" if self.state is not ObjectState.DIFFERENT else (
            f" but {self.note}" if self.note else f" but with columns ({', '.join(self.found_columns)})")
        return f"{what} {self.name}{where}{cols}{extra}"

    def to_json(self) -> dict:
        return {
            "kind": self.kind, "table": self.table, "name": self.name, "columns": list(self.columns),
            "line": self.line, "state": self.state.value, "rerun_error": self.rerun_error,
            **({"note": self.note} if self.note else {}),
        }


@dataclasses.dataclass(frozen=True)
class PartialState:
    version: str
    recorded: bool  # the version is in schema_migrations
    objects: tuple[ObjectResult, ...]  # in statement order
    changes: tuple[ChangeResult, ...] = ()  # changes and removals, in statement order

    @property
    def unsure(self) -> tuple[ChangeResult, ...]:
        return tuple(c for c in self.changes if c.state is ChangeState.UNSURE)

    def _done(self) -> bool:
        """Every object exists as meant and every change is in place."""
        return all(o.state is ObjectState.APPLIED for o in self.objects) and all(
            c.state is ChangeState.APPLIED for c in self.changes)

    def _nothing(self) -> bool:
        """No object and no change shipit can check was made."""
        return not self.applied and not any(c.state is ChangeState.APPLIED for c in self.changes)

    @property
    def applied(self) -> tuple[ObjectResult, ...]:
        return tuple(o for o in self.objects if o.state is not ObjectState.NOT_APPLIED)

    @property
    def not_applied(self) -> tuple[ObjectResult, ...]:
        return tuple(o for o in self.objects if o.state is ObjectState.NOT_APPLIED)

    @property
    def rerun_stops_at(self) -> ObjectResult | None:
        """Rails stops at the first statement that fails, so the first leftover in statement order."""
        return None if self.recorded else next(iter(self.applied), None)

    @property
    def is_partial(self) -> bool:
        applied = bool(self.applied) or any(c.state is ChangeState.APPLIED for c in self.changes)
        return not self.recorded and applied and not self._done()

    def render(self) -> str:
        if self.recorded:
            head = f"Migration {self.version} is recorded in schema_migrations."
        elif self._done():
            head = (f"Migration {self.version} made all its changes but is NOT recorded in schema_migrations "
                    "(it failed after its last DDL statement, or the insert into schema_migrations failed).")
        elif self._nothing():
            head = f"Migration {self.version} left nothing behind: it is not recorded and none of its changes exist."
            if self.unsure:
                head = (f"Migration {self.version} is NOT recorded and none of the changes shipit can check exist; "
                        f"{len(self.unsure)} statement(s) cannot be checked from the schema: check them by hand.")
        elif self.unsure and not self.not_applied and not any(c.state is ChangeState.NOT_APPLIED for c in self.changes):
            head = (f"Migration {self.version} is NOT recorded, and shipit cannot tell whether it completed: "
                    f"{len(self.unsure)} statement(s) cannot be checked from the schema. Check them by hand before "
                    "inserting the version into schema_migrations.")
        else:
            head = f"Migration {self.version} failed part-way: it is NOT recorded in schema_migrations."
        lines = [head]
        rows = [(o.line, {ObjectState.APPLIED: "applied", ObjectState.NOT_APPLIED: "not applied",
                          ObjectState.DIFFERENT: "conflicts"}[o.state], o.describe()) for o in self.objects]
        rows += [(c.line, {ChangeState.APPLIED: "applied", ChangeState.NOT_APPLIED: "not applied",
                           ChangeState.UNSURE: "unsure"}[c.state], f"{c.what} ({c.evidence})") for c in self.changes]
        for line, label, text in sorted(rows, key=lambda r: r[0]):
            at = f"  (line {line})" if line else ""
            lines.append(f"  {label:<12} {text}{at}")
        stop = self.rerun_stops_at
        if stop is not None:
            at = f" at line {stop.line}" if stop.line else ""
            lines.append(f"A rerun will fail{at}: {stop.describe()} already exists -> {stop.rerun_error}.")
            lines.append(
                "Next: fix the cause of the failure, then either drop the applied objects by hand or make those "
                "statements idempotent (if_not_exists: true, unless index_exists?/foreign_key_exists?), and rerun."
            )
        return "\n".join(lines)

    def to_json(self) -> dict:
        stop = self.rerun_stops_at
        return {
            "version": self.version,
            "recorded": self.recorded,
            "objects": [o.to_json() for o in self.objects],
            "changes": [c.to_json() for c in self.changes],
            "rerun_error": stop.rerun_error if stop else None,
        }


def compare(expected: Sequence[Any], snapshot: SchemaSnapshot) -> tuple[ObjectResult, ...]:
    """Each expected object (shipit.planning.classify.ExpectedObject) against the snapshot, in statement order."""
    results = []
    for e in sorted(expected, key=lambda x: x.statement_line):
        kind, table, name = _kind(e.kind), e.table.lower(), e.name.lower()
        cols = tuple(c.lower() for c in e.columns)
        found: tuple[str, ...] = ()
        note = ""
        if kind == "table":
            state = ObjectState.APPLIED if name in snapshot.tables or table in snapshot.tables else ObjectState.NOT_APPLIED
        elif kind == "column":
            state = ObjectState.APPLIED if (table, name) in snapshot.columns else ObjectState.NOT_APPLIED
        else:
            if kind == "index":
                hit = snapshot.indexes.get((table, name))
                found = hit[0] if hit else ()
                if hit and bool(getattr(e, "unique", False)) and not hit[1]:
                    note = "not unique"
            else:
                found = snapshot.foreign_keys.get((table, name), ())
            if not found:
                state = ObjectState.NOT_APPLIED
            elif (cols and found != cols) or note:
                state = ObjectState.DIFFERENT
            else:
                state = ObjectState.APPLIED
        results.append(ObjectResult(kind, e.table, e.name, tuple(e.columns), e.statement_line, state, found, note))
    return tuple(results)


def partial_state(server: Server, version: str, expected: Sequence[Any], *, operations: Sequence[Any] = (),
                  before: SchemaSnapshot | None = None) -> PartialState:
    """Read the report for one migration (a plan Migration's `.version`, `.expected` and `.operations`; `before`:
    the snapshot of its tables taken before the Job, when there is one)."""
    tables = {e.table for e in expected} | {t for op in operations for t in (op.table, op.new_name) if t}
    snapshot = read_schema(server, tables)
    return PartialState(
        version=version,
        recorded=version in applied_versions(server),
        objects=compare(expected, snapshot),
        changes=check_changes(operations, before, snapshot),
    )
