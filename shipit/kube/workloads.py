"""What shipit knows about each kind of object a release can change: where its pod template is (so the image can be
set and compared), when its rollout is complete, when it has failed, and whether a GitOps controller owns it.

Each kind owns its rule, like krane's resource classes: a generic watch asks the kind, and the preflight asks it
whether the object is healthy enough for a release to start. Deployments keep their richer rollout rule in
`kube/rollout.py` (ReplicaSets); the kinds here cover StatefulSets (rolling update with a partition), DaemonSets,
CronJobs (nothing rolls: the template must carry the new image for the next run), Jobs (to completion) and objects
that only need to exist (Services, ConfigMaps, Secrets...). A failing pod of the new revision fails the rollout at
once, with the same pod verdicts as Deployments.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from datetime import datetime

from shipit.core.config_code import CodeStrategy
from shipit.kube.pods import PodVerdict, classify_pod


class Verdict(str, enum.Enum):
    PROGRESSING = "progressing"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class KindVerdict:
    kind: str
    name: str
    verdict: Verdict
    message: str
    failing: tuple[tuple[str, PodVerdict], ...] = ()  # (pod, verdict) of the new revision

    def describe(self) -> str:
        return f"{self.kind}/{self.name}: {self.message}"


def _owned_by(obj: dict, kind: str, name: str) -> bool:
    return any(o.get("kind") == kind and o.get("name") == name for o in obj["metadata"].get("ownerReferences") or [])


def _failing(pods: Iterable[dict], *, now: datetime, ready_grace: float) -> tuple[tuple[str, PodVerdict], ...]:
    found = []
    for pod in pods:
        verdict = classify_pod(pod, now=now, ready_grace=ready_grace, unschedulable_grace=ready_grace)
        if verdict.fatal:
            found.append((pod["metadata"]["name"], verdict))
    return tuple(sorted(found, key=lambda f: f[0]))


def _observed(obj: dict) -> bool:
    return (obj["metadata"].get("generation") or 0) <= ((obj.get("status") or {}).get("observedGeneration") or 0)


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind's knowledge. `template_path` leads from the object to its pod template (empty: no pods)."""

    name: str
    template_path: tuple[str, ...]
    decide: Callable[[dict, list[dict], datetime, float], KindVerdict]
    unpatchable: Callable[[dict], str | None] = lambda obj: None  # why an image patch would not roll it out
    unhealthy: Callable[[dict], str | None] = lambda obj: None  # why a release must not start over it now

    def health_problem(self, obj: dict) -> str | None:
        """The preflight's sentence for an object that is not healthy before the release, or None."""
        why = self.unhealthy(obj)
        name = obj["metadata"]["name"]
        return None if why is None else f"{self.name} {name} is not healthy before the release ({why})"

    def image_patch(self, containers: Iterable[str], image: str) -> dict:
        """A strategic merge patch setting `image` on `containers` of the pod template (merged by container name)."""
        body: dict = {"spec": {"containers": [{"name": c, "image": image} for c in containers]}}
        for key in reversed(self.template_path):
            body = {key: body}
        return body

    def template_patch(self, template: dict) -> list[dict]:
        """A JSON patch putting a recorded pod template back whole."""
        return [{"op": "replace", "path": "/" + "/".join(self.template_path), "value": template}]

    def pod_template(self, obj: dict) -> dict | None:
        node = obj
        for key in self.template_path:
            node = (node or {}).get(key)
        return node if self.template_path else None

    def images(self, obj: dict) -> dict[str, str]:
        """Container (and init container) name -> image."""
        template = self.pod_template(obj) or {}
        spec = template.get("spec") or {}
        return {c["name"]: c.get("image", "") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}


def _verdict(obj: dict, verdict: Verdict, message: str, failing: tuple = ()) -> KindVerdict:
    return KindVerdict(obj["kind"], obj["metadata"]["name"], verdict, message, failing)


def _statefulset(obj: dict, pods: list[dict], now: datetime, ready_grace: float) -> KindVerdict:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    name = obj["metadata"]["name"]
    if not _observed(obj):
        return _verdict(obj, Verdict.PROGRESSING, "waiting for the spec update to be observed")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return _verdict(obj, Verdict.COMPLETE, "OnDelete update strategy: pods change only when deleted")
    update_revision = status.get("updateRevision")
    mine = [p for p in pods if _owned_by(p, "StatefulSet", name)
            and (p["metadata"].get("labels") or {}).get("controller-revision-hash") == update_revision]
    failing = _failing(mine, now=now, ready_grace=ready_grace)
    if failing:
        first = failing[0][1]
        return _verdict(obj, Verdict.FAILED, f"new pods failing: {first.state.value} ({first.reason})", failing)
    replicas = spec.get("replicas", 1)
    partition = ((strategy.get("rollingUpdate") or {}).get("partition")) or 0
    expected = max(0, replicas - partition)  # ordinals at or above the partition take the new revision
    updated = status.get("updatedReplicas", 0) or 0
    ready = status.get("readyReplicas", 0) or 0
    if updated < expected:
        return _verdict(obj, Verdict.PROGRESSING, f"{updated} of {expected} pods updated")
    if ready < replicas:
        return _verdict(obj, Verdict.PROGRESSING, f"{ready} of {replicas} pods ready")
    if partition == 0 and status.get("currentRevision") != update_revision:
        return _verdict(obj, Verdict.PROGRESSING, "waiting for the current revision to become the update revision")
    return _verdict(obj, Verdict.COMPLETE, "rolled out" + (f" (partition {partition})" if partition else ""))


def _statefulset_unpatchable(obj: dict) -> str | None:
    if ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type") != "OnDelete":
        return None
    name = obj["metadata"]["name"]
    return (f"StatefulSet {name} has updateStrategy OnDelete: a new image in its template reaches no pod until each "
            f"pod is deleted by hand, so shipit can neither roll it out nor watch it. Nothing was changed. Set "
            f"spec.updateStrategy.type: RollingUpdate on StatefulSet {name} (kubectl patch statefulset {name} -p "
            "'{\"spec\":{\"updateStrategy\":{\"type\":\"RollingUpdate\"}}}'), or take it out of workloads: and "
            "roll it yourself")


def _statefulset_unhealthy(obj: dict) -> str | None:
    """Every replica ready, and no rollout under way: the controller has observed the spec and, below any partition,
    the current revision is the update revision."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not _observed(obj):
        return "its last spec change is not yet observed by the controller"
    replicas = spec.get("replicas", 1)
    ready = status.get("readyReplicas", 0) or 0
    if ready < replicas:
        return f"{ready}/{replicas} ready"
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    partition = ((strategy.get("rollingUpdate") or {}).get("partition")) or 0
    updated = status.get("updatedReplicas", 0) or 0
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if updated < replicas - partition or (partition == 0 and current != update):
        return (f"a rollout is in progress: {updated}/{replicas} pods on update revision {update}, current revision "
                f"{current}")
    return None


def _deployment_unhealthy(obj: dict) -> str | None:
    """Every desired replica available (the rollout itself is `kube/rollout.py`'s)."""
    want = (obj.get("spec") or {}).get("replicas", 1)
    available = (obj.get("status") or {}).get("availableReplicas") or 0
    return f"{available}/{want} available" if available < want else None


def _daemonset(obj: dict, pods: list[dict], now: datetime, ready_grace: float) -> KindVerdict:
    status = obj.get("status") or {}
    name = obj["metadata"]["name"]
    if not _observed(obj):
        return _verdict(obj, Verdict.PROGRESSING, "waiting for the spec update to be observed")
    generation = str(obj["metadata"].get("generation") or "")
    mine = [p for p in pods if _owned_by(p, "DaemonSet", name)
            and (p["metadata"].get("labels") or {}).get("pod-template-generation") == generation]
    failing = _failing(mine, now=now, ready_grace=ready_grace)
    if failing:
        first = failing[0][1]
        return _verdict(obj, Verdict.FAILED, f"new pods failing: {first.state.value} ({first.reason})", failing)
    desired = status.get("desiredNumberScheduled", 0) or 0
    updated = status.get("updatedNumberScheduled", 0) or 0
    available = status.get("numberAvailable", 0) or 0
    if updated < desired:
        return _verdict(obj, Verdict.PROGRESSING, f"{updated} of {desired} nodes updated")
    if available < desired:
        return _verdict(obj, Verdict.PROGRESSING, f"{available} of {desired} pods available")
    return _verdict(obj, Verdict.COMPLETE, "rolled out")


def _cronjob(obj: dict, pods: list[dict], now: datetime, ready_grace: float) -> KindVerdict:
    # nothing runs at apply time: the template is what the next scheduled run uses
    suspended = " (suspended)" if (obj.get("spec") or {}).get("suspend") else ""
    return _verdict(obj, Verdict.COMPLETE, f"template updated; the next run uses it{suspended}")


def _job(obj: dict, pods: list[dict], now: datetime, ready_grace: float) -> KindVerdict:
    conditions = {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []
                  if c.get("status") == "True"}
    if "Failed" in conditions:
        c = conditions["Failed"]
        return _verdict(obj, Verdict.FAILED, f"failed: {c.get('reason', '')} {c.get('message', '')}".strip())
    if "Complete" in conditions:
        return _verdict(obj, Verdict.COMPLETE, "completed")
    failing = _failing([p for p in pods if _owned_by(p, "Job", obj["metadata"]["name"])], now=now,
                       ready_grace=ready_grace)
    if failing:
        first = failing[0][1]
        return _verdict(obj, Verdict.FAILED, f"pods failing: {first.state.value} ({first.reason})", failing)
    return _verdict(obj, Verdict.PROGRESSING, "running")


def _exists(obj: dict, pods: list[dict], now: datetime, ready_grace: float) -> KindVerdict:
    return _verdict(obj, Verdict.COMPLETE, "exists")


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("StatefulSet", ("spec", "template"), _statefulset, _statefulset_unpatchable, _statefulset_unhealthy),
    Kind("DaemonSet", ("spec", "template"), _daemonset),
    Kind("CronJob", ("spec", "jobTemplate", "spec", "template"), _cronjob),  # healthy once it exists
    Kind("Job", ("spec", "template"), _job),
    # watched by kube/rollout.py's richer rule
    Kind("Deployment", ("spec", "template"), _exists, unhealthy=_deployment_unhealthy),
)}


def kind_of(obj: dict) -> Kind:
    """The object's kind; kinds without pods only need to exist."""
    return KINDS.get(obj.get("kind", ""), Kind(obj.get("kind", ""), (), _exists))


def set_image(obj: dict, repository: str, image: str) -> tuple[str, ...]:
    """Point every container of `obj` that runs `repository` at `image`, in place; the containers changed."""
    template = kind_of(obj).pod_template(obj)
    if not template:
        return ()
    changed = []
    spec = template.get("spec") or {}
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        current = c.get("image", "")
        name = current.split("@", 1)[0]
        repo = name[:name.rfind(":")] if name.rfind(":") > name.rfind("/") else name
        if repo == repository and current != image:
            c["image"] = image
            changed.append(c["name"])
    return tuple(changed)


# --- GitOps ownership ----------------------------------------------------------------------------------------------

_GITOPS_ANNOTATIONS = {
    "argocd.argoproj.io/tracking-id": "Argo CD",
    "argocd.argoproj.io/instance": "Argo CD",
}
_GITOPS_LABELS = {"argocd.argoproj.io/instance": "Argo CD"}
_GITOPS_LABEL_PREFIXES = {"kustomize.toolkit.fluxcd.io/": "Flux", "helm.toolkit.fluxcd.io/": "Flux"}


@dataclasses.dataclass(frozen=True)
class GitOpsOwner:
    controller: str  # "Argo CD", "Flux"
    mark: str  # the label or annotation that says so

    def describe(self) -> str:
        return f"{self.controller} ({self.mark})"


def gitops_controller(obj: dict) -> GitOpsOwner | None:
    """The GitOps controller that applies this object, or None: such a controller would put back whatever shipit
    changed, so shipit must not change it."""
    meta = obj.get("metadata") or {}
    annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
    for key, who in _GITOPS_ANNOTATIONS.items():
        if key in annotations:
            return GitOpsOwner(who, f"annotation {key}")
    for key, who in _GITOPS_LABELS.items():
        if key in labels:
            return GitOpsOwner(who, f"label {key}")
    # Argo CD's default tracking label is the common app.kubernetes.io/instance: only with Argo's managed-by mark
    if "app.kubernetes.io/instance" in labels and (labels.get("app.kubernetes.io/managed-by") or "").lower() == "argocd":
        return GitOpsOwner("Argo CD", "label app.kubernetes.io/instance with app.kubernetes.io/managed-by=argocd")
    for prefix, who in _GITOPS_LABEL_PREFIXES.items():
        key = next((k for k in sorted(labels) if k.startswith(prefix)), None)
        if key:
            return GitOpsOwner(who, f"label {key}")
    return None


def gitops_refusal(strategy: CodeStrategy, objects: Iterable[dict]) -> str | None:
    """Why the release must stop before changing anything, or None: a strategy that changes the cluster itself on
    objects a GitOps controller applies would be reverted by that controller (self-heal) or leave drift."""
    if strategy is CodeStrategy.GITOPS:
        return None
    owned = [(o, w) for o in objects if (w := gitops_controller(o)) is not None]
    if not owned:
        return None
    controllers = " and ".join(sorted({w.controller for _, w in owned}))
    listed = "; ".join(f"{o.get('kind', '?')} {o['metadata']['name']} is applied by {w.describe()}" for o, w in owned)
    return (f"{listed}. With code.strategy: {strategy.value} shipit would change them in the cluster and "
            f"{controllers} would revert shipit's change (or report it as drift). Nothing was changed. "
            f"Set code.strategy: gitops (with code.gitops.repo, path and kind) so shipit commits the new image to the "
            f"GitOps repository and {controllers} applies it, or take these objects out of {controllers}'s management")


def blocked_statefulset_pods(sts: dict, pods: Iterable[dict]) -> tuple[str, ...]:
    """Pods an OrderedReady StatefulSet waits on forever: not Ready and not of its update revision. The controller
    replaces no pod while one is unhealthy, so after a revert these must be deleted for the old revision to return."""
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    if not _observed(sts) or spec.get("podManagementPolicy", "OrderedReady") != "OrderedReady":
        return ()
    if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return ()
    update, name = status.get("updateRevision"), sts["metadata"]["name"]
    return tuple(sorted(
        p["metadata"]["name"] for p in pods
        if _owned_by(p, "StatefulSet", name) and not p["metadata"].get("deletionTimestamp")
        and (p["metadata"].get("labels") or {}).get("controller-revision-hash") != update
        and not any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (p.get("status") or {}).get("conditions") or [])))
