"""Kubernetes section: failing pods with their last log lines and events, and recent migration Jobs with their error.

A Job counts as a migration when shipit labelled it so or when any container's command runs `db:migrate`, so a
migration started by hand with kubectl is found too. Requests are bounded: one list of Jobs, and logs/events for at
most `DETAILED` failing pods and `JOBS` Jobs (and the Secrets a Job's container takes env from, whose values are
masked in its log).
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import datetime, timedelta
from typing import Any

from shipit.report.diagnose.findings import Finding, Kind, Section, SectionResult
from shipit.kube.migration_job import LABEL_COMPONENT, decide_job
from shipit.kube.pods import PodState, classify_pod, parse_time, pod_started_at
from shipit.kube.secret_values import register_container_secrets

DETAILED = 4  # failing pods whose logs and events are read
JOBS = 3  # most recent migration Jobs read in detail
LOG_LINES = 40
UNSCHEDULABLE_GRACE = 30.0

# MySQL error messages as Rails prints them (no code) -> the server's error code, so the cause names it.
_MYSQL_ERRORS = (
    ("Cannot add or update a child row", 1452, "orphaned rows"),
    ("Duplicate entry", 1062, "duplicate values"),
    ("Duplicate key name", 1061, "the index already exists"),
    ("Duplicate column name", 1060, "the column already exists"),
    ("Lock wait timeout exceeded", 1205, "a row lock wait timed out"),
    ("Invalid use of NULL value", 1138, "NULLs in a column made NOT NULL"),
    ("Data truncated for column", 1265, "values that do not fit the new type"),
)
_FK_CALL = re.compile(r"^-- add_foreign_key\(:?\"?(\w+)\"?, :?\"?(\w+)\"?")
_FK_CLAUSE = re.compile(r"FOREIGN KEY \(`(\w+)`\) REFERENCES `(\w+)`")


def is_migration_job(job: dict) -> bool:
    labels = (job.get("metadata") or {}).get("labels") or {}
    if labels.get(LABEL_COMPONENT) == "migration":
        return True
    spec = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    return any("db:migrate" in " ".join(map(str, (c.get("command") or []) + (c.get("args") or [])))
               for c in spec.get("containers") or [])


def error_line(lines: tuple[str, ...]) -> str:
    """The line of a failed migration's log that says why: the database's error first, then any error line."""
    for pattern in (r"Mysql2::Error|ERROR \d{4}", r"Error\b|Exception\b", r"aborted"):
        hit = next((ln.strip() for ln in lines if re.search(pattern, ln)), None)
        if hit:
            return hit
    return next((ln.strip() for ln in reversed(lines) if ln.strip()), "")


def explain_error(lines: tuple[str, ...]) -> str:
    """What a known MySQL error means for the data, e.g. `ERROR 1452: orphaned rows in payments.order_id`."""
    text = "\n".join(lines)
    for message, code, meaning in _MYSQL_ERRORS:
        if message in text:
            where = ""
            if code == 1452:
                call = next((m for ln in lines if (m := _FK_CALL.match(ln.strip()))), None)
                clause = _FK_CLAUSE.search(text)
                if call and clause:
                    where = f" in {call.group(1)}.{clause.group(1)} (no matching {clause.group(2)}.id)"
            return f"ERROR {code}: {meaning}{where}"
    return ""


@dataclasses.dataclass(frozen=True)
class KubeFacts:
    pods: tuple[dict, ...]
    jobs: tuple[dict, ...]  # recent migration Jobs, newest first
    logs: dict[str, tuple[str, ...]]  # pod name -> last log lines
    events: dict[str, tuple[str, ...]]  # pod name -> its events


def _job_pods(job: dict, pods: tuple[dict, ...]) -> list[dict]:
    """The Job's pods, newest first (a retried Job has one per attempt; the last one says how it ended)."""
    uid = job["metadata"].get("uid")
    owned = [p for p in pods if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]
    return sorted(owned, key=lambda p: p["metadata"].get("creationTimestamp") or "", reverse=True)


def _failing(pods: tuple[dict, ...], cfg: Any, now: datetime) -> list[tuple[dict, Any]]:
    """App pods that will not fix themselves (pods.py's fatal verdicts) or still pending after `rollout.ready_grace`."""
    out = []
    for p in pods:
        if any(r.get("kind") == "Job" for r in p["metadata"].get("ownerReferences") or []):
            continue
        v = classify_pod(p, now=now, ready_grace=cfg.rollout.ready_grace, unschedulable_grace=UNSCHEDULABLE_GRACE)
        since = pod_started_at(p)
        stuck = since is not None and (now - since).total_seconds() > cfg.rollout.ready_grace
        if v.fatal or (v.state in (PodState.PENDING, PodState.STARTING) and stuck):
            out.append((p, v))
    return out


def recent_migration_jobs(jobs: list[dict], *, since: float, now: datetime) -> list[dict]:
    """Pure: the migration Jobs created within `since` seconds, or still running whenever they started; newest
    first, at most `JOBS`."""
    cutoff = now - timedelta(seconds=since)
    recent = [j for j in jobs if is_migration_job(j) and (
        (parse_time(j["metadata"].get("creationTimestamp")) or now) >= cutoff or (j.get("status") or {}).get("active"))]
    recent.sort(key=lambda j: j["metadata"].get("creationTimestamp") or "", reverse=True)
    return recent[:JOBS]


def probe(kube: Any, cfg: Any, pods: tuple[dict, ...], *, since: float, now: datetime) -> KubeFacts:
    jobs, _ = kube.list_json(kube.batch.list_namespaced_job, kube.namespace)
    recent = recent_migration_jobs(jobs, since=since, now=now)
    logs, events = {}, {}
    for job in recent:
        for p in _job_pods(job, pods)[:1]:
            spec = (p["spec"].get("containers") or [{}])[0]
            register_container_secrets(kube, spec)  # the log may print them bare; an unreadable one stays pattern-masked
            container = spec.get("name")
            logs[p["metadata"]["name"]] = kube.pod_log_tail(p["metadata"]["name"], container, lines=LOG_LINES)
    for p, v in _failing(pods, cfg, now)[:DETAILED]:
        name = p["metadata"]["name"]
        events[name] = kube.events_for("Pod", name, limit=5)
        if v.container:  # a crashed container's own log is the previous one; before its first restart, the current
            restarted = v.state in (PodState.CRASH_LOOP, PodState.OOM_KILLED)
            logs[name] = (restarted and kube.pod_log_tail(name, v.container, lines=LOG_LINES // 4, previous=True)
                          or kube.pod_log_tail(name, v.container, lines=LOG_LINES // 4))
    return KubeFacts(pods, tuple(recent), logs, events)


def verdict(facts: KubeFacts, cfg: Any, *, now: datetime) -> SectionResult:
    """Pure: failing pods (crash loops, unready, pending) and migration Jobs, each with its evidence."""
    lines, findings, pods_json, jobs_json = [], [], [], []
    for p, v in _failing(facts.pods, cfg, now):
        name = p["metadata"]["name"]
        statuses = (p.get("status") or {}).get("containerStatuses") or []
        restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
        tail = facts.logs.get(name, ())[-5:]
        evidence = tuple(f"log: {ln}" for ln in tail) + tuple(f"event: {e}" for e in facts.events.get(name, ())[-3:])
        what = f"{v.state.value} ({v.reason})" + (f", exit code {v.exit_code}" if v.exit_code is not None else "")
        lines.append(f"pod {name}: {what}, {restarts} restarts" + (f": {v.message}" if v.message else ""))
        lines += [f"  {e}" for e in evidence]
        pods_json.append({"name": name, "state": v.state.value, "reason": v.reason, "exit_code": v.exit_code,
                          "restarts": restarts, "message": v.message, "log": list(tail),
                          "events": list(facts.events.get(name, ()))})
        findings.append(Finding(Kind.POD_FAILING, f"pod {name} is {what}", evidence,
                                subject=(p["metadata"].get("labels") or {}).get("app", name), count=restarts))
    for job in facts.jobs:
        name = job["metadata"]["name"]
        pods = _job_pods(job, facts.pods)
        decision = decide_job(job, pods, now=now, unschedulable_grace=math.inf)
        log = next((facts.logs[p["metadata"]["name"]] for p in pods if p["metadata"]["name"] in facts.logs), ())
        code = decision.verdict.exit_code if decision.verdict else None
        state = "running" if not decision.done else "succeeded" if decision.succeeded else "failed"
        line, meaning = error_line(log), explain_error(log)
        lines.append(f"migration Job {name}: {state}" + (f", exit code {code}" if code is not None else "") +
                     (f" ({decision.reason})" if decision.reason and not decision.succeeded else ""))
        if state == "failed":
            lines += [f"  {ln}" for ln in (line, meaning) if ln]
            findings.append(Finding(Kind.JOB_FAILED, f"migration Job {name} failed" + (f" with {meaning}" if meaning else ""),
                                    tuple(ln for ln in (line, meaning) if ln), subject=name, count=code or 0))
        jobs_json.append({"name": name, "state": state, "exit_code": code, "reason": decision.reason,
                          "error_line": line or None, "meaning": meaning or None, "log": list(log[-10:]),
                          "created": job["metadata"].get("creationTimestamp")})
    if not facts.jobs:
        lines.append("migration Jobs: none recent")
    if not pods_json:
        lines.append("pods: none failing")
    return SectionResult.of(Section.KUBERNETES, lines, findings, {"failing_pods": pods_json, "migration_jobs": jobs_json})
