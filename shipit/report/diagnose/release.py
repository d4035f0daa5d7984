"""Release section: shipit's last release record and what actually serves (image, commit, rollout state).

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
    missing: tuple[str, ...] = ()  # configured Deployments not found


def probe(kube: Any, cfg: Any, resolve: Any) -> ReleaseFacts:
    """Three list requests and the records' list; `resolve(sha_text) -> full sha | None` maps tags to commits."""
    from shipit.kube.records import RecordStore

    wanted = {d.name for d in cfg.deployments}
    deployments, _ = kube.list_json(kube.apps.list_namespaced_deployment, kube.namespace)
    deployments = [d for d in deployments if d["metadata"]["name"] in wanted]
    replicasets, _ = kube.list_json(kube.apps.list_namespaced_replica_set, kube.namespace)
    pods, _ = kube.list_json(kube.core.list_namespaced_pod, kube.namespace)
    record = RecordStore(kube, cfg.app).latest()
    commits: dict[str, str] = {}
    for d in deployments:
        for c in d["spec"]["template"]["spec"].get("containers") or []:
            sha = commit_of(c.get("image", ""), cfg.image.repository, cfg.image.tag)
            if sha and sha not in commits:
                full = resolve(sha)
                if full:
                    commits[sha] = full
    found = {d["metadata"]["name"] for d in deployments}
    return ReleaseFacts(tuple(deployments), tuple(replicasets), tuple(pods), record, commits,
                        tuple(sorted(wanted - found)))


def serving_commit(facts: ReleaseFacts, cfg: Any) -> str | None:
    """The one commit every configured container's image maps to; None when they differ or none maps."""
    shas = set()
    for d in facts.deployments:
        for c in d["spec"]["template"]["spec"].get("containers") or []:
            if image_repository(c.get("image", "")) == cfg.image.repository:
                sha = commit_of(c["image"], cfg.image.repository, cfg.image.tag)
                shas.add(facts.commits.get(sha or "", None))
    return shas.pop() if len(shas) == 1 else None


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
        shas = [facts.commits.get(commit_of(i, cfg.image.repository, cfg.image.tag) or "") for i in images]
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
    lines += [f"{name}: configured but not found in the namespace" for name in facts.missing]
    serving = serving_commit(facts, cfg)
    lines.append(schema_line(drift))
    data = {"schema_matches": None if drift is None else not drift.blocking,"record": None if r is None else {"id": r.id, "status": r.status.value, "from": r.from_sha,
                                             "to": r.to_sha, "started": r.started, "message": r.message},
            "deployments": deps, "serving_commit": serving}
    return SectionResult.of(Section.RELEASE, lines, findings, data)
