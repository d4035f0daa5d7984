"""Whether each change a failed migration meant to make is in the live schema: changes and removals too, not only
the objects it creates.

Pure functions over schema snapshots (shipit.db.migration_state.SchemaSnapshot) taken before the Job (when shipit
has one) and after it. A change shipit cannot verify (a custom helper, `execute`, a default) is UNSURE, and then the
report never claims the migration completed: someone trusting such a claim would insert the version by hand.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence
from typing import Any


class ChangeState(str, enum.Enum):
    APPLIED = "applied"
    NOT_APPLIED = "not_applied"
    UNSURE = "unsure"


@dataclasses.dataclass(frozen=True)
class ChangeResult:
    line: int
    what: str  # the statement, as written
    state: ChangeState
    evidence: str  # what the live schema shows

    def to_json(self) -> dict:
        return {"line": self.line, "what": self.what, "state": self.state.value, "evidence": self.evidence}


# Rails abstract types -> MySQL/MariaDB base types they create (COLUMN_TYPE without length or attributes).
_RAILS_TYPES = {
    "string": {"varchar"}, "text": {"text", "mediumtext", "longtext", "tinytext"}, "integer": {"int", "smallint",
    "mediumint", "tinyint", "bigint"}, "bigint": {"bigint"}, "boolean": {"tinyint"}, "datetime": {"datetime"},
    "timestamp": {"timestamp", "datetime"}, "date": {"date"}, "time": {"time"}, "decimal": {"decimal"},
    "float": {"float", "double"}, "binary": {"blob", "varbinary", "mediumblob", "longblob"}, "json": {"json", "longtext"},
}
_CREATES = frozenset({"create_table", "add_column", "add_index", "add_foreign_key", "add_reference"})


def _base_type(column_type: str) -> str:
    return re.split(r"[\s(]", column_type.strip().lower(), maxsplit=1)[0]


def _col(snapshot: Any, table: str, column: str) -> tuple[str, bool] | None:
    """(column type, nullable) when the snapshot has the column; ("", nullable) when only its existence is known."""
    key = (table, column)
    if key not in snapshot.columns:
        return None
    return snapshot.column_types.get(key, ("", True))


def _change_column(op: Any, table: str, before: Any | None, after: Any) -> tuple[ChangeState, str]:
    column = (op.column or "").lower()
    now = _col(after, table, column)
    if now is None:
        return ChangeState.UNSURE, f"{op.table}.{op.column} does not exist"
    was = _col(before, table, column) if before is not None else None
    if was is not None and was[0] and now[0] and was[0] != now[0]:
        return ChangeState.APPLIED, f"type changed from {was[0]} to {now[0]}"
    wanted = _RAILS_TYPES.get((op.column_type or "").lower())
    if not now[0] or wanted is None:
        return ChangeState.UNSURE, f"type is {now[0] or 'unknown'}; shipit cannot map :{op.column_type} to it"
    if _base_type(now[0]) in wanted:
        same = " (unchanged by this run: it may have been so already)" if was is not None and was[0] == now[0] else ""
        return ChangeState.APPLIED, f"type is {now[0]}{same}"
    return ChangeState.NOT_APPLIED, f"type is still {now[0]}, not :{op.column_type}"


def _check(op: Any, before: Any | None, after: Any) -> tuple[ChangeState, str]:
    kind, table = op.kind.value, (op.table or "").lower()
    if kind == "change_column":
        return _change_column(op, table, before, after)
    if kind == "change_column_null":
        now = _col(after, table, (op.column or "").lower())
        if now is None or op.null is None or (table, (op.column or "").lower()) not in after.column_types:
            return ChangeState.UNSURE, "nullability not readable"
        done = now[1] is op.null
        return (ChangeState.APPLIED if done else ChangeState.NOT_APPLIED), f"column is {'NULL' if now[1] else 'NOT NULL'}"
    if kind == "remove_column":
        never = [c for c in op.columns if before is not None and (table, c.lower()) not in before.columns]
        if never:
            return ChangeState.NOT_APPLIED, f"{', '.join(never)} was not there before the migration: nothing to remove"
        left = [c for c in op.columns if (table, c.lower()) in after.columns]
        return ((ChangeState.NOT_APPLIED, f"still has {', '.join(left)}") if left else (ChangeState.APPLIED, "column gone"))
    if kind in ("remove_index", "remove_foreign_key"):
        if not op.name:
            return ChangeState.UNSURE, "the name is not known before it runs"
        if before is not None:
            existed = (table, op.name.lower()) in (before.indexes if kind == "remove_index" else before.foreign_keys)
            if not existed:
                return ChangeState.NOT_APPLIED, f"{op.name} was not there before the migration: nothing to remove"
        objects = after.indexes if kind == "remove_index" else after.foreign_keys
        gone = (table, op.name.lower()) not in objects
        return (ChangeState.APPLIED, f"{op.name} gone") if gone else (ChangeState.NOT_APPLIED, f"{op.name} still exists")
    if kind == "rename_column":
        old, new = (op.column or "").lower(), (op.new_name or "").lower()
        has_old, has_new = (table, old) in after.columns, (table, new) in after.columns
        if has_new and not has_old:
            return ChangeState.APPLIED, f"{op.new_name} exists, {op.column} gone"
        if has_old and not has_new:
            return ChangeState.NOT_APPLIED, f"{op.column} still exists"
        return ChangeState.UNSURE, f"{op.column} {'and' if has_old else 'nor'} {op.new_name} exist"
    if kind == "rename_table":
        new = (op.new_name or "").lower()
        if new in after.tables and table not in after.tables:
            return ChangeState.APPLIED, f"{op.new_name} exists"
        if table in after.tables and new not in after.tables:
            return ChangeState.NOT_APPLIED, f"{op.table} still exists"
        return ChangeState.UNSURE, "both or neither table exist"
    if kind == "drop_table":
        if before is not None and table not in before.tables:
            return ChangeState.NOT_APPLIED, "table was not there before the migration: nothing to drop"
        return (ChangeState.NOT_APPLIED, "table still exists") if table in after.tables else (ChangeState.APPLIED, "table gone")
    if kind == "change_column_default":
        return ChangeState.UNSURE, "shipit does not compare column defaults"
    if kind == "execute":
        return ChangeState.UNSURE, "shipit cannot check what raw SQL did"
    return ChangeState.UNSURE, "shipit cannot check what this statement did"


def check_changes(operations: Sequence[Any], before: Any | None, after: Any) -> tuple[ChangeResult, ...]:
    """Each operation a migration runs that does not create an object (those are checked by name and columns in
    shipit.db.migration_state.compare), against the schema after the failure, in statement order."""
    out = []
    for op in sorted(operations, key=lambda o: o.line):
        if op.kind.value in _CREATES:
            continue
        state, evidence = _check(op, before, after)
        out.append(ChangeResult(op.line, (op.source or op.kind.value).strip(), state, evidence))
    return tuple(out)
