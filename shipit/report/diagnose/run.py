"""`shipit diagnose`: every section's probe at once under one deadline, then the pure verdicts and the ranking.

Each source (the cluster, the database, the git repository, the HTTP gates, the error tracker) is read on its own daemon thread with
short connect and retry limits; whatever has not answered by the deadline is reported as skipped with a note, and the
command still answers in time (a hung source cannot hold the process: the threads are daemons).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from shipit.core.errors import BadInput, ShipitError
from shipit.report.diagnose import cause, database, errors, http, kubernetes, release, schema
from shipit.report.diagnose.findings import Finding, Section, SectionResult, State
from shipit.kube.pods import utcnow

BUDGET = 10.0  # seconds for the whole command, start-up included
MARGIN = 2.5  # kept for Python start-up (about 1 s), verdicts and output
CONNECT_TIMEOUT = 2.0
RETRY_BUDGET = 1.0
REQUEST_TIMEOUT = (2.0, 3.0)  # Kubernetes connect, read


_TITLES = {Section.RELEASE: "Release", Section.KUBERNETES: "Kubernetes", Section.DATABASE: "Database",
           Section.DRIFT: "Schema drift", Section.HTTP: "HTTP", Section.ERRORS: "Error tracker"}


@dataclasses.dataclass(frozen=True)
class Report:
    sections: tuple[SectionResult, ...]
    causes: tuple[cause.Cause, ...]
    elapsed_s: float
    commit: str | None
    source_s: tuple[tuple[str, float | None], ...] = ()  # each source's read time; None: no answer in time

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for s in self.sections for f in s.findings)

    @property
    def unchecked(self) -> tuple[SectionResult, ...]:
        return tuple(s for s in self.sections if s.state is State.SKIPPED)

    @property
    def ok(self) -> bool:
        """Nothing wrong found, and everything checked: a skipped source is never reported as fine."""
        return not self.findings and not self.unchecked

    def to_json(self) -> dict:
        return {"ok": self.ok, "elapsed_s": round(self.elapsed_s, 2), "serving_commit": self.commit,
                "unchecked": [s.section.value for s in self.unchecked],
                "source_s": {name: None if s is None else round(s, 2) for name, s in self.source_s},
                "likely_causes": [c.to_json() for c in self.causes],
                "sections": {s.section.value: s.to_json() for s in self.sections}}

    def render_text(self) -> str:
        head = f"{len(self.findings)} problems" if self.findings else "nothing wrong found"
        if self.unchecked:
            head += "; not checked: " + ", ".join(_TITLES[s.section] for s in self.unchecked)
        lines = [f"shipit diagnose: {head} ({self.elapsed_s:.1f}s)"]
        if self.causes:
            lines.append("Likely cause:")
            for i, c in enumerate(self.causes, 1):
                lines.append(f"  {i}. {c.title}")
                lines += [f"     evidence: {e}" for e in c.evidence[:6]]
                lines.append(f"     next: {c.next_step}")
        for s in self.sections:
            title = _TITLES[s.section]
            state = {State.OK: "ok", State.PROBLEMS: "PROBLEMS", State.SKIPPED: "skipped"}[s.state]
            lines.append(f"{title}: {state}" + (f" ({s.note})" if s.note else ""))
            lines += [f"  {ln}" for ln in s.lines[:14]]
            if len(s.lines) > 14:
                lines.append(f"  ... {len(s.lines) - 14} more lines (--output json has them all)")
        return "\n".join(lines)


class _Source(threading.Thread):
    """One source read on a daemon thread; its result or its error is kept for the verdicts."""

    def __init__(self, name: str, fn: Callable[[], Any]):
        super().__init__(name=f"diagnose-{name}", daemon=True)
        self.fn, self.result, self.error, self.seconds = fn, None, "", None

    def run(self) -> None:
        started = time.monotonic()
        try:
            self.result = self.fn()
        except ShipitError as e:
            self.error = str(e)
        except Exception as e:  # noqa: BLE001 - a source failing any other way is reported, never a traceback
            self.error = f"{type(e).__name__}: {e}"
        self.seconds = time.monotonic() - started


def _kube(cfg: Any) -> Any:
    from shipit.kube.client import Kube

    kube = Kube.from_config(cfg.kubernetes)
    kube.retry_budget = RETRY_BUDGET
    pool = kube.api_client.rest_client.pool_manager  # every request, including logs and records, gets a timeout
    import urllib3

    pool.connection_pool_kw["timeout"] = urllib3.Timeout(connect=REQUEST_TIMEOUT[0], read=REQUEST_TIMEOUT[1])
    pool.clear()
    return kube


def servers_for(cfg: Any) -> Any:
    from shipit.db.connection import servers_from_config

    servers = servers_from_config(cfg.database, retry_budget=RETRY_BUDGET)
    for s in servers.all():
        s.connect_timeout = CONNECT_TIMEOUT
    return servers


def _resolver(cfg: Any) -> Callable[[str], str | None]:
    from shipit.planning.gitrepo import GitRepo

    repo = GitRepo(cfg.repo)

    def resolve(sha: str) -> str | None:
        try:
            return repo.resolve(sha)
        except BadInput:
            return None
    return resolve


def serving_commit_of(cfg: Any) -> str:
    """The commit the configured Deployments serve (for `shipit db drift` without --at); BadInput when unknown."""
    facts = release.probe(_kube(cfg), cfg, _resolver(cfg))
    commit = release.serving_commit(facts, cfg)
    if commit is None:
        raise BadInput("the Deployments' images do not map to one commit through image.tag: pass --at REF")
    return commit


def _usual(facts: Any) -> tuple:
    """The load before shipit's last release, from its record (none without one)."""
    from shipit.adapters.records import usual_load_of

    return usual_load_of(facts.record) if facts is not None and facts.record is not None else ()


def diagnose(cfg: Any, *, since: float, budget: float = BUDGET, started: float | None = None) -> Report:
    """Read every source within `budget` seconds of `started` (monotonic) and judge what was read."""
    from shipit.db.drift import read_drift
    from shipit.db.health import HealthThresholds
    from shipit.planning.gitrepo import GitRepo
    from shipit.planning.schema_file import load_schema

    started = time.monotonic() if started is None else started
    deadline = started + budget - MARGIN
    now = utcnow()
    th = HealthThresholds.from_gates(cfg.gates)
    release_ready = threading.Event()
    shared: dict[str, Any] = {}

    def read_cluster() -> tuple[Any, Any]:
        try:
            kube = _kube(cfg)
            facts = release.probe(kube, cfg, _resolver(cfg))
            shared["release"] = facts
        finally:
            release_ready.set()
        return facts, kubernetes.probe(kube, cfg, facts.pods, since=since, now=now)

    servers = servers_for(cfg)  # one connection per server, shared: each Server serialises its own queries

    def read_database() -> Any:
        return database.probe(servers, th)

    def read_schema_drift() -> Any:
        release_ready.wait(max(0.0, deadline - time.monotonic() - 0.25))  # time left to say why it gave up
        facts = shared.get("release")
        commit = release.serving_commit(facts, cfg) if facts else None
        if commit is None and facts is not None and facts.record is not None:
            commit = facts.record.to_sha
        if commit is None:
            raise ShipitError("the serving commit is unknown (cluster not read, or Deployments on different commits)")
        model = load_schema(GitRepo(cfg.repo), commit)
        if model is None:
            raise ShipitError(f"commit {commit[:12]} has neither db/schema.rb nor db/structure.sql")
        shared["model"] = model
        return read_drift(servers, model, commit)

    def read_http() -> Any:
        return http.probe(cfg.gates.http, timeout=max(0.5, min(3.0, deadline - time.monotonic())))

    def read_errors() -> Any:
        release_ready.wait(max(0.0, deadline - time.monotonic() - 2.5))  # the record says when the release started
        start, what = errors.release_start(shared.get("release"), since, time.time())
        return errors.probe(cfg.gates.errors, since=start, since_what=what,
                            timeout=max(0.3, min(2.0, (deadline - time.monotonic() - 0.2) / 2)))

    sources = {"cluster": _Source("cluster", read_cluster), "database": _Source("database", read_database),
               "drift": _Source("drift", read_schema_drift), "http": _Source("http", read_http)}
    if cfg.gates.errors is not None:
        sources["errors"] = _Source("errors", read_errors)
    for s in sources.values():
        s.start()
    for s in sources.values():
        s.join(max(0.0, deadline - time.monotonic()))
    if not sources["database"].is_alive() and not sources["drift"].is_alive():
        servers.close()  # else a query still holds its server's lock; the process ends without waiting for it

    def outcome(name: str) -> tuple[Any, str]:
        src = sources[name]
        if src.is_alive():
            return None, f"no answer within {budget - MARGIN:.1f}s"
        return src.result, src.error

    sections: list[SectionResult] = []
    drift, drift_why = outcome("drift")
    cluster, why = outcome("cluster")
    if cluster is None:
        sections += [SectionResult.skipped(Section.RELEASE, f"Kubernetes: {why}"),
                     SectionResult.skipped(Section.KUBERNETES, f"Kubernetes: {why}")]
    else:
        sections += [release.verdict(cluster[0], cfg, now=now, drift=drift),
                     kubernetes.verdict(cluster[1], cfg, now=now)]
    db, why = outcome("database")
    sections.append(SectionResult.skipped(Section.DATABASE, why) if db is None
                    else database.verdict(db, th, shared.get("model"), _usual(shared.get("release"))))
    sections.append(SectionResult.skipped(Section.DRIFT, drift_why) if drift is None else schema.verdict(drift))
    probes, why = outcome("http")
    sections.append(SectionResult.skipped(Section.HTTP, why) if probes is None else http.verdict(probes))
    if cfg.gates.errors is None:
        sections.append(errors.not_configured())
    else:
        tracker, why = outcome("errors")
        sections.append(SectionResult.skipped(Section.ERRORS, why) if tracker is None else errors.verdict(tracker))
    findings = [f for s in sections for f in s.findings]
    commit = drift.commit if drift is not None else None
    timings = tuple((name, src.seconds) for name, src in sources.items())
    return Report(tuple(sections), cause.rank(findings), time.monotonic() - started, commit, timings)
