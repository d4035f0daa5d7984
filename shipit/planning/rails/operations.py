"""The schema operations a migration applies when migrating up, as frozen values.

`OpKind` is the vocabulary; what each kind means for staging, and its message, lives in
`shipit.planning.rules` (one row per kind). Parsing fills these in (`shipit.planning.rails.parse`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class OpKind(str, enum.Enum):
    CREATE_TABLE = "create_table"
    ADD_INDEX = "add_index"
    REMOVE_INDEX = "remove_index"
    RENAME_INDEX = "rename_index"
    ADD_FOREIGN_KEY = "add_foreign_key"
    REMOVE_FOREIGN_KEY = "remove_foreign_key"
    ADD_REFERENCE = "add_reference"
    ADD_COLUMN = "add_column"
    REMOVE_COLUMN = "remove_column"
    RENAME_COLUMN = "rename_column"
    CHANGE_COLUMN = "change_column"
    CHANGE_COLUMN_NULL = "change_column_null"
    CHANGE_COLUMN_DEFAULT = "change_column_default"
    CHANGE_COMMENT = "change_comment"
    ADD_CHECK_CONSTRAINT = "add_check_constraint"
    REMOVE_CHECK_CONSTRAINT = "remove_check_constraint"
    RENAME_TABLE = "rename_table"
    DROP_TABLE = "drop_table"
    EXECUTE = "execute"
    DATA = "data"  # model code or DML that changes rows, not the schema
    UNKNOWN = "unknown"

    @property
    def removes(self) -> bool:
        """Takes away an object the schema had: a failed migration's partial-state report looks for these."""
        return self in _REMOVING

    @property
    def creates(self) -> bool:
        """Leaves behind objects the schema-ready gate can look for."""
        return self in _CREATING


_REMOVING = frozenset({OpKind.REMOVE_COLUMN, OpKind.REMOVE_INDEX, OpKind.REMOVE_FOREIGN_KEY, OpKind.DROP_TABLE,
                       OpKind.RENAME_COLUMN, OpKind.RENAME_TABLE, OpKind.RENAME_INDEX,
                       OpKind.REMOVE_CHECK_CONSTRAINT})
_CREATING = frozenset({OpKind.CREATE_TABLE, OpKind.ADD_INDEX, OpKind.ADD_FOREIGN_KEY, OpKind.ADD_REFERENCE,
                       OpKind.ADD_COLUMN, OpKind.RENAME_COLUMN, OpKind.RENAME_TABLE, OpKind.RENAME_INDEX})


@dataclass(frozen=True)
class Operation:
    """One schema change a migration will apply when migrating up.

    `name` is the index name for add/remove/rename_index and add_reference (predicted when not given), the
    constraint name for foreign keys and check constraints. `default` is a literal, or the Ruby source of an
    expression default; `clears_default` says the statement sets no default at all (nil, or `to: nil`).
    `idempotent` records `if_not_exists:`/`if_exists:`. `failure` is an error Rails raises on this statement
    before touching the database; `note` explains an `unknown`. `tool` is the online schema change tool that
    applies it (the object appears when the tool swaps the table in). `lengths` are prefix lengths of an index's
    columns.
    """

    kind: OpKind
    table: str | None
    columns: tuple[str, ...] = ()
    unique: bool | None = None
    name: str | None = None
    algorithm: str | None = None
    to_table: str | None = None
    column: str | None = None
    primary_key: str | None = None
    null: bool | None = None
    default: Any = None
    clears_default: bool = False
    new_name: str | None = None
    sql: str | None = None
    column_type: str | None = None
    index: bool | None = None
    foreign_key: bool | None = None
    index_type: str | None = None
    stored: bool = False
    lengths: tuple[tuple[str, int], ...] = ()
    idempotent: bool = False
    failure: str | None = None
    note: str | None = None
    tool: Tool | None = None
    line: int = 0
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "table": self.table, "columns": list(self.columns)}
        for key in ("unique", "name", "algorithm", "to_table", "column", "primary_key", "null", "default",
                    "new_name", "sql", "column_type", "index", "foreign_key", "index_type", "failure", "note"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        for key in ("clears_default", "stored", "idempotent"):
            if getattr(self, key):
                out[key] = True
        if self.lengths:
            out["lengths"] = dict(self.lengths)
        if self.tool:
            out["tool"] = self.tool.value
        out["line"] = self.line
        if self.kind in (OpKind.UNKNOWN, OpKind.DATA):
            out["source"] = self.source
        return out


class Tool(str, enum.Enum):
    """An online schema change tool that copies the table and swaps it in, instead of Rails' own ALTER."""

    LHM = "lhm"
    PT_OSC = "pt-online-schema-change"
    GH_OST = "gh-ost"


class Direction(str, enum.Enum):
    CHANGE = "change"
    UP = "up"
    NONE = "none"


@dataclass(frozen=True)
class ParsedMigration:
    """A migration file as the parser understood it.

    `direction` is the method whose body runs on `db:migrate`; a `down` body never counts. Class-body statements
    run when Rails loads the file, so they come first in `operations`. `warnings` are about the file itself
    (conditional statements, a class name Rails will not find).
    """

    version: str
    name: str
    path: str
    superclass_version: str | None
    operations: tuple[Operation, ...]
    direction: str = "change"
    has_down: bool = False
    disable_ddl_transaction: bool = False
    warnings: tuple[str, ...] = ()
    error: str | None = None  # the file cannot be loaded as a migration: Rails would fail on it
    versionless: bool = False  # `< ActiveRecord::Migration` with no [x.y]: Rails 5+ refuses to load it
