"""NULLs: rows a new NOT NULL would reject (ERROR 1265/1138 when the column becomes NOT NULL)."""

from __future__ import annotations

from shipit.db.checks.base import Check, CheckKind
from shipit.planning.rails.operations import OpKind

FAILS_WITH = "ERROR 1265"


def needed(op, new_columns: frozenset[tuple[str, str]], version: str) -> Check | None:
    if op.kind not in (OpKind.CHANGE_COLUMN_NULL, OpKind.CHANGE_COLUMN) or op.null is not False:
        return None
    if op.kind is OpKind.CHANGE_COLUMN_NULL and op.default is not None:
        return None  # Rails backfills NULLs with the given value first
    if (op.table, op.column) in new_columns:
        return None
    return Check(CheckKind.NULLS, op.table, (op.column,), op.column, None, "id", version)


def json_fields(check: Check) -> dict:
    return {"column": check.column}


def subject(check: Check) -> str:
    return f"nulls {check.table}.{', '.join(check.scanned_columns)}"


def finding(count: int, samples: tuple) -> str:
    return f"{count} rows with NULL (first ids: {', '.join(map(str, samples))}); the migration would fail with {FAILS_WITH}"


def scan(ctx, check: Check, info):
    return ctx.rows(info, f"c.{ctx.q(check.scanned_columns[0])} IS NULL")
