"""What running one check found, and whether it blocks the release."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from shipit.db.checks.base import Check, CheckKind


class CheckStatus(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    INCOMPLETE = "incomplete"  # budget ran out or a query was stopped: unknown, so blocking
    SKIPPED = "skipped"  # nothing to check (the table or column does not exist yet)


@dataclasses.dataclass(frozen=True)
class CheckResult:
    check: Check
    status: CheckStatus
    count: int  # orphaned rows / duplicate groups / NULL rows / violating rows
    samples: tuple[Any, ...]  # primary keys, or (count, first_id, last_id) per duplicate group
    server: str
    rows_scanned: int = 0
    chunks: int = 0
    longest_chunk_s: float = 0.0
    elapsed_s: float = 0.0
    note: str = ""

    @property
    def kind(self) -> CheckKind:
        return self.check.kind

    @property
    def blocking(self) -> bool:
        """A failed or unfinished check blocks, unless data code earlier in its migration fixes the rows."""
        return self.status in (CheckStatus.FAILED, CheckStatus.INCOMPLETE) and not self.check.advisory

    @property
    def subject(self) -> str:
        return self.check.spec.subject(self.check)

    def finding(self) -> str:
        """The one line a person needs when this check blocks."""
        if self.status is CheckStatus.INCOMPLETE:
            return f"{self.subject}: not finished ({self.note})"
        advisory = f" (advisory: {self.check.advisory})" if self.check.advisory else ""
        return f"{self.subject}: {self.check.spec.finding(self.count, self.samples)}{advisory}"

    def describe(self) -> str:
        if self.status is CheckStatus.SKIPPED:
            return f"{self.subject}: skipped ({self.note})"
        if self.status is not CheckStatus.PASSED:
            return self.finding()
        if self.chunks:
            return (f"{self.subject}: none in {self.rows_scanned:,} rows, {self.chunks} chunks "
                    f"(longest {self.longest_chunk_s * 1000:.0f} ms), {self.elapsed_s:.1f}s")
        return f"{self.subject}: none ({self.elapsed_s:.1f}s)"

    def to_json(self) -> dict:
        c = self.check
        orphans = c.kind is CheckKind.ORPHANS
        return {
            **c.to_json(), "columns": list(c.scanned_columns), "to_table": c.to_table if orphans else None,
            "to_column": (c.primary_key or "id") if orphans else None, "status": self.status.value,
            "count": self.count, "samples": [list(s) if isinstance(s, tuple) else s for s in self.samples],
            "server": self.server, "rows_scanned": self.rows_scanned, "chunks": self.chunks,
            "longest_chunk_ms": round(self.longest_chunk_s * 1000, 1), "elapsed_s": round(self.elapsed_s, 3),
            "note": self.note,
        }
