"""Check constraints: existing rows that violate a new CHECK (MySQL refuses to add it, ERROR 3819)."""

from __future__ import annotations

from shipit.db.checks.base import Check, CheckKind
from shipit.planning.rails.operations import OpKind

FAILS_WITH = "ERROR 3819"


def needed(op, new_columns: frozenset[tuple[str, str]], version: str) -> Check | None:
    if op.kind is not OpKind.ADD_CHECK_CONSTRAINT or not op.sql or op.note == "validate: false":
        return None
    return Check(CheckKind.CHECK_CONSTRAINT, op.table, (), None, None, "id", version, expression=op.sql)


def json_fields(check: Check) -> dict:
    return {"expression": check.expression}


def subject(check: Check) -> str:
    return f"check_constraint {check.table} ({check.expression})"


def finding(count: int, samples: tuple) -> str:
    return (f"{count} rows violate it (first ids: {', '.join(map(str, samples))}); the migration would fail with "
            f"{FAILS_WITH}")


def scan(ctx, check: Check, info):
    """A row violates a CHECK when the expression is false; NULL passes, as in MySQL."""
    return ctx.rows(info, f"NOT ({check.expression})")
