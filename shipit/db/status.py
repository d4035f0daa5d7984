"""One reading of everything `shipit db status` shows: running DDL with progress and ETA, metadata-lock waits,
replica lag and health, from the primary and every replica.

A server that cannot be read is reported as such and the others are still read: during an incident a status command
that dies on the first unreachable replica is no use. Only the reading is I/O; rendering is pure.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from shipit.db.connection import Role, Servers
from shipit.db.ddl_watch import DdlProgress, DdlWatcher, ProgressSource
from shipit.db.health import HealthThresholds, ServerHealth, read_server_health, read_threads
from shipit.db.mdl import MdlWait, MdlWatchdog, migration_lock_holder, our_ddl_connections, suggested_action
from shipit.db.osc import LogProgress, OscRun, OscTool, assess, read_server_osc
from shipit.db.progress_readiness import ProgressReadiness, read_progress_readiness
from shipit.core.errors import ShipitError

STATEMENT_MAX = 500  # characters of a DDL statement shown


@dataclasses.dataclass(frozen=True)
class DbStatus:
    ddl: tuple[DdlProgress, ...]
    mdl_waits: tuple[MdlWait, ...]
    health: tuple[ServerHealth, ...]
    errors: tuple[tuple[str, str], ...]  # (server, why it could not be read)
    primary: str
    mdl_actions: tuple[str, ...]  # per wait: what shipit would do (our DDL) or the person should (see mdl.py)
    osc: tuple[OscRun, ...] = ()  # gh-ost / pt-osc / LHM runs and leftovers, per server
    progress: tuple[ProgressReadiness, ...] = ()  # per server: can index-build progress be read

    def to_json(self) -> dict:
        primary = next((h for h in self.health if h.name == self.primary), None)
        return {
            "ddl": [{
                "server": p.ddl.server, "schema": p.ddl.schema, "table": p.ddl.table, "kind": p.ddl.kind.value,
                "statement": p.ddl.statement[:STATEMENT_MAX], "connection": p.ddl.conn_id,
                "replaying": p.ddl.replicated, "phase": p.phase, "progress": p.pct, "progress_source": p.source.value,
                "eta_s": None if p.eta_s is None else round(p.eta_s, 1), "elapsed_s": round(p.ddl.elapsed_s, 1),
            } for p in self.ddl],
            "mdl_waits": [{
                "server": w.server, "table": w.ddl.table, "connection": w.ddl.conn_id,
                "waited_s": round(w.ddl.elapsed_s, 1), "victims": len(w.victims),
                "longest_victim_wait_s": round(w.max_victim_wait_s, 1), "source": w.source.value,
                "blockers": [{
                    "connection": b.conn_id, "user": b.user, "host": b.host, "command": b.command,
                    "idle_in_transaction": b.idle_in_transaction, "state_s": round(b.state_s, 1),
                    "transaction_age_s": None if b.trx_age_s is None else round(b.trx_age_s, 1),
                    "statement": b.statement, "last_statement": b.last_statement, "lock_type": b.lock_type,
                } for b in w.blockers],
                "description": w.describe(), "action": action,
            } for w, action in zip(self.mdl_waits, self.mdl_actions)],
            "replicas": [{
                "name": h.name, "lag_s": h.lag.lag_s if h.lag else None,
                "io_running": h.lag.io_running if h.lag else None, "sql_running": h.lag.sql_running if h.lag else None,
                "error": h.lag.error if h.lag else "",
            } for h in self.health if h.role is Role.REPLICA],
            "health": {
                "threads_running": primary.threads_running if primary else None,
                "threads_connected": primary.threads_connected if primary else None,
                "pileups": [{"server": h.name, "fingerprint": g.fingerprint, "threads": g.count,
                             "max_time_s": round(g.max_time_s, 1)} for h in self.health for g in h.pileups],
                "servers": [{
                    "name": h.name, "role": h.role.value, "threads_running": h.threads_running,
                    "threads_connected": h.threads_connected, "mdl_waiters": h.mdl_waiters,
                    "oldest_transaction_s": None if h.oldest_trx_s is None else round(h.oldest_trx_s, 1),
                    "long_queries": len(h.long_queries),
                } for h in self.health],
            },
            "online_schema_changes": [{
                "server": r.server, "schema": r.schema, "tool": r.tool.value, "table": r.table, "state": r.state.value,
                "artifacts": [a.name for a in r.artifacts], "heartbeat_age_s": r.heartbeat_age_s,
                "changelog_state": r.ghost_state or None,
                "description": r.describe(), "cleanup_sql": list(r.cleanup_sql()) if r.state.is_failure else [],
            } for r in self.osc],
            "progress_readiness": [{
                "server": p.server, "ready": p.ready, "missing": list(p.missing), "fix": list(p.fix),
                "without": p.without,
            } for p in self.progress],
            "errors": [{"server": s, "error": e} for s, e in self.errors],
        }

    def render_text(self) -> str:
        lines = ["Running DDL:" if self.ddl else "Running DDL: none"]
        lines += [f"  {p.describe()}" for p in self.ddl]
        lines.append("Metadata-lock waits:" if self.mdl_waits else "Metadata-lock waits: none")
        lines += [f"  {w.describe()}\n    action: {action}" for w, action in zip(self.mdl_waits, self.mdl_actions)]
        for h in self.health:
            lag = f", {h.lag.describe()}" if h.lag else ""
            trx = f", oldest transaction {h.oldest_trx_s:.0f}s" if h.oldest_trx_s is not None else ""
            lines.append(f"{h.name} ({h.role.value}): Threads_running {h.threads_running}, Threads_connected "
                         f"{h.threads_connected}, {h.mdl_waiters} waiting for metadata locks{trx}{lag}")
            lines += [f"  pile-up: {g.count} threads on {g.fingerprint[:160]} (longest {g.max_time_s:.1f}s)"
                      for g in h.pileups]
            lines += [f"  long query: connection {t.id} ({t.user}) {t.time_s:.0f}s" for t in h.long_queries[:5]]
        if self.osc:
            lines.append("Online schema change tools:")
            for r in self.osc:
                lines.append(f"  {r.describe()}")
                lines += [f"    {sql}" for sql in (r.cleanup_sql() if r.state.is_failure else ())]
        lines += [f"progress: {p.describe()}" for p in self.progress if not p.ready]
        lines += [f"{s}: cannot be read: {e}" for s, e in self.errors]
        return "\n".join(lines)


def read_db_status(servers: Servers, thresholds: HealthThresholds, *, sample_interval: float = 1.0,
                   sleep: Callable[[float], None] = time.sleep) -> DbStatus:
    """Read every server once; when DDL with progress is running, read it again after `sample_interval` for an ETA."""
    errors: dict[str, str] = {}
    readable = []
    health = []
    for s in servers.all():
        try:
            health.append(read_server_health(s, thresholds))
            readable.append(s)
        except ShipitError as e:
            errors[s.name] = str(e)
    live = Servers(readable[0], tuple(readable[1:])) if readable else None
    ddl: tuple[DdlProgress, ...] = ()
    waits: list[MdlWait] = []
    actions: list[str] = []
    osc: list[OscRun] = []
    progress: list[ProgressReadiness] = []
    if live is not None:
        watcher = DdlWatcher(live)
        try:
            ddl = watcher.poll()
            if any(p.pct is not None for p in ddl) and sample_interval > 0:
                sleep(sample_interval)
                ddl = watcher.poll()
        except ShipitError as e:
            errors.setdefault("ddl watch", str(e))
        for s in live.all():
            try:
                threads = read_threads(s)
                found = MdlWatchdog(s).check(threads)
                ours = our_ddl_connections(threads, migration_lock_holder(s)) if found else frozenset()
                waits.extend(found)
                actions.extend(suggested_action(w, ours) for w in found)
                progress.append(read_progress_readiness(s))
                found_osc = read_server_osc(s)
                copying = {(OscTool(p.ddl.kind.value), p.ddl.table) for p in ddl
                           if p.ddl.server == s.name and p.ddl.kind.value in {t.value for t in OscTool}}
                # without the tool's log, its copy chunk's key range is how far it got
                ranged = {(OscTool(p.ddl.kind.value), p.ddl.table): LogProgress(OscTool(p.ddl.kind.value), p.pct, p.eta_s)
                          for p in ddl if p.ddl.server == s.name and p.source is ProgressSource.COPY_RANGE}
                # nobody here knows whether the migration process still runs: between two chunks is "unsure"
                osc.extend(assess(found_osc, copying=copying, progress=ranged, migration_running=None))
            except ShipitError as e:
                errors.setdefault(s.name, str(e))
    return DbStatus(ddl, tuple(waits), tuple(health), tuple(errors.items()), servers.primary.name, tuple(actions),
                    tuple(osc), tuple(progress))
