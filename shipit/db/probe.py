"""What a server is and what shipit may do on it: flavour, version, grants, and settings that would hurt a migration.

Privileges are probed by trying the reads shipit needs (a missing PROCESS grant shows up as error 1227 on
INNODB_TRX), not by parsing `SHOW GRANTS`, so roles, proxies and cloud variants answer truthfully. The decisions
(which grant is missing, what the GRANT statement is, which settings deserve a warning) are pure functions of the
readings, so they are tested for MySQL shapes too.
"""

from __future__ import annotations

import dataclasses
import enum

from shipit.db.connection import Flavour, QueryError, Role, Server

# Errors that mean "not allowed", as opposed to "not there".
_DENIED = frozenset({1044, 1142, 1143, 1227, 1045, 1370})


class Privilege(str, enum.Enum):
    PROCESS = "process"  # every thread in the processlist, INNODB_TRX
    REPLICA_MONITOR = "replica_monitor"  # SHOW REPLICA STATUS
    SELECT_SCHEMA = "select_schema"  # preflight data checks
    SELECT_PERFORMANCE_SCHEMA = "select_performance_schema"  # stage progress, metadata locks


_NEEDED_FOR = {
    Privilege.PROCESS: "see other sessions' transactions and queries (long transactions, MDL blockers, DDL progress)",
    Privilege.REPLICA_MONITOR: "read replica lag (SHOW REPLICA STATUS)",
    Privilege.SELECT_SCHEMA: "run the preflight data checks",
    Privilege.SELECT_PERFORMANCE_SCHEMA: "read index-build progress and metadata locks from performance_schema",
}


@dataclasses.dataclass(frozen=True)
class Readings:
    """Raw answers from one server, gathered by `read()`; everything else is decided from these."""

    server: str
    role: Role
    flavour: Flavour
    version: tuple[int, int, int]
    version_text: str
    database: str
    account: str  # CURRENT_USER(), e.g. "shipit@%"
    held: frozenset[Privilege]
    performance_schema: bool
    lock_wait_timeout: float
    statement_time_limit: float  # MariaDB max_statement_time (s) / MySQL max_execution_time (s); 0 = none
    sql_mode: str
    foreign_key_checks: bool


@dataclasses.dataclass(frozen=True)
class Probe:
    readings: Readings
    missing: tuple[Privilege, ...]
    warnings: tuple[str, ...]

    @property
    def blocking_missing(self) -> tuple[Privilege, ...]:
        """Grants without which a preflight cannot vouch for the release (P_S is optional: progress degrades)."""
        return tuple(p for p in self.missing if p is not Privilege.SELECT_PERFORMANCE_SCHEMA)

    def grant_message(self) -> str | None:
        if not self.missing:
            return None
        r = self.readings
        why = "; ".join(f"{_label(p, r.flavour)} to {_NEEDED_FOR[p]}" for p in self.missing)
        return f"{r.server}: user {r.account} lacks {why}. Run: " + " ".join(
            grant_statements(self.missing, r.flavour, r.account, r.database)
        )


def _label(p: Privilege, flavour: Flavour) -> str:
    return {
        Privilege.PROCESS: "PROCESS",
        Privilege.REPLICA_MONITOR: "SLAVE MONITOR" if flavour is Flavour.MARIADB else "REPLICATION CLIENT",
        Privilege.SELECT_SCHEMA: "SELECT on the app schema",
        Privilege.SELECT_PERFORMANCE_SCHEMA: "SELECT on performance_schema",
    }[p]


def quote_account(account: str) -> str:
    """`shipit@%` -> `'shipit'@'%'` (the host part is after the last @)."""
    user, _, host = account.rpartition("@")
    if not user:
        user, host = account, "%"
    return f"'{user}'@'{host}'"


def grant_statements(missing: tuple[Privilege, ...], flavour: Flavour, account: str, database: str) -> tuple[str, ...]:
    who = quote_account(account)
    global_privs = [
        _label(p, flavour) for p in (Privilege.PROCESS, Privilege.REPLICA_MONITOR) if p in missing
    ]
    out = []
    if global_privs:
        out.append(f"GRANT {', '.join(global_privs)} ON *.* TO {who};")
    if Privilege.SELECT_SCHEMA in missing:
        out.append(f"GRANT SELECT ON `{database}`.* TO {who};")
    if Privilege.SELECT_PERFORMANCE_SCHEMA in missing:
        out.append(f"GRANT SELECT ON performance_schema.* TO {who};")
    return tuple(out)


def decide(r: Readings) -> Probe:
    """Which grants are missing and which settings would hurt a migration."""
    needed = [Privilege.PROCESS, Privilege.SELECT_SCHEMA]
    if r.role is Role.REPLICA:
        needed.append(Privilege.REPLICA_MONITOR)
    if r.performance_schema:
        needed.append(Privilege.SELECT_PERFORMANCE_SCHEMA)
    missing = tuple(p for p in needed if p not in r.held)
    warnings = []
    if r.flavour is Flavour.MARIADB and r.statement_time_limit > 0:
        warnings.append(
            f"{r.server}: max_statement_time={r.statement_time_limit:g}s kills any ALTER that runs longer (ERROR 1317); "
            "set it to 0 for the migration session"
        )
    if r.lock_wait_timeout > 60:
        warnings.append(
            f"{r.server}: lock_wait_timeout={r.lock_wait_timeout:g}s lets a migration's DDL queue every query on its "
            "table behind a metadata lock for that long; set 5-10 s for the migration session (database.yml variables)"
        )
    if "STRICT_TRANS_TABLES" not in r.sql_mode and "STRICT_ALL_TABLES" not in r.sql_mode:
        warnings.append(f"{r.server}: sql_mode is not strict: NOT NULL changes silently turn NULLs into defaults")
    if not r.foreign_key_checks:
        warnings.append(f"{r.server}: foreign_key_checks is OFF globally: new foreign keys will accept orphaned rows")
    if not r.performance_schema:
        warnings.append(f"{r.server}: performance_schema is OFF: index-build progress from the processlist only")
    return Probe(readings=r, missing=missing, warnings=tuple(warnings))


def _allowed(server: Server, sql: str) -> bool:
    try:
        server.query(sql, timeout=5.0)
        return True
    except QueryError as e:
        if e.code in _DENIED:
            return False
        raise


def read(server: Server) -> Readings:
    flavour = server.flavour
    held = set()
    if _allowed(server, "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX"):
        held.add(Privilege.PROCESS)
    if _allowed(server, "SHOW REPLICA STATUS" if _has_show_replica(flavour, server.version) else "SHOW SLAVE STATUS"):
        held.add(Privilege.REPLICA_MONITOR)
    if _allowed(server, "SELECT COUNT(*) AS n FROM performance_schema.setup_consumers"):
        held.add(Privilege.SELECT_PERFORMANCE_SCHEMA)
    if _can_select_schema(server):
        held.add(Privilege.SELECT_SCHEMA)
    limit_var = "@@GLOBAL.max_statement_time" if flavour is Flavour.MARIADB else "@@GLOBAL.max_execution_time / 1000"
    row = server.query_one(
        f"SELECT CURRENT_USER() AS account, DATABASE() AS db, @@performance_schema AS ps, "
        f"@@GLOBAL.lock_wait_timeout AS lwt, {limit_var} AS stl, @@GLOBAL.sql_mode AS sql_mode, "
        f"@@GLOBAL.foreign_key_checks AS fkc"
    )
    assert row is not None
    return Readings(
        server=server.name,
        role=server.role,
        flavour=flavour,
        version=server.version,
        version_text=server.version_text,
        database=row["db"],
        account=row["account"],
        held=frozenset(held),
        performance_schema=bool(int(row["ps"])),
        lock_wait_timeout=float(row["lwt"]),
        statement_time_limit=float(row["stl"] or 0),
        sql_mode=row["sql_mode"] or "",
        foreign_key_checks=bool(int(row["fkc"])),
    )


def _has_show_replica(flavour: Flavour, version: tuple[int, int, int]) -> bool:
    return version >= ((10, 5, 1) if flavour is Flavour.MARIADB else (8, 0, 22))


def _can_select_schema(server: Server) -> bool:
    """SELECT on one of the schema's tables; an account that sees no table at all has no SELECT worth the name."""
    row = server.query_one(
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME LIMIT 1"
    )
    if row is None:
        grants = server.query("SHOW GRANTS FOR CURRENT_USER()")
        database = server.url.database
        return any(_grants_select(next(iter(g.values())), database) for g in grants)
    return _allowed(server, f"SELECT 1 FROM `{row['t']}` LIMIT 0")


def _grants_select(line: str, database: str) -> bool:
    """A SHOW GRANTS line giving SELECT (or ALL) on every table of `database`."""
    upper = line.upper()
    if not upper.startswith("GRANT ") or " ON " not in upper:
        return False
    privs, _, rest = line[6:].partition(" ON ")
    scope = rest.split(" TO ")[0].strip().replace("`", "").replace("\\_", "_")
    privs_upper = privs.upper()
    if "ALL PRIVILEGES" not in privs_upper and "SELECT" not in [p.strip() for p in privs_upper.split(",")]:
        return False
    return scope in ("*.*", f"{database}.*")


def probe(server: Server) -> Probe:
    return decide(read(server))
