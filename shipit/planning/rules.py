"""One row per operation kind: when it can run relative to the code change, and how it reads in a plan.

The staging rule is expand/contract. An operation runs BEFORE the new code when it adds what that code may need,
AFTER it when it takes away what the old code may still use, EITHER side when both code versions live with it,
and needs a PERSON when no ordering is safe or shipit cannot tell. Adding an operation kind means one row here.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from shipit.planning.facts import AppFacts
from shipit.planning.rails.operations import OpKind, Operation


class Stage(str, enum.Enum):
    BEFORE = "before"
    AFTER = "after"
    EITHER = "either"
    PERSON = "person"


@dataclass(frozen=True)
class Verdict:
    stage: Stage
    why: str = ""


@dataclass(frozen=True)
class Context:
    """What a rule may look at besides the operation: the migration's other operations and the app's files."""

    facts: AppFacts
    siblings: tuple[Operation, ...] = ()


@dataclass(frozen=True)
class Rule:
    describe: Callable[[Operation], str]
    stage: Callable[[Operation, Context], Verdict]


_DML = re.compile(r"^\s*(UPDATE|DELETE|INSERT|REPLACE)\b", re.I)
_BEFORE, _EITHER = Verdict(Stage.BEFORE), Verdict(Stage.EITHER)
RENAME_RECIPE = ("whichever code runs on the other side of the rename breaks; expand/contract instead: add the new "
                 "{what}, write both from the code, backfill, switch reads, then drop the old one in a later release")


def is_dml(sql: str | None) -> bool:
    return bool(sql and _DML.match(sql))


def _cols(op: Operation) -> str:
    return f" ({', '.join(op.columns)})" if op.columns else ""


def _describe_index(op: Operation) -> str:
    unique = "unique " if op.unique else ""
    lengths = f" lengths {dict(op.lengths)}" if op.lengths else ""
    kind = f"{op.index_type} " if op.index_type else ""
    return f"{op.kind.value} {unique}{kind}{op.name} on {op.table}{_cols(op)}{lengths}"


def _describe_reference(op: Operation) -> str:
    extras = [f"index {op.name}" if op.index else "no index"]
    if op.foreign_key:
        extras.append(f"foreign key -> {op.to_table}.{op.primary_key}")
    return f"add_reference {op.table} ({', '.join(op.columns)}; {', '.join(extras)})"


def _describe_add_column(op: Operation) -> str:
    null = " NOT NULL" if op.null is False else ""
    default = f" default {op.default!r}" if op.default is not None else ""
    return f"add_column {op.table}.{op.column} {op.column_type or ''}{null}{default}".replace("  ", " ")


def _describe_sql(op: Operation) -> str:
    sql = " ".join((op.sql or op.source).split())
    return f"execute {sql[:80]}{'...' if len(sql) > 80 else ''}"


def _rebuild(op: Operation) -> str:
    return f"rebuilds the table online through {op.tool.value}" if op.tool else "rebuilds the table (COPY)"


def _remove_index(op: Operation, ctx: Context) -> Verdict:
    if any(o.kind is OpKind.ADD_INDEX and o.table == op.table for o in ctx.siblings):
        return _EITHER  # an index swap: the table keeps an index either way
    return Verdict(Stage.AFTER, "the running code's queries may rely on it")


def _remove_column(op: Operation, ctx: Context) -> Verdict:
    if ctx.facts.models is None:
        return Verdict(Stage.PERSON, "the models at --to were not read, so shipit cannot tell whether the new code "
                                     "ignores the column (Rails caches every column and writes them all)")
    models = ctx.facts.models_of(op.table)
    if not models:
        return Verdict(Stage.AFTER, f"no model at --to maps to {op.table}, so no code caches its columns")
    for model in models:  # every model on the table caches its columns
        missing = [c for c in op.columns if c not in model.ignored_columns]
        if missing:
            listed = ", ".join(f'"{c}"' for c in missing)
            return Verdict(Stage.PERSON, (
                f"{model.class_name} ({model.path}) does not ignore {', '.join(missing)}: the new code caches the "
                f"column and its INSERTs break once it is dropped; add `self.ignored_columns += [{listed}]` to the "
                f"model, release that, then drop the column"))
    names = ", ".join(m.class_name for m in models)
    return Verdict(Stage.AFTER, f"{names} {'ignores' if len(models) == 1 else 'ignore'} it at --to "
                                f"(self.ignored_columns)")


def _drop_table(op: Operation, ctx: Context) -> Verdict:
    models = ctx.facts.models_of(op.table)
    if models:
        model = models[0]
        return Verdict(Stage.PERSON, f"{model.class_name} ({model.path}) still maps {op.table} at --to: the new code "
                                     f"breaks on its first query; delete the model first")
    return Verdict(Stage.AFTER, "the running code may still use it")


def _change_default(op: Operation, ctx: Context) -> Verdict:
    if not op.clears_default:
        return _EITHER
    column = None if ctx.facts.columns is None else ctx.facts.columns.get((op.table, op.column))
    if column is None:
        return Verdict(Stage.PERSON, f"removes the default of {op.table}.{op.column}, and db/schema.rb or "
                                     f"db/structure.sql at --from does not show the column: unsure whether it is "
                                     f"NOT NULL, where the old code's INSERTs that omit it would fail")
    return default_removal(op.table, op.column, null=column.null)


def default_removal(table: str, column: str, *, null: bool) -> Verdict:
    """Dropping a default is harmless on a nullable column; on NOT NULL, INSERTs that omit it fail (ERROR 1364)."""
    if null:
        return _EITHER
    return Verdict(Stage.PERSON, (
        f"{table}.{column} is NOT NULL: without its default the old code's INSERTs that omit it fail "
        f"(ERROR 1364); release code that always writes the column first, then drop the default"))


def _execute(op: Operation, ctx: Context) -> Verdict:
    if is_dml(op.sql):
        return _EITHER
    return Verdict(Stage.PERSON, "raw SQL shipit cannot stage or verify")


RULES: dict[OpKind, Rule] = {
    OpKind.CREATE_TABLE: Rule(lambda op: f"create_table {op.table} ({', '.join(op.columns)})", lambda op, c: _BEFORE),
    OpKind.ADD_INDEX: Rule(_describe_index, lambda op, c: _BEFORE),
    OpKind.REMOVE_INDEX: Rule(_describe_index, _remove_index),
    OpKind.RENAME_INDEX: Rule(lambda op: f"rename_index {op.name} on {op.table} -> {op.new_name}",
                              lambda op, c: _EITHER),
    OpKind.ADD_FOREIGN_KEY: Rule(
        lambda op: f"add_foreign_key {op.table}.{op.column} -> {op.to_table}.{op.primary_key} ({op.name})",
        lambda op, c: _BEFORE),
    OpKind.REMOVE_FOREIGN_KEY: Rule(lambda op: f"remove_foreign_key {op.name} on {op.table}", lambda op, c: _EITHER),
    OpKind.ADD_REFERENCE: Rule(_describe_reference, lambda op, c: _BEFORE),
    OpKind.ADD_COLUMN: Rule(_describe_add_column, lambda op, c: _BEFORE),
    OpKind.REMOVE_COLUMN: Rule(lambda op: f"remove_column {op.table}{_cols(op)}", _remove_column),
    OpKind.RENAME_COLUMN: Rule(
        lambda op: f"rename_column {op.table}.{op.column} -> {op.new_name}",
        lambda op, c: Verdict(Stage.PERSON, RENAME_RECIPE.format(what="column"))),
    OpKind.RENAME_TABLE: Rule(
        lambda op: f"rename_table {op.table} -> {op.new_name}",
        lambda op, c: Verdict(Stage.PERSON, RENAME_RECIPE.format(what="table (or a view)"))),
    OpKind.CHANGE_COLUMN: Rule(
        lambda op: f"change_column {op.table}.{op.column} to {op.column_type}",
        lambda op, c: Verdict(Stage.PERSON, f"a column type change {_rebuild(op)} and may break either code version")),
    OpKind.CHANGE_COLUMN_NULL: Rule(
        lambda op: f"change_column_null {op.table}.{op.column} {'NULL' if op.null else 'NOT NULL'}",
        lambda op, c: _EITHER if op.null else Verdict(Stage.AFTER, "the running code may still write NULLs")),
    OpKind.CHANGE_COLUMN_DEFAULT: Rule(
        lambda op: f"change_column_default {op.table}.{op.column} -> {op.default!r}", _change_default),
    OpKind.CHANGE_COMMENT: Rule(lambda op: f"change comment on {op.table}{'.' + op.column if op.column else ''}",
                                lambda op, c: _EITHER),
    OpKind.ADD_CHECK_CONSTRAINT: Rule(
        lambda op: f"add_check_constraint {op.name} on {op.table} ({op.sql})",
        lambda op, c: Verdict(Stage.AFTER, "the running code may still write rows that violate it")),
    OpKind.REMOVE_CHECK_CONSTRAINT: Rule(lambda op: f"remove_check_constraint {op.name} on {op.table}",
                                         lambda op, c: _EITHER),
    OpKind.DROP_TABLE: Rule(lambda op: f"drop_table {op.table}", _drop_table),
    OpKind.EXECUTE: Rule(_describe_sql, _execute),
    OpKind.DATA: Rule(lambda op: f"data code: {op.source}", lambda op, c: _EITHER),
    OpKind.UNKNOWN: Rule(
        lambda op: f"unknown: {op.source}",
        lambda op, c: Verdict(Stage.PERSON, op.note or "a statement shipit does not understand")),
}


def describe(op: Operation) -> str:
    """One short human phrase for an operation, used in reasons, warnings and the text plan."""
    through = f" through {op.tool.value}" if op.tool else ""
    return RULES[op.kind].describe(op) + through


def verdict(op: Operation, ctx: Context) -> Verdict:
    """A statement Rails would fail on needs a person whatever its kind."""
    if op.failure:
        return Verdict(Stage.PERSON, f"the migration would fail: {op.failure}")
    return RULES[op.kind].stage(op, ctx)
