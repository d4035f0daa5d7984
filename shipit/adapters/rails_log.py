"""What a failed `rails db:migrate` log says in the database's own words."""

from __future__ import annotations

import re

_DB_ERROR = re.compile(r"\b(Mysql2::Error(?:::\w+)?|ActiveRecord::[A-Za-z]+Error|ActiveRecord::StatementInvalid): (.+)")


def database_error(log_lines) -> str | None:
    """The database's own words from a failed `db:migrate` log (Rails prints the chain; the first Mysql2 error is
    the SQL error), so the diagnosis's why says more than "exited with code 1"."""
    for line in log_lines:  # the driver's error, wherever Rails wrapped it ("ActiveRecord::StatementInvalid: ...")
        at = line.find("Mysql2::Error")
        if at >= 0:
            return line[at:].strip()
    found = next((m for m in (_DB_ERROR.search(line) for line in log_lines) if m), None)
    return f"{found.group(1)}: {found.group(2).strip()}" if found else None
