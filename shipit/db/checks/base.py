"""The check value every kind shares; each kind's module says what it means."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class CheckKind(str, enum.Enum):
    ORPHANS = "orphans"
    DUPLICATES = "duplicates"
    NULLS = "nulls"
    CHECK_CONSTRAINT = "check_constraint"


@dataclass(frozen=True)
class Check:
    """A data condition the DDL would fail on. `advisory` names the data code earlier in the same migration that
    should fix the rows first: the check then reports, and does not block."""

    kind: CheckKind
    table: str
    columns: tuple[str, ...] = ()
    column: str | None = None
    to_table: str | None = None
    primary_key: str = "id"
    migration_version: str = ""
    lengths: tuple[tuple[str, int], ...] = ()
    expression: str | None = None
    advisory: str = ""

    @property
    def spec(self):
        from shipit.db.checks import KINDS

        return KINDS[self.kind]

    @property
    def scanned_columns(self) -> tuple[str, ...]:
        return tuple(self.columns) or ((self.column,) if self.column else ())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "table": self.table, **self.spec.json_fields(self)}
        if self.advisory:
            out["advisory"] = self.advisory
        out["migration_version"] = self.migration_version
        return out

    def describe(self) -> str:
        advisory = f" (advisory: {self.advisory})" if self.advisory else ""
        return f"{self.spec.subject(self)}{advisory}"
