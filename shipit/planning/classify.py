"""Decide how a parsed migration can be staged, what data it needs checked, and what it must leave behind.

All pure functions over a `ParsedMigration` and the app's facts. Each operation's own rule (`shipit.planning.rules`)
says whether it must run before the code, after it, on either side, or by a person; a migration takes the strictest
of its operations, and one that needs both sides of the code change must be split.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from typing import Any

from shipit.db.checks import Check, CheckKind, needed
from shipit.planning.facts import AppFacts
from shipit.planning.rails.naming import foreign_key_name
from shipit.planning.rails.operations import OpKind, Operation, ParsedMigration, Tool
from shipit.planning.rules import Context, Stage, describe, is_dml, verdict

__all__ = ["Check", "CheckKind", "ExpectedObject", "MigrationPhase", "ObjectKind", "checks_for", "classify",
           "created_tables", "describe", "expected_objects", "warnings_for"]


class MigrationPhase(str, enum.Enum):
    PRE_DEPLOY = "pre_deploy"
    POST_DEPLOY = "post_deploy"
    MANUAL = "manual"


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


def classify(parsed: ParsedMigration, *, post_migrate_dir: bool,
             facts: AppFacts = AppFacts()) -> tuple[MigrationPhase, str]:
    if parsed.error:
        return MigrationPhase.MANUAL, parsed.error
    if parsed.versionless and facts.rails is not None and facts.rails >= (5, 1):
        return MigrationPhase.MANUAL, (
            f"inherits from ActiveRecord::Migration without [x.y]: Rails {facts.rails[0]}.{facts.rails[1]} raises "
            f"\"Directly inheriting from ActiveRecord::Migration is not supported\"; add the version it was written for")
    ops = parsed.operations
    ctx = Context(facts, ops)
    judged = [(op, verdict(op, ctx)) for op in ops]
    person = [(op, v) for op, v in judged if v.stage is Stage.PERSON]
    if person:
        op, v = person[0]
        more = f" (and {len(person) - 1} more)" if len(person) > 1 else ""
        return MigrationPhase.MANUAL, f"line {op.line}: {v.why}: `{op.source}`{more}"
    if post_migrate_dir:
        return MigrationPhase.POST_DEPLOY, "in db/post_migrate: runs after the new code is live"
    after = [(op, v) for op, v in judged if v.stage is Stage.AFTER]
    before = [op for op, v in judged if v.stage is Stage.BEFORE]
    if after and before:
        (late, _), early = after[0], before[0]
        return MigrationPhase.MANUAL, (
            f"mixes {describe(early)} (line {early.line}), which the new code may need first, with "
            f"{describe(late)} (line {late.line}), which the old code may still use: "
            f"split it into a pre-deploy and a post-deploy migration"
        )
    if after:
        op, v = after[0]
        return MigrationPhase.POST_DEPLOY, f"{describe(op)} (line {op.line}): {v.why}"
    if not ops:
        return MigrationPhase.PRE_DEPLOY, "no schema operations"
    if all(_is_data(op) for op in ops):
        return MigrationPhase.PRE_DEPLOY, "data changes only: safe before and after the new code"
    if not before:
        return MigrationPhase.PRE_DEPLOY, "only relaxes constraints or defaults: safe before and after the new code"
    return MigrationPhase.PRE_DEPLOY, "additive only: the old code keeps working after it"


def _is_data(op: Operation) -> bool:
    return op.kind is OpKind.DATA or (op.kind is OpKind.EXECUTE and is_dml(op.sql))


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
    """Data checks to run before this migration; tables/columns created earlier in the plan are empty, so skipped.
    Data code earlier in the same migration (deleting duplicates, backfilling) is meant to fix the rows first, so
    a check after it is advisory and names that line."""
    out: list[Check] = []
    data_line = 0
    for op, new in _walk_new(parsed, new_tables, new_columns):
        if _is_data(op) and not data_line:
            data_line = op.line
        if op.table in new.tables:
            continue
        for check in needed(op, new.columns, parsed.version):
            if data_line:
                check = _advisory(check, f"data code at line {data_line} runs first and may fix these rows")
            out.append(check)
    return tuple(out)


def _advisory(check: Check, why: str) -> Check:
    return replace(check, advisory=why)


_UNBATCHED = re.compile(r"^\s*(UPDATE|DELETE)\b", re.I)
_LIMIT = re.compile(r"\bLIMIT\s+\d+", re.I)
_CONVERT = re.compile(r"CONVERT\s+TO\s+CHARACTER\s+SET", re.I)
_REBUILD_LOCK = "ALGORITHM=COPY: writes to it are blocked for the whole copy; `shipit preflight` shows its size"


def rebuilds(op: Operation) -> str | None:
    """Why an operation rebuilds its MySQL table, or None."""
    if op.kind is OpKind.CHANGE_COLUMN:
        return "a column type change"
    if op.kind is OpKind.ADD_COLUMN and op.stored:
        return "a STORED generated column"
    if op.kind is OpKind.ADD_INDEX and op.index_type == "fulltext":
        return "a table's first FULLTEXT index (it adds FTS_DOC_ID)"
    if op.kind is OpKind.EXECUTE and op.sql and _CONVERT.search(op.sql):
        return "a character set conversion"
    return None


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
        if adds_fk and existing and op.tool is None:  # a tool copies online and swaps at the end
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
        if op.kind is OpKind.EXECUTE and op.sql and _UNBATCHED.match(op.sql) and not _LIMIT.search(op.sql):
            out.append(f"line {op.line}: one {op.sql.split()[0].upper()} over the whole table: it holds row locks "
                       f"until it commits and replicas replay it as one long transaction; batch it on a large table")
        if op.tool in _COPIES_WITH_IGNORE and existing:
            out.extend(_ignored_rows(op))
        why = rebuilds(op) if op.tool is None else None
        if why and existing:
            out.append(f"line {op.line}: {why} rebuilds {op.table or 'the table'} ({_REBUILD_LOCK})")
        elif op.algorithm == "copy":
            out.append(f"line {op.line}: algorithm: :copy blocks writes to {op.table} for the whole rebuild")
    return tuple(out)


# Tools whose row copy is INSERT IGNORE: a row the new table rejects is dropped or coerced, not an error.
_COPIES_WITH_IGNORE = frozenset({Tool.LHM, Tool.PT_OSC})


def _ignored_rows(op: Operation) -> list[str]:
    ignore = f"line {op.line}: {op.tool.value} copies rows with INSERT IGNORE"
    if op.kind is OpKind.ADD_INDEX and op.unique:
        return [f"{ignore}: rows duplicating ({', '.join(op.columns)}) are dropped from {op.table} silently, not "
                f"refused; the duplicates check is what keeps them"]
    if op.kind is OpKind.CHANGE_COLUMN and op.null is False and op.tool is Tool.LHM:
        return [f"{ignore}: NULLs in {op.table}.{op.column} become the type's zero value silently, not refused"]
    return []


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
                add(ObjectKind.INDEX, t, op.name, op.columns, bool(op.unique), line)
            if op.foreign_key:
                add(ObjectKind.FOREIGN_KEY, t, foreign_key_name(t, op.column), (op.column,), line=line)
        elif op.kind is OpKind.RENAME_COLUMN:
            add(ObjectKind.COLUMN, t, op.new_name, (op.new_name,), line=line)
        elif op.kind is OpKind.RENAME_TABLE:
            add(ObjectKind.TABLE, op.new_name, op.new_name, line=line)
        elif op.kind is OpKind.RENAME_INDEX:
            add(ObjectKind.INDEX, t, op.new_name, line=line)
    return tuple(out)


def _created_in(parsed: ParsedMigration, table: str, line: int) -> bool:
    """Was `table` created by this migration before `line`? (its create_table already lists the columns)"""
    return any(op.kind is OpKind.CREATE_TABLE and op.table == table and op.line <= line for op in parsed.operations)
