"""Concurrency risks before a migration: sessions that would stall its metadata lock, another migrator.

Read from the primary, where the migration will run. Each risk says whether it blocks and what ends it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence

from shipit.db import migration_state as ms
from shipit.db.connection import Server

IDLE_IN_TRANSACTION_MAX = 10.0  # an idle transaction holds its metadata locks until it ends


class RiskKind(str, enum.Enum):
    LONG_TRANSACTION = "long_transaction"
    IDLE_IN_TRANSACTION = "idle_in_transaction"
    MIGRATOR = "migrator"
    PARTIAL_MIGRATION = "partial_migration"
    GRANTS = "grants"
    SETTING = "setting"
    REPLICA = "replica"
    REBUILD = "rebuild"


@dataclasses.dataclass(frozen=True)
class Risk:
    kind: RiskKind
    message: str
    blocking: bool

    def to_json(self) -> dict:
        return {"kind": self.kind.value, "message": self.message, "blocking": self.blocking}


@dataclasses.dataclass(frozen=True)
class Transaction:
    connection_id: int
    age_s: float
    command: str  # 'Sleep' = idle in the transaction
    idle_s: float
    user: str
    host: str
    statement: str
    rows_modified: int


def read_transactions(server: Server) -> tuple[Transaction, ...]:
    rows = server.query(
        "SELECT t.trx_mysql_thread_id AS id, TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) / 1e6 AS age, "
        "p.COMMAND AS command, p.TIME AS idle, p.USER AS user, p.HOST AS host, LEFT(p.INFO, 120) AS info, "
        "t.trx_rows_modified AS modified FROM information_schema.INNODB_TRX t "
        "LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
        "WHERE t.trx_mysql_thread_id <> CONNECTION_ID() ORDER BY t.trx_started"
    )
    return tuple(
        Transaction(int(r["id"]), float(r["age"] or 0), r["command"] or "", float(r["idle"] or 0), r["user"] or "",
                    r["host"] or "", r["info"] or "", int(r["modified"] or 0))
        for r in rows
    )


def transaction_risks(trxs: Sequence[Transaction], long_transaction: float,
                      idle_max: float = IDLE_IN_TRANSACTION_MAX) -> tuple[Risk, ...]:
    """Old or idle transactions hold metadata locks the ALTER needs; while it waits, every query on the table
    queues behind it. Each is named with what ends it."""
    risks = []
    for t in trxs:
        who = f"connection {t.connection_id} ({t.user}@{t.host})"
        if t.command == "Sleep" and t.idle_s >= idle_max:
            risks.append(Risk(RiskKind.IDLE_IN_TRANSACTION,
                              f"{who} is idle in a transaction open for {t.age_s:.0f}s (idle {t.idle_s:.0f}s, "
                              f"{t.rows_modified} rows modified): it would block the migration's metadata lock; "
                              f"commit it or KILL {t.connection_id}", True))
        elif t.age_s >= long_transaction:
            doing = f" running: {t.statement}" if t.statement else ""
            risks.append(Risk(RiskKind.LONG_TRANSACTION,
                              f"{who} has a transaction open for {t.age_s:.0f}s (> preflight.long_transaction "
                              f"{long_transaction:g}s){doing}: it would block the migration's metadata lock", True))
    return tuple(risks)


def migrator_risks(activity: Sequence[ms.MigratorActivity], affected_tables: set[str]) -> tuple[Risk, ...]:
    """A live migrator blocks; a leftover artefact blocks only on a table this release changes."""
    out = []
    for a in activity:
        on_ours = a.table is not None and a.table.lower() in affected_tables
        suffix = "" if a.live or on_ours else " (leftover; drop it when convenient: dropping a big table takes locks)"
        out.append(Risk(RiskKind.MIGRATOR, f"{a.describe()}{suffix}", a.live or on_ours))
    return tuple(out)


def rebuild_risks(server: Server, migrations: Sequence) -> tuple[Risk, ...]:
    """Operations that rebuild a MySQL table (ALGORITHM=COPY), with the table's size: writes wait for the copy."""
    from shipit.db.estimate import read_sizes
    from shipit.planning.classify import rebuilds

    found = [(m, op, why) for m in migrations for op in getattr(m, "operations", ()) if op.table
             for why in [rebuilds(op)] if why]
    sizes = read_sizes(server, {op.table for _, op, _ in found}) if found else {}
    out = []
    for m, op, why in found:
        size = sizes.get(op.table.lower())
        if size is not None:
            out.append(Risk(RiskKind.REBUILD, f"migration {m.version} line {op.line}: {why} rebuilds {op.table} "
                                              f"({size.describe()}): writes to it wait for the whole copy", False))
    return tuple(out)
