"""Which source decides what `shipit plan` calls pending, and the lines that say so.

Pending means versions present at --to that the database has not applied when the configured database answers,
else versions present at --to and absent at --from. The plan reads one table with one short attempt: a database
that is down, slow or refuses the account costs a few seconds and a note, never the plan.
"""

from __future__ import annotations

import dataclasses
from typing import Any

CONNECT_TIMEOUT = 3.0  # one connection attempt; an unreachable database falls back to git after this
QUERY_TIMEOUT = 5.0  # server-side limit on reading schema_migrations
DEADLINE = 10.0  # the whole read, name lookup and handshake included: a silent server is abandoned after this


@dataclasses.dataclass(frozen=True)
class PendingSource:
    """`applied` is schema_migrations' versions, or None when git decides what is pending."""

    applied: frozenset[str] | None
    database: str = ""  # the configured URL as displayed (never its password); empty without a configuration
    error: str = ""  # why the database could not be read

    @property
    def source(self) -> str:
        return "git" if self.applied is None else "database"

    def lines(self, databases: int = 1) -> tuple[str, ...]:
        """Pure: the source named for people; `databases` > 1 says the others (not read) compare with --from."""
        if self.applied is not None:
            others = "; other databases: versions absent at --from" if databases > 1 else ""
            return (f"pending: versions at --to the database has not applied ({len(self.applied)} in "
                    f"schema_migrations at {self.database}){others}",)
        if not self.database:
            return ("pending: versions present at --to and absent at --from (no configuration names a database)",)
        return ("pending: versions present at --to and absent at --from (the database was not read)",
                f"note: could not read schema_migrations at {self.database}, so git decided what is pending: "
                f"{self.error}")

    def to_json(self, databases: int = 1) -> dict[str, Any]:
        return {"source": self.source, "database": self.database or None, "error": self.error or None,
                "applied": None if self.applied is None else len(self.applied), "notes": list(self.lines(databases))}


def read_pending_source(database_url: str, *, deadline: float = DEADLINE) -> PendingSource:
    """schema_migrations of the configured primary database, in one attempt within `deadline` seconds; any failure
    falls back to git."""
    import threading

    from shipit.core import redact
    from shipit.db.connection import DatabaseURL, Server

    try:
        url = DatabaseURL.parse(database_url)
    except Exception as e:  # a malformed URL is reported, not raised: the plan does not need the database
        return PendingSource(None, "the configured URL", redact.redact(str(e)))
    display = url.display()
    server = Server("primary", url, connect_timeout=CONNECT_TIMEOUT, retry_budget=0.0)
    result: list[PendingSource] = []
    # pymysql bounds the TCP connect only, not the name lookup or a handshake that never comes: a thread bounds all
    reader = threading.Thread(target=lambda: result.append(_read(server, display)), daemon=True)
    reader.start()
    reader.join(deadline)
    if not result:
        return PendingSource(None, display, f"no answer within {deadline:g}s")
    return result[0]


def _read(server, display: str) -> PendingSource:
    from shipit.core import redact
    from shipit.db.migration_state import applied_versions

    try:
        return PendingSource(applied_versions(server, timeout=QUERY_TIMEOUT), display)
    except Exception as e:  # refused, timed out, access denied, no grant: git decides and the note says why
        error = redact.redact(str(e)) or type(e).__name__
        prefix = f"{server.name} database at {display}"
        return PendingSource(None, display, error[len(prefix):].lstrip(": ") if error.startswith(prefix) else error)
    finally:
        server.close()
