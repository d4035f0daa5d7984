"""Decide how a parsed migration can be staged, what data it needs checked, and what it must leave behind.

All pure functions over a `ParsedMigration`. The staging rule is expand/contract: a migration runs before the new
code only if the old code keeps working after it (it only adds or relaxes); anything that removes or renames what
the running code may use waits until the new code is live; anything shipit cannot reason about needs a person.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from shipit.planning.migrations import (
    OpKind,
    Operation,
    ParsedMigration,
    foreign_key_name,
    index_name,
)


class MigrationPhase(str, enum.Enum):
    PRE_DEPLOY = "pre_deploy"
    POST_DEPLOY = "post_deploy"
    MANUAL = "manual"


class CheckKind(str, enum.Enum):
    ORPHANS = "orphans"
    DUPLICATES = "duplicates"
    NULLS = "nulls"


@dataclass(frozen=True)
class Check:
    """A data condition the DDL would fail on (ERROR 1452 orphans, 1062 duplicates, 1265/1138 NULLs)."""

    kind: CheckKind
    table: str
    columns: tuple[str, ...] = ()
    column: str | None = None
    to_table: str | None = None
    primary_key: str = "id"
    migration_version: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "table": self.table}
        if self.kind is CheckKind.DUPLICATES:
            out["columns"] = list(self.columns)
        else:
            out["column"] = self.column
        if self.kind is CheckKind.ORPHANS:
            out["to_table"] = self.to_table
            out["primary_key"] = self.primary_key
        out["migration_version"] = self.migration_version
        return out

    def describe(self) -> str:
        if self.kind is CheckKind.ORPHANS:
            return f"orphans: {self.table}.{self.column} rows with no {self.to_table}.{self.primary_key}"
        if self.kind is CheckKind.DUPLICATES:
            return f"duplicates: {self.table} ({', '.join(self.columns)}) values held by more than one row"
        return f"nulls: {self.table}.{self.column} rows that are NULL"


class ObjectKind(str, enum.Enum):
    TABLE = "table"
    COLUMN = "column"
    INDEX = "index"
    FOREIGN_KEY = "foreign_key"


@dataclass(frozen=True)
class ExpectedObject:
    """Something that must exist once the migration has run: the schema-ready gate and partial-state report use it."""

    kind: ObjectKind
    table: str
    name: str
    columns: tuple[str, ...] = ()
    unique: bool = False
    migration_version: str = ""
    statement_line: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value, "table": self.table, "name": self.name, "columns": list(self.columns),
            "unique": self.unique, "migration_version": self.migration_version, "line": self.statement_line,
        }


# Operations that add something the new code may need, so they must run before it.
_EXPANDING = frozenset(
    {OpKind.CREATE_TABLE, OpKind.ADD_INDEX, OpKind.ADD_FOREIGN_KEY, OpKind.ADD_REFERENCE, OpKind.ADD_COLUMN}
)
# Operations that take away something the running (old) code may still read or write.
_CONTRACTING = frozenset(
    {OpKind.REMOVE_INDEX, OpKind.REMOVE_COLUMN, OpKind.RENAME_COLUMN, OpKind.RENAME_TABLE, OpKind.DROP_TABLE}
)


def _is_contracting(op: Operation) -> bool:
    # NOT NULL after the fact: the old code may still write NULLs, so it waits for the code that fills the column.
    return op.kind in _CONTRACTING or (op.kind is OpKind.CHANGE_COLUMN_NULL and op.null is False)


def _is_expanding(op: Operation) -> bool:
    # Relaxing (dropping a foreign key, allowing NULL, a new default) is safe on either side of the code change.
    return op.kind in _EXPANDING


def describe(op: Operation) -> str:
    """One short human phrase for an operation, used in reasons, warnings and the text plan."""
    k, t = op.kind, op.table
    cols = ", ".join(op.columns)
    on = f" ({cols})" if cols else ""
    if k is OpKind.CREATE_TABLE:
        return f"create_table {t} ({cols})"
    if k in (OpKind.ADD_INDEX, OpKind.REMOVE_INDEX):
        unique = "unique " if op.unique else ""
        return f"{k.value} {unique}{op.name} on {t}{on}"
    if k is OpKind.ADD_FOREIGN_KEY:
        return f"add_foreign_key {t}.{op.column} -> {op.to_table}.{op.primary_key} ({op.name})"
    if k is OpKind.REMOVE_FOREIGN_KEY:
        return f"remove_foreign_key {op.name} on {t}"
    if k is OpKind.ADD_REFERENCE:
        extras = [f"index {op.name}" if op.index else "no index"]
        if op.foreign_key:
            extras.append(f"foreign key -> {op.to_table}.{op.primary_key}")
        return f"add_reference {t} ({cols}; {', '.join(extras)})"
    if k is OpKind.ADD_COLUMN:
        null = " NOT NULL" if op.null is False else ""
        default = f" default {op.default!r}" if op.default is not None else ""
        return f"add_column {t}.{op.column} {op.column_type or ''}{null}{default}".replace("  ", " ")
    if k in (OpKind.RENAME_COLUMN, OpKind.RENAME_TABLE):
        old = f"{t}.{op.column}" if k is OpKind.RENAME_COLUMN else t
        return f"{k.value} {old} -> {op.new_name}"
    if k is OpKind.REMOVE_COLUMN:
        return f"remove_column {t}{on}"
    if k is OpKind.CHANGE_COLUMN:
        return f"change_column {t}.{op.column} to {op.column_type}"
    if k is OpKind.CHANGE_COLUMN_NULL:
        return f"change_column_null {t}.{op.column} {'NULL' if op.null else 'NOT NULL'}"
    if k is OpKind.CHANGE_COLUMN_DEFAULT:
        return f"change_column_default {t}.{op.column} -> {op.default!r}"
    if k is OpKind.DROP_TABLE:
        return f"drop_table {t}"
    if k is OpKind.EXECUTE:
        sql = " ".join((op.sql or op.source).split())
        return f"execute {sql[:80]}{'...' if len(sql) > 80 else ''}"
    return f"unknown: {op.source}"


def classify(parsed: ParsedMigration, *, post_migrate_dir: bool) -> tuple[MigrationPhase, str]:
    if parsed.error:
        return MigrationPhase.MANUAL, parsed.error
    ops = parsed.operations
    manual = [op for op in ops if op.kind in (OpKind.UNKNOWN, OpKind.EXECUTE, OpKind.CHANGE_COLUMN)]
    if manual:
        op = manual[0]
        if op.kind is OpKind.EXECUTE:
            why = "raw SQL shipit cannot stage or verify"
        elif op.kind is OpKind.CHANGE_COLUMN:
            why = "a column type change rebuilds the table (COPY) and may break either code version"
        else:
            why = "a statement shipit does not understand"
        more = f" (and {len(manual) - 1} more)" if len(manual) > 1 else ""
        return MigrationPhase.MANUAL, f"line {op.line}: {why}: `{op.source}`{more}"
    if post_migrate_dir:
        return MigrationPhase.POST_DEPLOY, "in db/post_migrate: runs after the new code is live"
    contracting = [op for op in ops if _is_contracting(op)]
    expanding = [op for op in ops if _is_expanding(op)]
    if contracting and expanding:
        return MigrationPhase.MANUAL, (
            f"mixes {describe(expanding[0])} (line {expanding[0].line}), which the new code may need first, with "
            f"{describe(contracting[0])} (line {contracting[0].line}), which the old code may still use: "
            f"split it into a pre-deploy and a post-deploy migration"
        )
    if contracting:
        op = contracting[0]
        return MigrationPhase.POST_DEPLOY, f"{describe(op)} (line {op.line}): the running code may still use it"
    if not ops:
        return MigrationPhase.PRE_DEPLOY, "no schema operations"
    if not expanding:
        return MigrationPhase.PRE_DEPLOY, "only relaxes constraints or defaults: safe before and after the new code"
    return MigrationPhase.PRE_DEPLOY, "additive only: the old code keeps working after it"


@dataclass(frozen=True)
class _NewState:
    """What exists only because of migrations earlier in the plan or statements earlier in this migration."""

    tables: frozenset[str]
    columns: frozenset[tuple[str, str]]  # (table, column) added NULL-filled


def _walk_new(parsed: ParsedMigration, tables: frozenset[str], columns: frozenset[tuple[str, str]]):
    """Yield (op, state before op) in statement order, so a check is skipped only for data that cannot exist yet."""
    tables, columns = set(tables), set(columns)
    for op in parsed.operations:
        yield op, _NewState(frozenset(tables), frozenset(columns))
        if op.kind is OpKind.CREATE_TABLE:
            tables.add(op.table)
        elif op.kind is OpKind.ADD_REFERENCE:
            columns.update((op.table, c) for c in op.columns)
        elif op.kind is OpKind.ADD_COLUMN and op.default is None:
            columns.add((op.table, op.column))


def created_tables(parsed: ParsedMigration) -> frozenset[str]:
    return frozenset(op.table for op in parsed.operations if op.kind is OpKind.CREATE_TABLE)


def checks_for(
    parsed: ParsedMigration,
    *,
    new_tables: frozenset[str] = frozenset(),
    new_columns: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[Check, ...]:
    """Data checks to run before this migration; tables/columns created earlier in the plan are empty, so skipped."""
    out: list[Check] = []
    v = parsed.version
    for op, new in _walk_new(parsed, new_tables, new_columns):
        if op.table in new.tables:
            continue
        if op.kind is OpKind.ADD_FOREIGN_KEY and (op.table, op.column) not in new.columns:
            out.append(Check(CheckKind.ORPHANS, op.table, (op.column,), op.column, op.to_table,
                             op.primary_key or "id", v))
        elif op.kind is OpKind.ADD_INDEX and op.unique:
            if not any((op.table, c) in new.columns for c in op.columns) and _plain_columns(op.columns):
                out.append(Check(CheckKind.DUPLICATES, op.table, op.columns, None, None, "id", v))
        elif op.kind in (OpKind.CHANGE_COLUMN_NULL, OpKind.CHANGE_COLUMN) and op.null is False:
            if op.kind is OpKind.CHANGE_COLUMN_NULL and op.default is not None:
                continue  # Rails backfills NULLs with the given value first
            if (op.table, op.column) not in new.columns:
                out.append(Check(CheckKind.NULLS, op.table, (op.column,), op.column, None, "id", v))
    return tuple(out)


def _plain_columns(columns: tuple[str, ...]) -> bool:
    """Expression indexes ("lower(email)") cannot be checked by column; the DDL itself will tell."""
    return all(c.replace("_", "").isalnum() for c in columns)


def warnings_for(parsed: ParsedMigration, *, new_tables: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Risks the data checks cannot catch: locking DDL, partial failure, code that breaks mid-release."""
    out: list[str] = []
    ops = parsed.operations
    for i, (op, new) in enumerate(_walk_new(parsed, new_tables, frozenset())):
        existing = op.table not in new.tables
        if op.kind is OpKind.ADD_COLUMN and op.null is False and op.default is None and existing:
            out.append(
                f"line {op.line}: {describe(op)} without a default: the old code's INSERTs fail (ERROR 1364) until "
                f"the new code is live, and existing rows get the type's zero value; give it a default"
            )
        adds_fk = op.kind is OpKind.ADD_FOREIGN_KEY or (op.kind is OpKind.ADD_REFERENCE and op.foreign_key)
        if adds_fk and existing:
            out.append(
                f"line {op.line}: foreign key on {op.table}: with foreign_key_checks on, MySQL copies the whole "
                f"table (ALGORITHM=COPY) and blocks writes to it until done"
            )
            later = next((o for o in ops[i + 1:] if o.kind is not OpKind.UNKNOWN), None)
            if later is not None:
                out.append(
                    f"line {op.line}: the foreign key is followed by other DDL (line {later.line}); if it fails, "
                    f"that never runs and the version is not recorded: give the foreign key its own migration"
                )
        if op.kind in (OpKind.RENAME_COLUMN, OpKind.RENAME_TABLE):
            out.append(
                f"line {op.line}: {describe(op)}: whichever code version uses the other name breaks; prefer add "
                f"new, copy, switch code, remove old"
            )
        if op.kind is OpKind.CHANGE_COLUMN_NULL and op.null is False and op.default is not None and existing:
            out.append(
                f"line {op.line}: Rails first runs UPDATE {op.table} SET {op.column} = {op.default!r} WHERE "
                f"{op.column} IS NULL in one statement: slow and lock-heavy on a large table"
            )
        if op.kind is OpKind.ADD_INDEX and op.unique and existing and any(
            o.kind is OpKind.ADD_COLUMN and o.table == op.table and o.column in op.columns and o.default is not None
            for o in ops[:i]
        ):
            out.append(f"line {op.line}: unique index over a column just added with a default: every existing row "
                       f"holds the same value, so it fails on any table with two rows")
        if op.algorithm == "copy":
            out.append(f"line {op.line}: algorithm: :copy blocks writes to {op.table} for the whole rebuild")
    return tuple(out)


def expected_objects(parsed: ParsedMigration) -> tuple[ExpectedObject, ...]:
    out: list[ExpectedObject] = []
    v = parsed.version

    def add(kind: ObjectKind, table: str, name: str, columns=(), unique=False, line=0) -> None:
        out.append(ExpectedObject(kind, table, name, tuple(columns), bool(unique), v, line))

    for op in parsed.operations:
        t, line = op.table, op.line
        if op.kind is OpKind.CREATE_TABLE:
            add(ObjectKind.TABLE, t, t, op.columns, line=line)
            for c in op.columns:
                add(ObjectKind.COLUMN, t, c, (c,), line=line)
        elif op.kind is OpKind.ADD_COLUMN:
            add(ObjectKind.COLUMN, t, op.column, (op.column,), line=line)
        elif op.kind is OpKind.ADD_INDEX:
            add(ObjectKind.INDEX, t, op.name, op.columns, op.unique, line)
        elif op.kind is OpKind.ADD_FOREIGN_KEY:
            add(ObjectKind.FOREIGN_KEY, t, op.name, op.columns, line=line)
        elif op.kind is OpKind.ADD_REFERENCE:
            if not _created_in(parsed, t, line):
                for c in op.columns:
                    add(ObjectKind.COLUMN, t, c, (c,), line=line)
            if op.index:
                add(ObjectKind.INDEX, t, op.name or index_name(t, op.columns), op.columns, bool(op.unique), line)
            if op.foreign_key:
                add(ObjectKind.FOREIGN_KEY, t, foreign_key_name(t, op.column), (op.column,), line=line)
        elif op.kind is OpKind.RENAME_COLUMN:
            add(ObjectKind.COLUMN, t, op.new_name, (op.new_name,), line=line)
        elif op.kind is OpKind.RENAME_TABLE:
            add(ObjectKind.TABLE, op.new_name, op.new_name, line=line)
    return tuple(out)


def _created_in(parsed: ParsedMigration, table: str, line: int) -> bool:
    """Was `table` created by this migration before `line`? (its create_table already lists the columns)"""
    return any(op.kind is OpKind.CREATE_TABLE and op.table == table and op.line <= line for op in parsed.operations)
