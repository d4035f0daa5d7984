"""Duplicates: values a new unique index would reject (ERROR 1062), compared as MySQL will compare them.

Equality is decided in SQL, so the column collation applies ('a@x.io' = 'A@x.io' under _ci), and a prefix index
(`length: {col: N}`) compares only the first N characters.
"""

from __future__ import annotations

from shipit.db.checks.base import Check, CheckKind
from shipit.planning.rails.operations import OpKind

FAILS_WITH = "ERROR 1062"
SAMPLE_LIMIT = 10


def needed(op, new_columns: frozenset[tuple[str, str]], version: str) -> Check | None:
    if op.kind is not OpKind.ADD_INDEX or not op.unique:
        return None
    if any((op.table, c) in new_columns for c in op.columns) or not _plain(op.columns):
        return None
    return Check(CheckKind.DUPLICATES, op.table, op.columns, None, None, "id", version, lengths=op.lengths)


def _plain(columns: tuple[str, ...]) -> bool:
    """Expression indexes ("lower(email)") cannot be checked by column; the DDL itself will tell."""
    return all(c.replace("_", "").isalnum() for c in columns)


def json_fields(check: Check) -> dict:
    out: dict = {"columns": list(check.columns)}
    if check.lengths:
        out["lengths"] = dict(check.lengths)
    return out


def subject(check: Check) -> str:
    lengths = dict(check.lengths)
    cols = ", ".join(f"{c}({lengths[c]})" if c in lengths else c for c in check.columns)
    return f"duplicates {check.table} ({cols})"


def finding(count: int, samples: tuple) -> str:
    groups = "; ".join(f"{n} rows (ids {a}..{b})" for n, a, b in samples)
    return (f"{count} duplicated value(s) under the column collation: {groups}; the unique index would fail with "
            f"{FAILS_WITH}")


def scan(ctx, check: Check, info):
    """One GROUP BY bounded by the remaining budget: duplicates span any key range (an index makes it a walk)."""
    lengths = dict(check.lengths)
    keys = ", ".join(f"LEFT({ctx.q(c)}, {int(lengths[c])})" if c in lengths else ctx.q(c) for c in check.columns)
    not_null = " AND ".join(f"{ctx.q(c)} IS NOT NULL" for c in check.columns)  # UNIQUE allows repeated NULLs
    pk = ctx.q(info.primary_key[0]) if len(info.primary_key) == 1 else "NULL"
    groups = (f"SELECT COUNT(*) AS n, MIN({pk}) AS first_id, MAX({pk}) AS last_id FROM {ctx.q(info.name)} "
              f"WHERE {not_null} GROUP BY {keys} HAVING COUNT(*) > 1")
    total = ctx.query_one(f"SELECT COUNT(*) AS g FROM ({groups}) d")
    if total is None:
        return ctx.incomplete("budget ran out during the GROUP BY")
    count = int(total["g"])
    samples: tuple = ()
    if count:
        rows = ctx.query(f"{groups} ORDER BY n DESC, first_id LIMIT {SAMPLE_LIMIT}")
        if rows is None:
            return ctx.incomplete("budget ran out during the GROUP BY")
        samples = tuple((int(r["n"]), r["first_id"], r["last_id"]) for r in rows)
    return ctx.outcome(count, samples)
