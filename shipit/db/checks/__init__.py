"""Data checks: the rows a migration's DDL would fail on, found before it runs.

One module per kind, each owning when the check is needed (from a planned operation), its SQL, its subject and
its finding; `shipit.db.preflight` only runs them (chunking, throttling, budget). `KINDS` maps a kind to its
module, so adding a check is one module and one row.
"""

from __future__ import annotations

from types import ModuleType

from shipit.db.checks import check_constraint, duplicates, nulls, orphans
from shipit.db.checks.base import Check, CheckKind

KINDS: dict[CheckKind, ModuleType] = {
    CheckKind.ORPHANS: orphans,
    CheckKind.DUPLICATES: duplicates,
    CheckKind.NULLS: nulls,
    CheckKind.CHECK_CONSTRAINT: check_constraint,
}


def needed(op, new_columns: frozenset[tuple[str, str]], version: str) -> tuple[Check, ...]:
    """The checks an operation needs before it runs (the caller skips tables created earlier in the plan)."""
    out = (spec.needed(op, new_columns, version) for spec in KINDS.values())
    return tuple(c for c in out if c is not None)


__all__ = ["Check", "CheckKind", "KINDS", "needed"]
