"""Database section: Threads_running, the processlist by fingerprint with EXPLAIN of the top shapes, long
transactions, metadata-lock waits with the blocker, running DDL, replica lag.

Light on a database that may be the outage: a fixed number of queries per server (processlist once, shared by the
pile-up, DDL and metadata-lock readings), each under the monitoring statement limit, and EXPLAIN (never the query
itself) for at most `EXPLAIN_TOP` shapes, on a replica when one is configured and readable.
"""

from __future__ import annotations

import dataclasses
import re

from shipit.core.errors import ShipitError
from shipit.db.connection import Role, Server, Servers
from shipit.db.ddl_watch import DdlProgress, DdlWatcher
from shipit.db.health import (MDL_WAIT_STATE, MONITOR_TIMEOUT, FingerprintGroup, HealthThresholds, ServerHealth, Thread,
                              UsualLoad, assess_server, read_oldest_trx, read_replica_lag, read_status, read_threads,
                              running_limits)
from shipit.db.mdl import MdlWait, MdlWatchdog
from shipit.report.diagnose.findings import Finding, Kind, Section, SectionResult
from shipit.planning.schema_file import Index, SchemaModel, Table

EXPLAIN_TOP = 3
PILING = 3  # threads on one shape that make a full scan a pile-up worth naming
_WHERE_COLUMN = re.compile(r"(?:\w+\.)?`?(\w+)`?\s*(?:=|<=>|>=|<=|<|>|\bin\s*\(|\blike\b|\bbetween\b|\bis\b)")
_NOT_COLUMNS = {"and", "or", "not", "select", "where", "from", "limit", "order", "by", "group", "having", "null"}


@dataclasses.dataclass(frozen=True)
class Plan:
    """EXPLAIN of one fingerprint's sample: the table it reads whole, if any."""

    fingerprint: str
    table: str  # the first table read with access type ALL, else the first table
    access: str  # EXPLAIN `type`
    rows: int  # rows the optimizer expects to examine on that table
    key: str | None
    possible_keys: str | None

    @property
    def full_scan(self) -> bool:
        return self.access.upper() == "ALL"


@dataclasses.dataclass(frozen=True)
class DbFacts:
    health: tuple[ServerHealth, ...]
    ddl: tuple[DdlProgress, ...]
    mdl: tuple[MdlWait, ...]
    plans: tuple[Plan, ...]
    explained_on: str
    errors: tuple[tuple[str, str], ...]  # (reading, why) that failed on a server that was read
    unreadable: tuple[tuple[str, str], ...] = ()  # (server, why) that could not be read at all


def where_columns(fp: str) -> tuple[str, ...]:
    """Pure: the columns a fingerprint filters on (after WHERE), in order, without table qualifiers."""
    _, _, tail = fp.partition(" where ")
    tail = re.split(r"\b(?:order by|group by|limit|having)\b", tail)[0]
    seen: list[str] = []
    for col in _WHERE_COLUMN.findall(tail):
        if col.lower() not in _NOT_COLUMNS and col.lower() not in seen:
            seen.append(col.lower())
    return tuple(seen)


def serving_index(table: Table | None, columns: tuple[str, ...]) -> Index | None:
    """Pure: the declared index that would serve a filter on `columns`: leading column filtered, most columns used."""
    if table is None or not columns:
        return None
    def used(ix: Index) -> int:
        n = 0
        for c in ix.columns:
            if c not in columns:
                break
            n += 1
        return n
    best = max(table.indexes, key=used, default=None)
    return best if best is not None and used(best) > 0 else None


def parse_explain(fp: str, rows: list[dict]) -> Plan | None:
    """Pure: the EXPLAIN rows of one statement as a Plan (the full-scanned table first)."""
    if not rows:
        return None
    row = next((r for r in rows if str(r.get("type") or "").upper() == "ALL"), rows[0])
    return Plan(fp, str(row.get("table") or ""), str(row.get("type") or ""), int(row.get("rows") or 0),
                row.get("key"), row.get("possible_keys"))


def _sample(group: FingerprintGroup, threads: tuple[Thread, ...], database: str) -> str | None:
    """The longest-running SELECT of the group in our database (EXPLAIN needs its literal text; never shown)."""
    ids = set(group.thread_ids)
    candidates = [t for t in threads if t.id in ids and (t.db or "") == database
                  and t.info.lstrip().lower().startswith("select")]
    return max(candidates, key=lambda t: t.time_s).info if candidates else None


def explainable(group: FingerprintGroup, locked_tables: set[str]) -> bool:
    """EXPLAIN takes the table's shared metadata lock: never for shapes queued for one, nor on a table whose DDL
    waits for its exclusive lock (the EXPLAIN would queue behind it and add to the pile)."""
    if MDL_WAIT_STATE in group.states:
        return False
    return not any(re.search(rf"\b{re.escape(t)}\b", group.fingerprint) for t in locked_tables)


def _explain_server(servers: Servers, readable: dict[str, Server]) -> Server:
    return next((s for s in servers.replicas if s.name in readable), servers.primary)


def probe(servers: Servers, th: HealthThresholds) -> DbFacts:
    errors: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    health: list[ServerHealth] = []
    threads: dict[str, tuple[Thread, ...]] = {}
    readable: dict[str, Server] = {}
    for s in servers.all():
        try:
            threads[s.name] = read_threads(s)
            status = read_status(s, ("Threads_running", "Threads_connected"))
            lag = read_replica_lag(s) if s.role is Role.REPLICA else None
            health.append(assess_server(s.name, s.role, threads[s.name], status, read_oldest_trx(s), lag, th))
            readable[s.name] = s
        except ShipitError as e:
            unreadable[s.name] = str(e)
            threads.pop(s.name, None)
    ddl: tuple[DdlProgress, ...] = ()
    waits: list[MdlWait] = []
    live = [s for s in servers.all() if s.name in readable]
    if live:
        try:
            ddl = DdlWatcher(Servers(live[0], tuple(live[1:]))).poll(threads=threads)
        except ShipitError as e:
            errors.setdefault("running DDL", str(e))
        for s in live:
            try:
                waits.extend(MdlWatchdog(s).check(threads[s.name]))
            except ShipitError as e:
                errors.setdefault(f"{s.name} metadata locks", str(e))
    plans: list[Plan] = []
    target = _explain_server(servers, readable)
    primary = next((h for h in health if h.name == servers.primary.name), None)
    if primary is not None and servers.primary.name in threads:
        locked = {w.ddl.table.lower() for w in waits}
        for g in [g for g in primary.groups if g.count >= 2 and explainable(g, locked)][:EXPLAIN_TOP]:
            sql = _sample(g, threads[servers.primary.name], servers.primary.url.database)
            if sql is None:
                continue
            try:
                plan = parse_explain(g.fingerprint, target.query("EXPLAIN " + sql, timeout=MONITOR_TIMEOUT))
            except ShipitError as e:
                errors.setdefault(f"EXPLAIN on {target.name}", str(e))
                continue
            if plan is not None:
                plans.append(plan)
    return DbFacts(tuple(health), ddl, tuple(waits), tuple(plans), target.name, tuple(errors.items()),
                   tuple(unreadable.items()))


def usual_text(u: UsualLoad | None) -> str:
    """Pure: where "usual" comes from, said so a reader can weigh it."""
    if u is None:
        return "usual unknown: no shipit release recorded this server's load"
    return f"usual p50 {u.p50:g}, p95 {u.p95:g} over {u.samples} samples before the last release"


def verdict(facts: DbFacts, th: HealthThresholds, model: SchemaModel | None = None,
            usual: tuple[UsualLoad, ...] = ()) -> SectionResult:
    """Pure: what in the readings is a problem, with its evidence; `model` (the serving commit's schema file) names
    the index that would serve a full scan; `usual` (the last release's pre-release load) sets Threads_running's
    limits as the release gates do. No server read: the section is skipped, never reported as fine."""
    if not facts.health:
        return SectionResult.skipped(Section.DATABASE, "; ".join(f"{s}: {e}" for s, e in facts.unreadable))
    lines, findings = [], []
    plans = {p.fingerprint: p for p in facts.plans}
    usual_of = {u.server: u for u in usual}
    for h in facts.health:
        u = usual_of.get(h.name)
        hold, critical = running_limits(u.p95 if u else 0.0, th)
        trx = f", oldest transaction {h.oldest_trx_s:.0f}s" if h.oldest_trx_s is not None else ""
        lines.append(f"{h.name} ({h.role.value}): Threads_running {h.threads_running} ({usual_text(u)}; hold above "
                     f"{hold:g}, critical above {critical:g}), Threads_connected "
                     f"{h.threads_connected}{trx}" + (f", {h.lag.describe()}" if h.lag else ""))
        if h.threads_running > hold:
            than = f" (usual p95 {u.p95:g})" if u else ""
            findings.append(Finding(Kind.THREADS_RUNNING, f"{h.name}: Threads_running {h.threads_running} is above "
                                    f"{hold:g}{than}", server=h.name, count=h.threads_running))
        for g in h.groups[:5]:
            p = plans.get(g.fingerprint) if h.role is Role.PRIMARY else None
            plan = (f"; EXPLAIN on {facts.explained_on}: {p.access} on {p.table}, ~{p.rows} rows, "
                    f"key {p.key or 'none'}") if p else ""
            lines.append(f"  {g.count} x {g.fingerprint[:160]} (longest {g.max_time_s:.1f}s, "
                         f"{', '.join(g.states) or 'no state'}){plan}")
            if p is not None and p.full_scan and g.count >= PILING:
                cols = where_columns(g.fingerprint)
                ix = serving_index(model.table(p.table) if model else None, cols)
                serve = (f"index that would serve it: {ix.name} ({', '.join(ix.columns)}), declared in {model.source}"
                         if ix and model else f"no declared index serves it: an index on ({', '.join(cols)}) would")
                findings.append(Finding(
                    Kind.FULL_SCAN, f"{g.count} queries on {p.table} are full scans of ~{p.rows:,} rows: {g.fingerprint[:160]}",
                    (f"EXPLAIN on {facts.explained_on}: type ALL, rows {p.rows}, possible keys {p.possible_keys or 'none'}",
                     f"longest running {g.max_time_s:.1f}s", serve),
                    table=p.table, subject=g.fingerprint, columns=cols, server=h.name,
                    count=g.count))
            elif g in h.pileups and not (MDL_WAIT_STATE in g.states and facts.mdl):  # the wait's victims
                findings.append(Finding(Kind.PILEUP, f"{g.count} threads on one query shape (longest "
                                        f"{g.max_time_s:.1f}s): {g.fingerprint[:160]}", subject=g.fingerprint,
                                        server=h.name, count=g.count))
        if h.oldest_trx_s is not None and h.oldest_trx_s > th.long_trx_s:
            findings.append(Finding(Kind.LONG_TRANSACTION, f"{h.name}: a transaction has been open "
                                    f"{h.oldest_trx_s:.0f}s", server=h.name, count=int(h.oldest_trx_s)))
        if h.lag is not None and not h.lag.within(th.replica_lag_max):
            findings.append(Finding(Kind.REPLICA_LAG, f"replica {h.lag.describe()} (limit {th.replica_lag_max:g}s)",
                                    (h.lag.error,) if h.lag.error else (), subject=h.name, server=h.name,
                                    count=int(h.lag.lag_s or 0)))
    lines += [f"running DDL: {d.describe()}" for d in facts.ddl]
    for w in facts.mdl:
        lines.append(f"metadata-lock wait: {w.describe()}")
        findings.append(Finding(Kind.MDL_WAIT, w.describe(), tuple(b.describe() for b in w.blockers),
                                table=w.ddl.table, subject=",".join(str(b.conn_id) for b in w.blockers),
                                server=w.server, count=len(w.victims)))
    lines += [f"{what}: cannot be read: {why}" for what, why in facts.errors + facts.unreadable]
    findings += [Finding(Kind.SERVER_UNREADABLE, f"{server} could not be read: {why}", subject=server, server=server)
                 for server, why in facts.unreadable]
    data = {
        "servers": [{"name": h.name, "role": h.role.value, "threads_running": h.threads_running,
                     "threads_connected": h.threads_connected, "mdl_waiters": h.mdl_waiters,
                     "oldest_transaction_s": h.oldest_trx_s, "lag_s": h.lag.lag_s if h.lag else None,
                     "usual": usual_of[h.name].to_json() if h.name in usual_of else None,
                     "fingerprints": [{"fingerprint": g.fingerprint, "count": g.count, "max_time_s": round(g.max_time_s, 1),
                                       "states": list(g.states)} for g in h.groups[:10]]} for h in facts.health],
        "explain": [{"fingerprint": p.fingerprint, "server": facts.explained_on, "table": p.table, "type": p.access,
                     "rows": p.rows, "key": p.key, "possible_keys": p.possible_keys, "full_scan": p.full_scan}
                    for p in facts.plans],
        "running_ddl": [d.describe() for d in facts.ddl],
        "errors": [{"server": s, "error": e} for s, e in facts.errors + facts.unreadable],
    }
    note = "; ".join(f"{s}: {e}" for s, e in facts.errors)
    return SectionResult.of(Section.DATABASE, lines, findings, data, note)
