"""Release section: shipit's last release record and what actually serves (image, commit, rollout state) in every
configured workload: Deployments by their ReplicaSets, StatefulSets and CronJobs by their kind's rule.

The commit comes from the image tag through `image.tag`, not from the record, because the outage this command is for
may have been rolled out by hand (`kubectl set image`) with no record at all.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

from shipit.db.drift import DriftReport
from shipit.report.diagnose.findings import Finding, Kind, Section, SectionResult
from shipit.kube.records import ReleaseRecord, ReleaseStatus
from shipit.kube.rollout import RolloutState, decide_rollout, image_repository
from shipit.kube.workloads import KINDS, Verdict, kind_of

_BAD_RECORD = {ReleaseStatus.FAILED, ReleaseStatus.NEEDS_ATTENTION, ReleaseStatus.REVERTED}


def tag_pattern(repository: str, tag_template: str) -> re.Pattern[str]:
    """`image.tag` (`{sha}`, `{short_sha}`, literal text) as a pattern with one `sha` group over the whole image."""
    parts = re.split(r"(\{sha\}|\{short_sha\})", tag_template)
    body = "".join("(?P<sha>[0-9a-f]{7,40})" if p in ("{sha}", "{short_sha}") else re.escape(p) for p in parts)
    return re.compile(re.escape(repository) + ":" + body)


def commit_of(image: str, repository: str, tag_template: str) -> str | None:
    """The commit (full or short sha, as the tag holds it) an image was built from, or None for another image."""
    m = tag_pattern(repository, tag_template).fullmatch(image)
    return m.group("sha") if m and "sha" in m.groupdict() else None


@dataclasses.dataclass(frozen=True)
class ReleaseFacts:
    deployments: tuple[dict, ...]
    replicasets: tuple[dict, ...]
    pods: tuple[dict, ...]
    record: ReleaseRecord | None
    commits: dict[str, str]  # sha as tagged -> full sha (resolved in the app's repository)
    missing: tuple[str, ...] = ()  # configured workloads not found (Deployments by name, others as Kind/name)
    workloads: tuple[dict, ...] = ()  # the configured StatefulSets and CronJobs, `kind` set


def _containers(obj: dict) -> list[dict]:
    """The containers of a workload's pod template, at its kind's path (a listed Deployment carries no kind)."""
    template = KINDS[obj.get("kind") or "Deployment"].pod_template(obj) or {}
    return (template.get("spec") or {}).get("containers") or []


def probe(kube: Any, cfg: Any, resolve: Any) -> ReleaseFacts:
    """Three list requests, one read per other workload and the records' list; `resolve(sha_text) -> full sha | None`
    maps tags to commits."""
    from shipit.core.errors import BadInput
    from shipit.kube.records import RecordStore
    from shipit.kube.serving import read_workload

    wanted = {d.name for d in cfg.deployments}
    deployments, _ = kube.list_json(kube.apps.list_namespaced_deployment, kube.namespace)
    deployments = [d for d in deployments if d["metadata"]["name"] in wanted]
    replicasets, _ = kube.list_json(kube.apps.list_namespaced_replica_set, kube.namespace)
    pods, _ = kube.list_json(kube.core.list_namespaced_pod, kube.namespace)
    record = RecordStore(kube, cfg.app).latest()
    workloads, missing = [], []
    for w in cfg.workloads:
        try:
            workloads.append(read_workload(kube, w.kind.value, w.name))
        except BadInput:
            missing.append(f"{w.kind.value}/{w.name}")
    commits: dict[str, str] = {}
    for d in deployments + workloads:
        for c in _containers(d):
            sha = commit_of(c.get("image", ""), cfg.image.repository, cfg.image.tag)
            if sha and sha not in commits:
                full = resolve(sha)
                if full:
                    commits[sha] = full
    found = {d["metadata"]["name"] for d in deployments}
    return ReleaseFacts(tuple(deployments), tuple(replicasets), tuple(pods), record, commits,
                        tuple(sorted(wanted - found)) + tuple(missing), tuple(workloads))


def serving_commit(facts: ReleaseFacts, cfg: Any) -> str | None:
    """The one commit every configured container's image maps to; None when they differ or none maps."""
    shas = set()
    for d in facts.deployments + facts.workloads:
        for c in _containers(d):
            if image_repository(c.get("image", "")) == cfg.image.repository:
                sha = commit_of(c["image"], cfg.image.repository, cfg.image.tag)
                shas.add(facts.commits.get(sha or "", None))
    return shas.pop() if len(shas) == 1 else None


def _commits(images: list[str], facts: ReleaseFacts, cfg: Any) -> list[str | None]:
    return [facts.commits.get(commit_of(i, cfg.image.repository, cfg.image.tag) or "") for i in images]


def _workload(obj: dict, facts: ReleaseFacts, cfg: Any, now: datetime) -> tuple[str, dict, Finding | None]:
    """Pure: one StatefulSet's or CronJob's line, data and finding, its rollout judged by its kind's rule."""
    kind = kind_of(obj)
    name = obj["metadata"]["name"]
    images = [c.get("image", "") for c in _containers(obj)]
    v = kind.decide(obj, list(facts.pods), now, cfg.rollout.ready_grace)
    shas = _commits(images, facts, cfg)
    commit = ", ".join(s[:12] for s in shas if s) or "unknown (image tag does not match image.tag)"
    line = f"{kind.name}/{name}: {', '.join(images)} = commit {commit}; rollout {v.verdict.value}: {v.message}"
    data = {"kind": kind.name, "name": name, "images": images, "commits": [s for s in shas if s],
            "rollout": v.verdict.value, "message": v.message}
    finding = None
    if v.verdict is Verdict.FAILED:
        evidence = tuple(f"{pod}: {pv.state.value} {pv.reason} {pv.message}".strip() for pod, pv in v.failing[:3])
        finding = Finding(Kind.ROLLOUT_FAILING, f"{kind.name} {name}'s rollout is failing: {v.message}", evidence,
                          subject=name, count=len(v.failing))
    return line, data, finding


def schema_line(drift: DriftReport | None) -> str:
    """Pure: whether the serving code's schema is live (the detail is the drift section's)."""
    if drift is None:
        return "code and schema: not compared (see Schema drift)"
    if drift.blocking:
        return (f"code and schema: do NOT match: {len(drift.blocking)} differences the code at {drift.commit[:12]} "
                "depends on (see Schema drift)")
    unread = [s.server for s in drift.servers if s.error]
    where = f" (not read: {', '.join(unread)})" if unread else ""
    return f"code and schema: match {drift.source} at {drift.commit[:12]}{where}"


def verdict(facts: ReleaseFacts, cfg: Any, *, now: datetime, drift: DriftReport | None = None) -> SectionResult:
    """Pure: what serves, whether its rollout finished, whether its schema is live, and how shipit's last release
    ended."""
    lines, findings, deps = [], [], []
    r = facts.record
    if r is None:
        lines.append("last release: no shipit record (releases made outside shipit leave none)")
    else:
        lines.append(f"last release: {r.id} {r.status.value} {(r.from_sha or '?')[:7]}..{(r.to_sha or '?')[:7]} "
                     f"started {r.started or '?'}" + (f": {r.message}" if r.message else ""))
        if r.status in _BAD_RECORD:
            findings.append(Finding(Kind.RELEASE_FAILED, f"shipit release {r.id} ended {r.status.value}",
                                    (r.message,) if r.message else (), subject=r.id))
    for d in facts.deployments:
        name = d["metadata"]["name"]
        images = [c.get("image", "") for c in d["spec"]["template"]["spec"].get("containers") or []]
        decision = decide_rollout(d, list(facts.replicasets), list(facts.pods), now=now,
                                  ready_grace=cfg.rollout.ready_grace)
        shas = _commits(images, facts, cfg)
        commit = ", ".join(s[:12] for s in shas if s) or "unknown (image tag does not match image.tag)"
        p = decision.progress
        lines.append(f"{name}: {', '.join(images)} = commit {commit}; rollout {decision.state.value} "
                     f"({p.ready}/{p.desired} ready, {p.updated} updated): {decision.message}")
        deps.append({"name": name, "images": images, "commits": [s for s in shas if s],
                     "rollout": decision.state.value, "message": decision.message, "desired": p.desired,
                     "ready": p.ready, "updated": p.updated})
        if decision.state is RolloutState.FAILED:
            evidence = tuple(f"{pod}: {v.state.value} {v.reason} {v.message}".strip() for pod, v in decision.failing[:3])
            findings.append(Finding(Kind.ROLLOUT_FAILING, f"Deployment {name}'s rollout is failing: {decision.message}",
                                    evidence, subject=name, count=len(decision.failing)))
    workloads = []
    for w in facts.workloads:
        line, data, finding = _workload(w, facts, cfg, now)
        lines.append(line)
        workloads.append(data)
        findings += [finding] if finding else []
    lines += [f"{name}: configured but not found in the namespace" for name in facts.missing]
    serving = serving_commit(facts, cfg)
    lines.append(schema_line(drift))
    data = {"schema_matches": None if drift is None else not drift.blocking,"record": None if r is None else {"id": r.id, "status": r.status.value, "from": r.from_sha,
                                             "to": r.to_sha, "started": r.started, "message": r.message},
            "deployments": deps, "workloads": workloads, "serving_commit": serving}
    return SectionResult.of(Section.RELEASE, lines, findings, data)
