"""Likely cause: the sections' findings ranked into causes, each with its evidence and the next step.

Pure. Each rule knows the findings it explains, how sure it is (its score) and what to do; a finding used by a
stronger cause is not offered again as a cause of its own. The strongest rule is the outage this command was written
for: code serving without the schema its commit declares, joined with the failed migration that should have built it
and the full scans the missing index causes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from shipit.report.diagnose.findings import Finding, Kind


@dataclasses.dataclass(frozen=True)
class Cause:
    score: int
    title: str
    evidence: tuple[str, ...]
    next_step: str
    explains: tuple[Finding, ...]

    def to_json(self) -> dict:
        return {"score": self.score, "cause": self.title, "evidence": list(self.evidence), "next": self.next_step,
                "explains": [f.kind.value for f in self.explains]}


def _of(findings: Sequence[Finding], *kinds: Kind) -> list[Finding]:
    return [f for f in findings if f.kind in kinds]


def _scans_served_by(index: Finding, scans: list[Finding]) -> list[Finding]:
    """Full scans on the missing index's table that filter on its leading column."""
    return [s for s in scans if s.table == index.table and index.columns and index.columns[0] in s.columns]


def _schema_behind_code(findings: Sequence[Finding]) -> Cause | None:
    missing = _of(findings, Kind.MISSING_SCHEMA)
    pending = _of(findings, Kind.PENDING_MIGRATION)
    if not missing and not pending:
        return None
    jobs = _of(findings, Kind.JOB_FAILED)
    scans = _of(findings, Kind.FULL_SCAN)
    parts, used = [], [*missing, *pending, *jobs]
    parts += [m.summary for m in missing[:3]]
    if len(missing) > 3:
        parts.append(f"{len(missing) - 3} more objects are missing")
    if pending:
        parts.append(f"migration {', '.join(p.subject for p in pending[:3])} "
                     f"{'is' if len(pending) == 1 else 'are'} not applied")
    parts += [f"Job {j.subject} failed" + (f" with {j.evidence[-1]}" if j.evidence else "") for j in jobs[:1]]
    for m in missing:
        for s in _scans_served_by(m, scans):
            if s not in used:
                used.append(s)
                parts.append(s.summary)
    score = 100 + 10 * bool(jobs) + 10 * any(s.kind is Kind.FULL_SCAN for s in used)
    fix = "fix the failed migration's cause (its error above), run the migration" if jobs else "run the migration"
    evidence = tuple(dict.fromkeys(e for f in used for e in f.evidence))  # once each, in finding order
    return Cause(score, "the serving code's schema is not there: " + "; ".join(parts), evidence,
                 f"{fix}, or roll the code back with `shipit rollback`", tuple(used))


def _crashing_release(findings: Sequence[Finding]) -> Cause | None:
    pods = _of(findings, Kind.POD_FAILING, Kind.ROLLOUT_FAILING)
    if not pods:
        return None
    first = next((p for p in pods if p.kind is Kind.POD_FAILING), pods[0])
    logs = tuple(e for p in pods for e in p.evidence if e.startswith("log:"))[:3]
    return Cause(90, f"the serving release's pods are failing: {first.summary}", logs or first.evidence[:3],
                 "read the log lines above; roll back with `shipit rollback` (or fix and release a new image)",
                 tuple(pods))


def _mdl_pileup(findings: Sequence[Finding]) -> Cause | None:
    waits = _of(findings, Kind.MDL_WAIT)
    if not waits:
        return None
    w = waits[0]
    blockers = w.subject or "unidentified"
    return Cause(85, f"DDL on {w.table} waits for a metadata lock and {w.count} queries queue behind it",
                 (w.summary, *w.evidence), f"end the blocking session ({'KILL ' + blockers if w.subject else 'see above'}) "
                 "if its transaction may go, or stop the DDL (KILL QUERY on its connection)", tuple(waits))


def _full_scans(findings: Sequence[Finding]) -> Cause | None:
    scans = _of(findings, Kind.FULL_SCAN)
    if not scans:
        return None
    s = max(scans, key=lambda f: f.count)
    return Cause(70, s.summary, s.evidence, "add the index named above (or roll back the code that sends this query)",
                 tuple(scans))


def _failed_job(findings: Sequence[Finding]) -> Cause | None:
    jobs = _of(findings, Kind.JOB_FAILED)
    if not jobs:
        return None
    return Cause(60, jobs[0].summary, jobs[0].evidence, "fix the error above, then run the migration again",
                 tuple(jobs))


def _replica_lag(findings: Sequence[Finding]) -> Cause | None:
    lags = _of(findings, Kind.REPLICA_LAG)
    if not lags:
        return None
    return Cause(50, "; ".join(f.summary for f in lags), tuple(e for f in lags for e in f.evidence),
                 "check the replica's SQL thread and what it replays (a long DDL or transaction); reads from it are stale",
                 tuple(lags))


def _unreadable(findings: Sequence[Finding]) -> Cause | None:
    down = _of(findings, Kind.SERVER_UNREADABLE)
    if not down:
        return None
    return Cause(45, "; ".join(f.summary for f in down), (), "check that server and shipit's access to it "
                 "(what was read from the others is above)", tuple(down))


def _database_load(findings: Sequence[Finding]) -> Cause | None:
    load = _of(findings, Kind.PILEUP, Kind.THREADS_RUNNING, Kind.LONG_TRANSACTION)
    if not load:
        return None
    return Cause(40, "; ".join(f.summary for f in load[:3]), tuple(e for f in load for e in f.evidence)[:3],
                 "find what sends the piling query shape (a new release, a job) and stop or fix it", tuple(load))


def _release_failed(findings: Sequence[Finding]) -> Cause | None:
    records = _of(findings, Kind.RELEASE_FAILED)
    if not records:
        return None
    return Cause(35, records[0].summary, records[0].evidence, "`shipit status` shows it phase by phase",
                 tuple(records))


def _http_failing(findings: Sequence[Finding]) -> Cause | None:
    http = _of(findings, Kind.HTTP_FAILING)
    if not http:
        return None
    return Cause(30, "; ".join(f.summary for f in http), (), "the app is failing its health checks; see the causes above",
                 tuple(http))


def _errors_rising(findings: Sequence[Finding]) -> Cause | None:
    errors = _of(findings, Kind.ERROR_RATE)
    if not errors:
        return None
    return Cause(28, errors[0].summary, errors[0].evidence,
                 "the error tracker names the failing endpoints; with no cause above, roll the code back: "
                 "`shipit rollback`", tuple(errors))


RULES: tuple[Callable[[Sequence[Finding]], Cause | None], ...] = (
    _schema_behind_code, _crashing_release, _mdl_pileup, _full_scans, _failed_job, _replica_lag, _unreadable,
    _database_load,
    _release_failed, _http_failing, _errors_rising,
)


def rank(findings: Sequence[Finding]) -> tuple[Cause, ...]:
    """Causes strongest first; each finding explains at most one cause (RULES are in order of strength)."""
    left = list(findings)
    causes = []
    for rule in RULES:
        cause = rule(left)
        if cause is not None:
            causes.append(cause)
            left = [f for f in left if f not in cause.explains]
    return tuple(sorted(causes, key=lambda c: -c.score))
