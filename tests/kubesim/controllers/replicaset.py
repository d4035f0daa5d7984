"""ReplicaSet controller: keeps the number of active owned pods at spec.replicas and reports
replicas/fullyLabeledReplicas/readyReplicas/availableReplicas/observedGeneration."""

from __future__ import annotations

import dataclasses
import time

from tests.kubesim.clock import Clock, parse_time
from tests.kubesim.controllers.queue import WorkQueue, controller_ref, controller_uid, key_of, stored
from tests.kubesim.errors import ApiError
from tests.kubesim.events import EventRecorder
from tests.kubesim.resources import PODS, REPLICASETS
from tests.kubesim.selectors import selector_from_match

COMPONENT = "replicaset-controller"


@dataclasses.dataclass(frozen=True)
class ReplicaSetPlan:
    create: int
    delete: tuple[str, ...]
    status: dict
    requeue_after: float | None      # cluster seconds, until a ready pod becomes available


def _ready_since(pod: dict) -> float | None:
    cond = next((c for c in (pod.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Ready" and c.get("status") == "True"), None)
    return parse_time(cond.get("lastTransitionTime")) if cond else None


def _active(pod: dict) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _deletion_rank(pod: dict) -> tuple:
    """Scale-down order: unscheduled, pending, not ready, ready; newest first within a class."""
    status = pod.get("status") or {}
    return (bool(pod["spec"].get("nodeName")), status.get("phase") != "Pending", _ready_since(pod) is not None,
            -(parse_time(pod["metadata"].get("creationTimestamp")) or 0))


def plan_replicaset(rs: dict, pods: list[dict], *, now: float, speed: float) -> ReplicaSetPlan:
    spec = rs["spec"]
    want = spec.get("replicas", 1)
    active = [p for p in pods if _active(p)]
    create, delete = 0, ()
    if len(active) < want:
        create = want - len(active)
    elif len(active) > want:
        delete = tuple(p["metadata"]["name"] for p in sorted(active, key=_deletion_rank)[:len(active) - want])
    min_ready = spec.get("minReadySeconds", 0)
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    ready = available = fully_labeled = 0
    requeue: float | None = None
    for p in active:
        labels = p["metadata"].get("labels") or {}
        fully_labeled += all(labels.get(k) == v for k, v in template_labels.items())
        since = _ready_since(p)
        if since is None:
            continue
        ready += 1
        waited = (now - since) * speed
        if waited >= min_ready:
            available += 1
        else:
            left = min_ready - waited
            requeue = left if requeue is None else min(requeue, left)
    status: dict = {"replicas": len(active)}
    if fully_labeled:
        status["fullyLabeledReplicas"] = fully_labeled
    if ready:
        status["readyReplicas"] = ready
    if available:
        status["availableReplicas"] = available
    status["observedGeneration"] = rs["metadata"].get("generation", 1)
    return ReplicaSetPlan(create=create, delete=delete, status=status, requeue_after=requeue)


def pod_for_replicaset(rs: dict) -> dict:
    template = rs["spec"]["template"]
    meta = template.get("metadata") or {}
    rm = rs["metadata"]
    pod_meta = {"generateName": f"{rm['name']}-", "namespace": rm["namespace"], "labels": dict(meta.get("labels") or {}),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rm["name"],
                                     "uid": rm["uid"], "controller": True, "blockOwnerDeletion": True}]}
    if meta.get("annotations"):
        pod_meta["annotations"] = dict(meta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": dict(template["spec"])}


class ReplicaSetController:
    def __init__(self, store, recorder: EventRecorder, clock: Clock) -> None:
        self._store = store
        self._events = recorder
        self._clock = clock
        self.queue = WorkQueue("replicaset-controller", self._sync)

    def on_event(self, type_: str, res, obj: dict) -> None:
        if res is REPLICASETS and type_ != "DELETED":
            self.queue.add(key_of(obj))
        elif res is PODS:
            owner = controller_ref(obj, "ReplicaSet")
            if owner:
                self.queue.add((obj["metadata"]["namespace"], owner["name"]))

    def _sync(self, key: tuple[str, str]) -> None:
        namespace, name = key
        rs = stored(self._store, REPLICASETS, key)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        uid = rs["metadata"]["uid"]
        selector = selector_from_match(rs["spec"].get("selector"))
        pods, _ = self._store.list(PODS, namespace)
        pods = [p for p in pods if controller_uid(p, "ReplicaSet") == uid and selector.matches(p)]
        plan = plan_replicaset(rs, pods, now=time.time(), speed=self._clock.speed)
        for _ in range(plan.create):
            try:
                pod = self._store.create(PODS, namespace, pod_for_replicaset(rs))
            except ApiError as exc:
                self._events.warning(REPLICASETS, rs, "FailedCreate", f"Error creating: {exc.message}",
                                     component=COMPONENT)
                break
            self._events.normal(REPLICASETS, rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                                component=COMPONENT)
        for pod_name in plan.delete:
            try:
                self._store.delete(PODS, namespace, pod_name)
            except ApiError:
                continue
            self._events.normal(REPLICASETS, rs, "SuccessfulDelete", f"Deleted pod: {pod_name}", component=COMPONENT)

        def write(obj: dict) -> None:
            obj["status"] = plan.status
        try:
            self._store.mutate(REPLICASETS, namespace, name, write, subresource="status")
        except ApiError:
            return
        if plan.requeue_after is not None:
            self.queue.add(key, after=self._clock.real(plan.requeue_after) + 0.01)
