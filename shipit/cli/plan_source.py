"""Which source decides what `shipit plan` calls pending, and the lines that say so.

Pending means, per Rails database, versions present at --to that the database has not applied when its configured
URL answers, else versions present at --to and absent at --from. The plan reads one table per configured database,
all at once, with one short attempt each: a database that is down, slow or refuses the account costs a few seconds
and a note, never the plan.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shipit.core.config_database import PRIMARY, DatabaseConfig

CONNECT_TIMEOUT = 3.0  # one connection attempt; an unreachable database falls back to git after this
QUERY_TIMEOUT = 5.0  # server-side limit on reading schema_migrations
DEADLINE = 10.0  # the whole read, name lookup and handshake included: a silent server is abandoned after this


@dataclasses.dataclass(frozen=True)
class PendingSource:
    """`applied` is schema_migrations' versions, or None when git decides what is pending."""

    applied: frozenset[str] | None
    database: str = ""  # the configured URL as displayed (never its password); empty without a configuration
    error: str = ""  # why the database could not be read
    name: str = PRIMARY  # the database's name in config/database.yml

    @property
    def source(self) -> str:
        return "git" if self.applied is None else "database"

    def lines(self, databases: int = 1, *, named: bool = False) -> tuple[str, ...]:
        """Pure: the source named for people; `databases` > 1 says the others (not read) compare with --from;
        `named` puts the database's name in the line, when several were read."""
        pending = f"pending in {self.name}" if named else "pending"
        if self.applied is not None:
            others = "; other databases: versions absent at --from" if databases > 1 else ""
            return (f"{pending}: versions at --to the database has not applied ({len(self.applied)} in "
                    f"schema_migrations at {self.database}){others}",)
        if not self.database:
            return (f"{pending}: versions present at --to and absent at --from (no configuration names a database)",)
        return (f"{pending}: versions present at --to and absent at --from (the database was not read)",
                f"note: could not read schema_migrations at {self.database}, so git decided what is pending: "
                f"{self.error}")

    def to_json(self, databases: int = 1) -> dict[str, Any]:
        return {"source": self.source, "database": self.database or None, "error": self.error or None,
                "applied": None if self.applied is None else len(self.applied), "notes": list(self.lines(databases))}


@dataclasses.dataclass(frozen=True)
class PendingSources:
    """Each configured database's source, the primary first."""

    sources: tuple[PendingSource, ...]

    @property
    def applied(self) -> dict[str, frozenset[str]] | None:
        """What the planner compares with, by database; None when no database was read (git decides)."""
        read = {s.name: s.applied for s in self.sources if s.applied is not None}
        return read or None

    def lines(self, planned: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Pure: one source per configured database; a planned database without a URL compares with --from."""
        if len(self.sources) == 1:
            return self.sources[0].lines(len(planned) or 1)
        names = {s.name for s in self.sources}
        unconfigured = [n for n in planned if n not in names]
        return tuple(line for s in self.sources for line in s.lines(named=True)) + (
            (f"pending in {', '.join(unconfigured)}: versions present at --to and absent at --from (no URL "
             "configured)",) if unconfigured else ())

    def to_json(self, planned: tuple[str, ...] = ()) -> dict[str, Any]:
        """The primary's source at the top (as with one database), each database's under `databases`."""
        first = self.sources[0].to_json(len(planned) or 1)
        return {**first, "notes": list(self.lines(planned)),
                "databases": [{"name": s.name, **s.to_json()} | {"notes": list(s.lines())} for s in self.sources]}


def read_pending_sources(database: DatabaseConfig, *, deadline: float = DEADLINE) -> PendingSources:
    """Every configured database's schema_migrations, read at the same time: the whole read ends within
    `deadline` seconds however many databases there are."""
    urls = ((PRIMARY, database.url),) + tuple((d.name, d.url) for d in database.databases)
    with ThreadPoolExecutor(len(urls), thread_name_prefix="pending") as pool:
        reads = [pool.submit(read_pending_source, url, deadline=deadline, name=name) for name, url in urls]
        return PendingSources(tuple(r.result() for r in reads))


def read_pending_source(database_url: str, *, deadline: float = DEADLINE, name: str = PRIMARY) -> PendingSource:
    """schema_migrations of one configured database, in one attempt within `deadline` seconds; any failure falls
    back to git."""
    import threading

    from shipit.core import redact
    from shipit.db.connection import DatabaseURL, Server

    try:
        url = DatabaseURL.parse(database_url)
    except Exception as e:  # a malformed URL is reported, not raised: the plan does not need the database
        return PendingSource(None, "the configured URL", redact.redact(str(e)), name)
    display = url.display()
    server = Server(name, url, connect_timeout=CONNECT_TIMEOUT, retry_budget=0.0)
    result: list[PendingSource] = []
    # pymysql bounds the TCP connect only, not the name lookup or a handshake that never comes: a thread bounds all
    reader = threading.Thread(target=lambda: result.append(_read(server, display)), daemon=True)
    reader.start()
    reader.join(deadline)
    if not result:
        return PendingSource(None, display, f"no answer within {deadline:g}s", name)
    return result[0]


def _read(server, display: str) -> PendingSource:
    from shipit.core import redact
    from shipit.db.migration_state import applied_versions

    try:
        return PendingSource(applied_versions(server, timeout=QUERY_TIMEOUT), display, name=server.name)
    except Exception as e:  # refused, timed out, access denied, no grant: git decides and the note says why
        error = redact.redact(str(e)) or type(e).__name__
        prefix = f"{server.name} database at {display}"
        return PendingSource(None, display, error[len(prefix):].lstrip(": ") if error.startswith(prefix) else error,
                             server.name)
    finally:
        server.close()
