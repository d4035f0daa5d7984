"""Which removing statements of a failed migration took effect, from schema snapshots taken around its Job."""

from __future__ import annotations

def removals_applied(operations, before, after) -> tuple[str, ...]:
    """Pure: the removing statements of a failed migration that took effect, from snapshots (shipit.db.
    migration_state.SchemaSnapshot) of its tables taken before and after the Job. The partial-state report only
    tracks objects a migration creates, so without this a half-applied remove_column reads "left nothing behind"."""
    out = []
    for op in operations:
        kind, table = op.kind.value, (op.table or "").lower()
        if not op.kind.removes:
            continue
        where = f"(line {op.line})"
        if kind == "remove_column":
            out += [f"removed column {c} from {op.table} {where}" for c in op.columns
                    if (table, c.lower()) in before.columns and (table, c.lower()) not in after.columns]
        elif kind == "rename_column" and op.column and (table, op.column.lower()) in before.columns \
                and (table, op.column.lower()) not in after.columns:
            out.append(f"renamed column {op.column} on {op.table} to {op.new_name} {where}")
        elif kind == "drop_table" and table in before.tables and table not in after.tables:
            out.append(f"dropped table {op.table} {where}")
        elif kind in ("remove_index", "remove_foreign_key") and op.name:
            key = (table, op.name.lower())
            objects = (before.indexes, after.indexes) if kind == "remove_index" else (before.foreign_keys, after.foreign_keys)
            if key in objects[0] and key not in objects[1]:
                out.append(f"removed {'index' if kind == 'remove_index' else 'foreign key'} {op.name} on {op.table} {where}")
    return tuple(out)
