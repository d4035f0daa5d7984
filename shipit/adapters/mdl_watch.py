"""The metadata-lock watchdog around a migration Job: a thread polling each migrated database's primary, and the
diagnosis when it had to kill the migration's own DDL."""

from __future__ import annotations

import time

from shipit.adapters.polling import BackgroundPoll
from shipit.core.config import Config
from shipit.core.errors import ShipitError
from shipit.release.diagnosis import Diagnosis

MDL_POLL = 0.5  # the watchdog's poll of the primary during a migration: one processlist read if all is well
MDL_QUIET_REPEAT = 2.0  # seconds between progress lines about a metadata-lock wait


def _session(b) -> str:
    """One blocking session as a person reads it: who, idle or running, how long in a transaction, its last SQL."""
    parts = [f"{b.user}@{b.host}"]
    if b.command == "Sleep":
        parts.append(f"idle {b.state_s:.0f}s")
    else:
        parts.append(f"running {b.statement[:120]!r} for {b.state_s:.0f}s" if b.statement else
                     f"{b.command.lower()} for {b.state_s:.0f}s")
    if b.trx_age_s is not None:
        parts.append(f"in a transaction for {b.trx_age_s:.0f}s")
    if b.last_statement:
        parts.append(f"last statement {b.last_statement[:120]!r}")
    return f"session {b.conn_id} ({', '.join(parts)})"


def mdl_diagnosis(wait, decision, log_tail: tuple[str, ...] = ()) -> Diagnosis:
    """The diagnosis after the watchdog killed our own DDL: which statement waited for whom, how many queries were
    stuck behind it, and that ending the blocking session comes before a rerun (the rerun would queue again)."""
    ddl = wait.ddl
    kind = ddl.kind.value.replace("_", " ").upper()
    table = ddl.table
    holders = "; ".join(_session(b) for b in wait.blockers) or "a session shipit could not identify"
    ids = ", ".join(str(b.conn_id) for b in wait.blockers)
    if wait.blockers:
        next_ = (f"end the transaction of session {ids} (COMMIT or ROLLBACK in its client, or `KILL {wait.blockers[0].conn_id}`"
                 " if it is abandoned), then release again")
    else:
        next_ = f"find the session holding a lock on {table} (`shipit db status`), end it, then release again"
    return Diagnosis(
        what=f"the migration's {kind} on {table} was stuck behind a metadata lock; shipit killed it",
        why=(f"the {kind} on {table} waited {ddl.elapsed_s:.0f}s for a metadata lock held by {holders}; "
             f"{len(wait.victims)} queries were queued behind it"),
        details=(wait.describe(), *log_tail),
        did=(f"killed its own {kind} (KILL QUERY {ddl.conn_id}; the blocking session was left alone) so the queued "
             "queries run and the app recovers"),
        next=next_,
    )


class MdlWatch(BackgroundPoll):
    """The metadata-lock watchdog on a thread for the life of one migration Job; remembers the kill of our DDL (an
    ended blocker, when configured, lets the migration go on, so it is only logged)."""

    name = "shipit-mdl-watchdog"

    def __init__(self, guard, view, interval: float = MDL_POLL):
        super().__init__(interval)
        self.guard = guard
        self.view = view
        self.killed = None  # (MdlWait, MdlDecision) once the guard killed our DDL
        self._shown_at, self._shown = 0.0, None  # a line when what waits changes, else one per MDL_QUIET_REPEAT

    def tick(self) -> bool:
        from shipit.db.mdl import MdlAction

        try:
            verdict = self.guard.poll()
        except ShipitError as e:  # a monitoring hiccup must not fail the migration it watches
            key, line = str(e), f"metadata-lock watchdog: cannot read the primary: {e}"
        else:
            if verdict.acted:
                self.view.progress(f"metadata-lock watchdog: {verdict.acted[1].reason}")
                if verdict.acted[1].action is MdlAction.KILL_OUR_DDL:
                    self.killed = verdict.acted
                    return True
                return False
            if not verdict.waits:
                return False
            key = tuple((w.ddl.conn_id, d.action) for w, d in zip(verdict.waits, verdict.decisions))
            line = "; ".join(w.describe() for w in verdict.waits)
        now = time.monotonic()
        if key != self._shown or now - self._shown_at >= MDL_QUIET_REPEAT:
            self._shown_at, self._shown = now, key
            self.view.progress(line)
        return False

def mdl_guard(server, cfg: Config, operations):
    """The watchdog for a migration Job on one database's primary: our DDL is the Rails lock holder's, on the tables
    these operations change (any table when one of them runs raw SQL)."""
    from shipit.db.mdl import MdlPolicy, MigrationGuard

    ops = list(operations)
    tables = None if any(op.table is None for op in ops) else frozenset(op.table.lower() for op in ops)
    wait, users = cfg.migration.lock_wait_max, frozenset(cfg.migration.kill_idle_blockers)
    policy = MdlPolicy(ddl_wait_s=wait, victim_wait_s=wait, kill_blockers=bool(users), blocker_users=users)
    return MigrationGuard(server, policy, tables)


class EachGuard:
    """One guard per database the Job migrates, polled in turn; a guard that acted ends the poll (one kill a poll)."""

    def __init__(self, guards) -> None:
        self.guards = tuple(guards)

    def poll(self):
        from shipit.db.mdl import GuardVerdict

        waits, decisions = (), ()
        for guard in self.guards:
            verdict = guard.poll()
            if verdict.acted:
                return verdict
            waits, decisions = waits + verdict.waits, decisions + verdict.decisions
        return GuardVerdict(waits, decisions)


def migration_guard(database, cfg: Config, migrations) -> EachGuard:
    """Every migrated database's guard (a `MysqlDatabase` port: each migration's own database's primary)."""
    from shipit.db.databases import by_database

    return EachGuard(mdl_guard(database.servers_of(name).primary, cfg, [op for m in group for op in m.operations])
                     for name, group in by_database(migrations))
