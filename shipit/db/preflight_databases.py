"""Preflight for an app with several databases: each database's migrations are checked on that database's servers
(`run_preflight` per group), and every finding names the database it came from."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from shipit.core.config_database import PRIMARY
from shipit.core.errors import BadInput
from shipit.db.databases import AppDatabases, by_database, unconfigured, unconfigured_message
from shipit.db.preflight import PreflightReport, Settings, run_preflight


def _named(database: str, text: str) -> str:
    return text if database == PRIMARY else f"database {database}: {text}"


@dataclasses.dataclass(frozen=True)
class DatabasesPreflight:
    reports: tuple[tuple[str, PreflightReport], ...]  # (database, its report), the primary first

    @property
    def blocking_reasons(self) -> tuple[str, ...]:
        return tuple(_named(name, r) for name, report in self.reports for r in report.blocking_reasons)

    @property
    def ok(self) -> bool:
        return not self.blocking_reasons

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(v for _, report in self.reports for v in report.pending)

    def render_text(self) -> str:
        """One database: its report as is. Several: a verdict, then each database's report under its name."""
        if len(self.reports) == 1 and self.reports[0][0] == PRIMARY:
            return self.reports[0][1].render_text()
        if not self.reports:
            return "Preflight passed: the release may proceed.\nPending migrations: none"
        lines = ["Preflight passed: the release may proceed." if self.ok else
                 "Preflight BLOCKED: the release must not proceed."]
        lines += [f"  - {r}" for r in self.blocking_reasons]
        for name, report in self.reports:
            lines.append(f"Database {name}:")
            lines += [f"  {line}" for line in report.render_text().splitlines()[1 + len(report.blocking_reasons):]]
        return "\n".join(lines)

    def to_json(self) -> dict:
        if len(self.reports) == 1 and self.reports[0][0] == PRIMARY:
            return self.reports[0][1].to_json()
        return {"ok": self.ok, "blocking_reasons": list(self.blocking_reasons), "pending": list(self.pending),
                "databases": [{"database": name, **report.to_json()} for name, report in self.reports]}


def run_databases_preflight(databases: AppDatabases, migrations: Sequence[Any], settings: Settings, *,
                            clock: Callable[[], float] = time.monotonic) -> DatabasesPreflight:
    """Each database's migrations checked on its own servers, within one shared budget. A migration whose database
    has no configuration is bad input: its checks would otherwise run nowhere, or against the wrong database."""
    missing = unconfigured(migrations, databases.names)
    if missing:
        raise BadInput(unconfigured_message(missing))
    deadline = clock() + settings.budget
    reports = []
    for name, group in by_database(migrations) or ((PRIMARY, ()),):
        left = dataclasses.replace(settings, budget=max(0.001, deadline - clock()))
        reports.append((name, run_preflight(databases.get(name), group, left, clock=clock, database=name)))
    return DatabasesPreflight(tuple(reports))
