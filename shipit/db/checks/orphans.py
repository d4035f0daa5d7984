"""Orphans: rows whose new foreign key column points at no parent row (the foreign key fails with ERROR 1452)."""

from __future__ import annotations

from shipit.db.checks.base import Check, CheckKind
from shipit.planning.rails.operations import OpKind

FAILS_WITH = "ERROR 1452"


def needed(op, new_columns: frozenset[tuple[str, str]], version: str) -> Check | None:
    if op.kind is not OpKind.ADD_FOREIGN_KEY or (op.table, op.column) in new_columns:
        return None  # a column added NULL in this plan has no values to orphan
    return Check(CheckKind.ORPHANS, op.table, (op.column,), op.column, op.to_table, op.primary_key or "id", version)


def json_fields(check: Check) -> dict:
    return {"column": check.column, "to_table": check.to_table, "primary_key": check.primary_key}


def subject(check: Check) -> str:
    return f"orphans {check.table}.{', '.join(check.scanned_columns)} -> {check.to_table}.{check.primary_key}"


def finding(count: int, samples: tuple) -> str:
    return f"{count} orphaned rows (first ids: {', '.join(map(str, samples))}); the migration would fail with {FAILS_WITH}"


def scan(ctx, check: Check, info):
    """A LEFT JOIN to the parent over ranges of the child's primary key; NULL children are not orphans."""
    parent = ctx.read_table(check.to_table or "")
    to_column = check.primary_key or "id"
    if parent is None or to_column.lower() not in parent.columns:
        return ctx.incomplete(f"referenced {check.to_table}.{to_column} does not exist, so every non-NULL row would "
                              f"be an orphan (ERROR 1824/1452)")
    cols = check.scanned_columns
    bad = " AND ".join(f"c.{ctx.q(c)} IS NOT NULL" for c in cols) + f" AND p.{ctx.q(to_column)} IS NULL"
    join = f"LEFT JOIN {ctx.q(parent.name)} p ON p.{ctx.q(to_column)} = c.{ctx.q(cols[0])}"
    return ctx.rows(info, bad, join)
