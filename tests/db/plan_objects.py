"""Plan objects for DB tests: shipit.classify's when engineer A has committed it, else the same shapes locally."""

from __future__ import annotations

try:
    from shipit.classify import Check, CheckKind, ExpectedObject, ObjectKind
except ImportError:  # temporary until shipit/classify.py lands
    import dataclasses
    import enum

    class CheckKind(str, enum.Enum):
        ORPHANS = "orphans"
        DUPLICATES = "duplicates"
        NULLS = "nulls"

    class ObjectKind(str, enum.Enum):
        TABLE = "table"
        COLUMN = "column"
        INDEX = "index"
        FOREIGN_KEY = "foreign_key"

    @dataclasses.dataclass(frozen=True)
    class Check:
        kind: CheckKind
        table: str
        columns: tuple[str, ...] = ()
        column: str | None = None
        to_table: str | None = None
        primary_key: str = "id"
        migration_version: str = ""

    @dataclasses.dataclass(frozen=True)
    class ExpectedObject:
        kind: ObjectKind
        table: str
        name: str
        columns: tuple[str, ...] = ()
        unique: bool = False
        migration_version: str = ""
        statement_line: int = 0

__all__ = ["Check", "CheckKind", "ExpectedObject", "ObjectKind"]
