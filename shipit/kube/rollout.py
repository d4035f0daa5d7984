"""Rolling the release's image out to the app's Deployments, watching them all at once, and rolling back.

Success is kubectl's rule (observedGeneration caught up, all replicas updated, old replicas gone, updated ones
available). Failure is much earlier than kubectl's: any pod of the *new* ReplicaSet that crash-loops, cannot pull its
image, lacks a Secret/ConfigMap, is OOM-killed, stays unschedulable or is not Ready after `rollout.ready_grace` ends the
watch within a second, where `kubectl rollout status` waits for the 600 s progress deadline. Previous pod templates are
recorded before anything changes, so rollback restores exactly what ran (not only a revision annotation another actor
may have moved); without a record, `kube/undo.py` goes back by each kind's history.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import threading
import time
from datetime import datetime
from typing import Any, Callable

from shipit.core.errors import BadInput
from shipit.kube.client import Kube
from shipit.kube.watch import WatchMux
from shipit.kube.failure import Failure
from shipit.kube.pods import PodState, PodVerdict, classify_pod, utcnow
from shipit.core.log import get_logger

log = get_logger()

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
LOG_TAIL = 15
DETAILED_PODS = 2  # per Deployment: logs and events are fetched for this many failing pods


def image_repository(image: str) -> str:
    """`registry:5000/shop:abc` -> `registry:5000/shop` (tag and digest dropped, registry port kept)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


@dataclasses.dataclass(frozen=True)
class DeploymentTemplate:
    """A workload's pod template recorded before the release (a Deployment's, or a StatefulSet's or CronJob's)."""

    name: str
    template: dict
    images: dict[str, str]  # container -> image
    kind: str = "Deployment"

    def to_json(self) -> dict:
        return {"name": self.name, "template": self.template, "images": dict(self.images), "kind": self.kind}

    @classmethod
    def from_json(cls, data: dict) -> "DeploymentTemplate":
        return cls(data["name"], data["template"], dict(data.get("images") or {}), data.get("kind", "Deployment"))


@dataclasses.dataclass(frozen=True)
class RolloutProgress:
    deployment: str
    desired: int
    updated: int
    ready: int
    available: int
    old: int
    message: str


class RolloutState(str, enum.Enum):
    PROGRESSING = "progressing"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class RolloutDecision:
    state: RolloutState
    message: str
    progress: RolloutProgress
    failing: tuple[tuple[str, PodVerdict], ...] = ()  # (pod name, verdict) of the new ReplicaSet


@dataclasses.dataclass(frozen=True)
class RolloutOutcome:
    succeeded: bool
    failures: tuple[Failure, ...]
    duration: float


def controlled_by(obj: dict, uid: str) -> bool:
    """The object's controller (owner reference marked controller) has this uid."""
    return any(ref.get("uid") == uid and ref.get("controller") for ref in obj.get("metadata", {}).get("ownerReferences") or [])


def without_hash(template: dict) -> dict:
    """A pod template without the pod-template-hash label the Deployment controller adds to its ReplicaSets."""
    t = copy.deepcopy(template)
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return t


def label_selector(selector: dict) -> str:
    """A LabelSelector object as the query string the API takes (matchLabels and matchExpressions)."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], ",".join(e.get("values") or [])
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key, "DoesNotExist": f"!{key}"}[op])
    return ",".join(parts)


def new_replicaset(deployment: dict, replicasets: list[dict]) -> dict | None:
    """The Deployment's current ReplicaSet: same revision annotation, else the same template."""
    uid = deployment["metadata"].get("uid")
    owned = [rs for rs in replicasets if controlled_by(rs, uid)]
    revision = (deployment["metadata"].get("annotations") or {}).get(REVISION)
    template = without_hash(deployment["spec"].get("template") or {})
    by_template = [rs for rs in owned if without_hash(rs["spec"].get("template") or {}) == template]
    if by_template:
        return by_template[0]
    if revision:
        return next((rs for rs in owned if (rs["metadata"].get("annotations") or {}).get(REVISION) == revision), None)
    return None


def decide_rollout(deployment: dict, replicasets: list, pods: list, *, now: datetime, ready_grace: float) -> RolloutDecision:
    """Where one Deployment's rollout stands. Pure; kubectl's success rule plus fail-fast pod verdicts."""
    meta, spec, status = deployment["metadata"], deployment.get("spec") or {}, deployment.get("status") or {}
    name = meta["name"]
    desired = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    ready = status.get("readyReplicas", 0)
    progress = RolloutProgress(name, desired, updated, ready, available, max(0, total - updated), "")

    def decision(state: RolloutState, message: str, failing: tuple = ()) -> RolloutDecision:
        return RolloutDecision(state, message, dataclasses.replace(progress, message=message), failing)

    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return decision(RolloutState.PROGRESSING, "waiting for the spec update to be observed")
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return decision(RolloutState.FAILED, f"exceeded its progress deadline: {progressing.get('message', '')}")
    replica_failure = conditions.get("ReplicaFailure") or {}
    if replica_failure.get("status") == "True":
        return decision(RolloutState.FAILED, f"{replica_failure.get('reason')}: {replica_failure.get('message', '')}")

    rs = new_replicaset(deployment, replicasets)
    if rs is not None:
        uid = rs["metadata"].get("uid")
        failing = []
        for pod in pods:
            if not controlled_by(pod, uid):
                continue
            verdict = classify_pod(pod, now=now, ready_grace=ready_grace, unschedulable_grace=ready_grace)
            if verdict.fatal:
                failing.append((pod["metadata"]["name"], verdict))
        if failing:
            failing.sort()
            first = failing[0][1]
            return decision(RolloutState.FAILED, f"new pods failing: {first.state.value} ({first.reason})", tuple(failing))

    if spec.get("paused"):
        return decision(RolloutState.PROGRESSING, "paused; waiting for it to be resumed")
    if updated < desired:
        return decision(RolloutState.PROGRESSING, f"{updated} out of {desired} new replicas have been updated")
    if total > updated:
        return decision(RolloutState.PROGRESSING, f"{total - updated} old replicas are pending termination")
    if available < updated:
        return decision(RolloutState.PROGRESSING, f"{available} of {updated} updated replicas are available")
    return decision(RolloutState.COMPLETE, "successfully rolled out")


class Rollout:
    def __init__(self, kube: Kube, cfg: Any, *, on_progress: Callable[[RolloutProgress], None] | None = None):
        self.kube = kube
        self.cfg = cfg
        self.on_progress = on_progress

    # --- reading -----------------------------------------------------------------------------------------------

    def _read(self, name: str) -> dict:
        from kubernetes.client.exceptions import ApiException

        try:
            return self.kube.get_json(self.kube.apps.read_namespaced_deployment, name, self.kube.namespace)
        except ApiException as e:
            if e.status == 404:
                raise BadInput(f"deployments: Deployment {name} not found in namespace {self.kube.namespace}") from e
            raise

    def _containers(self, deployment: dict, dep_cfg: Any) -> tuple[str, ...]:
        """The containers that run the app's image: the named ones, or those using image.repository."""
        containers = deployment["spec"]["template"]["spec"].get("containers") or []
        names = [c["name"] for c in containers]
        if dep_cfg.containers:
            missing = [c for c in dep_cfg.containers if c not in names]
            if missing:
                raise BadInput(f"deployments[{dep_cfg.name}].containers: {', '.join(missing)} not in Deployment {dep_cfg.name} (has {', '.join(names)})")
            return tuple(dep_cfg.containers)
        repo = self.cfg.image.repository
        matching = tuple(c["name"] for c in containers if image_repository(c.get("image", "")) == repo)
        if not matching:
            raise BadInput(
                f"Deployment {dep_cfg.name}: no container uses image repository {repo} "
                f"(containers: {', '.join(str(c.get('name')) + '=' + str(c.get('image')) for c in containers)}); "
                "name them in deployments[].containers"
            )
        return matching

    def current_templates(self) -> tuple[DeploymentTemplate, ...]:
        """Every configured Deployment's pod template, to record before anything changes."""
        out = []
        for dep_cfg in self.cfg.deployments:
            d = self._read(dep_cfg.name)
            template = d["spec"]["template"]
            images = {c["name"]: c.get("image", "") for c in template["spec"].get("containers") or []}
            out.append(DeploymentTemplate(dep_cfg.name, copy.deepcopy(template), images))
        return tuple(out)

    def current_image(self) -> str | None:
        """The image serving now: the first configured container of the first Deployment."""
        if not self.cfg.deployments:
            return None
        dep_cfg = self.cfg.deployments[0]
        d = self._read(dep_cfg.name)
        name = self._containers(d, dep_cfg)[0]
        return next(c.get("image") for c in d["spec"]["template"]["spec"]["containers"] if c["name"] == name)

    # --- changing ----------------------------------------------------------------------------------------------

    def apply(self, image: str) -> None:
        """Set `image` on the app's containers of every Deployment (strategic merge by container name)."""
        plans = []
        for dep_cfg in self.cfg.deployments:
            d = self._read(dep_cfg.name)
            plans.append((dep_cfg.name, self._containers(d, dep_cfg)))
        for name, containers in plans:
            body = {"spec": {"template": {"spec": {"containers": [{"name": c, "image": image} for c in containers]}}}}
            self.kube.send(self.kube.apps.patch_namespaced_deployment, name, self.kube.namespace, body)
            log.info("deployment image set", deployment=name, containers=list(containers), image=image)

    def restore(self, templates: tuple[DeploymentTemplate, ...]) -> None:
        """Put back the recorded pod templates (JSON patch replacing spec.template, as `rollout undo` does)."""
        for t in templates:
            template = without_hash(t.template)
            patch = [{"op": "replace", "path": "/spec/template", "value": template}]
            self.kube.send(self.kube.apps.patch_namespaced_deployment, t.name, self.kube.namespace, patch)
            log.info("deployment template restored", deployment=t.name, images=t.images)

    # --- watching ----------------------------------------------------------------------------------------------

    def watch(self, *, timeout: float, cancel: threading.Event | None = None) -> RolloutOutcome:
        """Until every Deployment has rolled out, one fails, `timeout` passes or `cancel` is set."""
        started = time.monotonic()
        names = [d.name for d in self.cfg.deployments]
        ns = self.kube.namespace
        deployments: dict[str, dict] = {}
        replicasets: dict[str, dict] = {}
        pods: dict[str, dict] = {}
        stores = {"deployment": deployments, "replicaset": replicasets, "pod": pods}
        last_progress: dict[str, RolloutProgress] = {}
        scoped: set[str] = set()  # Deployments whose ReplicaSets and pods are watched
        with WatchMux(self.kube) as mux:

            def take(item: tuple[str, str, dict]) -> None:
                key, etype, obj = item
                name = obj["metadata"]["name"]
                if etype == "DELETED":
                    stores[key].pop(name, None)
                    return
                stores[key][name] = obj
                if key == "deployment" and name in names and name not in scoped:
                    # Only this Deployment's ReplicaSets and pods: a busy namespace's other churn never reaches us.
                    selector = label_selector((obj.get("spec") or {}).get("selector") or {})
                    mux.add("replicaset", self.kube.apps.list_namespaced_replica_set, ns, label_selector=selector)
                    mux.add("pod", self.kube.core.list_namespaced_pod, ns, label_selector=selector)
                    scoped.add(name)

            if len(names) == 1:
                mux.add("deployment", self.kube.apps.list_namespaced_deployment, ns, field_selector=f"metadata.name={names[0]}")
            else:
                mux.add("deployment", self.kube.apps.list_namespaced_deployment, ns)
            while True:
                item = mux.get(0.2)
                if item is not None:
                    take(item)
                    while True:  # drain what is already queued before deciding
                        more = mux.get(0)
                        if more is None:
                            break
                        take(more)
                if any(n not in deployments for n in names):
                    if time.monotonic() - started > 10 and item is None:
                        missing = [n for n in names if n not in deployments]
                        raise BadInput(f"Deployments not found in namespace {ns}: {', '.join(missing)}")
                    continue
                now = utcnow()
                rs_list, pod_list = list(replicasets.values()), list(pods.values())
                decisions = [decide_rollout(deployments[n], rs_list, pod_list, now=now, ready_grace=self.cfg.rollout.ready_grace) for n in names]
                for d in decisions:
                    if self.on_progress and last_progress.get(d.progress.deployment) != d.progress:
                        self.on_progress(d.progress)
                    last_progress[d.progress.deployment] = d.progress
                failed = [d for d in decisions if d.state is RolloutState.FAILED]
                if failed:
                    # Fail now, and say where every other Deployment stands rather than wait for it to fail too.
                    others = [d for d in decisions if d.state is RolloutState.PROGRESSING]
                    first = failed[0].progress.deployment
                    failures = tuple(f for d in failed for f in self._failures(d, pods)) + self._stalled(others, pods, f"not rolled out when {first} failed")
                    return RolloutOutcome(False, failures, time.monotonic() - started)
                if all(d.state is RolloutState.COMPLETE for d in decisions):
                    return RolloutOutcome(True, (), time.monotonic() - started)
                if cancel is not None and cancel.is_set():
                    return RolloutOutcome(False, self._stalled(decisions, pods, "cancelled"), time.monotonic() - started)
                if time.monotonic() - started > timeout:
                    return RolloutOutcome(False, self._stalled(decisions, pods, f"not rolled out within {timeout:.0f}s"), time.monotonic() - started)

    def _pod_failure(self, deployment: str, pod_name: str, verdict: PodVerdict, pod: dict | None, detailed: bool) -> Failure:
        tail: tuple[str, ...] = ()
        events: tuple[str, ...] = ()
        if detailed:
            crashed = verdict.state in (PodState.CRASH_LOOP, PodState.OOM_KILLED) and pod is not None and any(
                (cs.get("lastState") or {}).get("terminated") and (cs.get("state") or {}).get("waiting")
                for cs in (pod.get("status") or {}).get("containerStatuses") or []
            )
            tail = self.kube.pod_log_tail(pod_name, verdict.container, lines=LOG_TAIL, previous=crashed)
            events = self.kube.events_for("Pod", pod_name, limit=6)
        containers = ((pod or {}).get("spec") or {}).get("containers") or []
        image = next((c.get("image", "") for c in containers if c.get("name") == verdict.container), "of the new pods")
        hint = verdict.state.hint(image=image, deployment=deployment, container=verdict.container or "app")
        return Failure(
            what=f"Deployment {deployment}: pod {pod_name} is {verdict.state.value}",
            why=f"{verdict.reason}: {verdict.message}" if verdict.message else verdict.reason,
            pod=pod_name,
            container=verdict.container,
            state=verdict.state.value,
            exit_code=verdict.exit_code,
            log_tail=tail,
            events=events,
            hint=hint or "see the pod's events above",
        )

    def _failures(self, d: RolloutDecision, pods: dict[str, dict]) -> tuple[Failure, ...]:
        name = d.progress.deployment
        if not d.failing:
            return (Failure(what=f"Deployment {name} failed", why=d.message, events=self.kube.events_for("Deployment", name, limit=6), hint="see the Deployment's events above"),)
        return tuple(
            self._pod_failure(name, pod, verdict, pods.get(pod), i < DETAILED_PODS) for i, (pod, verdict) in enumerate(d.failing)
        )

    def _stalled(self, decisions: list[RolloutDecision], pods: dict[str, dict], why: str) -> tuple[Failure, ...]:
        out = []
        for d in decisions:
            if d.state is RolloutState.COMPLETE:
                continue
            p = d.progress
            out.append(
                Failure(
                    what=f"Deployment {p.deployment} {why}",
                    why=f"{d.message} (desired {p.desired}, updated {p.updated}, ready {p.ready}, available {p.available}, old {p.old})",
                    events=self.kube.events_for("Deployment", p.deployment, limit=6),
                    hint="check the new pods: kubectl get pods, then shipit status",
                )
            )
        return tuple(out)
