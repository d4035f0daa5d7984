"""StatefulSet controller, the OrderedReady/Parallel and RollingUpdate/OnDelete subset: pods `<name>-<ordinal>`
created in order (each Running and Ready before the next, OrderedReady), a ControllerRevision per template named
`<name>-<hash>` whose name every pod carries as `controller-revision-hash`, rolling updates from the highest ordinal
down to the partition one pod at a time, and the status counters and revisions kubectl's rollout status reads.

Like the real controller, an OrderedReady set with a pod that is not Running and Ready does nothing else until that
pod is healthy or deleted: an updated pod that never gets Ready (an image that cannot be pulled, a readiness that never
passes) blocks the set, and reverting the template alone does not replace it (the pod must be deleted). A
crash-looping pod without a readiness probe is Ready for a moment after each restart, so the set moves on, as upstream."""

from __future__ import annotations

import copy
import dataclasses

from tests.kubesim.controllers.deployment import template_hash
from tests.kubesim.controllers.job import controller_uid
from tests.kubesim.controllers.queue import WorkQueue
from tests.kubesim.errors import ApiError
from tests.kubesim.events import EventRecorder
from tests.kubesim.resources import CONTROLLERREVISIONS, PODS, STATEFULSETS

COMPONENT = "statefulset-controller"
REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"


@dataclasses.dataclass(frozen=True)
class StatefulSetPlan:
    create: tuple[tuple[int, str], ...]  # (ordinal, revision name)
    delete: tuple[str, ...]
    status: dict


def revision_name(sts: dict) -> str:
    return f"{sts['metadata']['name']}-{template_hash(sts['spec']['template'])}"


def ordinal(pod: dict, set_name: str) -> int | None:
    prefix, _, suffix = pod["metadata"]["name"].rpartition("-")
    return int(suffix) if prefix == set_name and suffix.isdigit() else None


def _terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _running_ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and not _terminating(pod) and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _revision(pod: dict) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(REVISION_LABEL)


def _status(sts: dict, pods: list[dict], current: str, update: str) -> dict:
    replicas = sts["spec"].get("replicas", 1)
    live = [p for p in pods if not _terminating(p)]
    ready = sum(_running_ready(p) for p in live)
    updated = sum(_revision(p) == update for p in live)
    rolling = (sts["spec"].get("updateStrategy") or {}).get("type") == "RollingUpdate"
    if rolling and updated == replicas == ready == len(live):
        current = update  # the rolling update is complete
    return {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(live),
            "readyReplicas": ready, "availableReplicas": ready, "updatedReplicas": updated,
            "currentReplicas": sum(_revision(p) == current for p in live),
            "currentRevision": current, "updateRevision": update, "collisionCount": 0}


def plan_statefulset(sts: dict, pods: list[dict], *, current: str, update: str) -> StatefulSetPlan:
    """One sync's actions; at most one step at a time under OrderedReady."""
    spec, name = sts["spec"], sts["metadata"]["name"]
    replicas = spec.get("replicas", 1)
    monotonic = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    partition = (strategy.get("rollingUpdate") or {}).get("partition") or 0
    by_ordinal = {o: p for p in pods if (o := ordinal(p, name)) is not None}
    status = _status(sts, pods, current, update)
    create: list[tuple[int, str]] = []
    delete: list[str] = []

    def plan() -> StatefulSetPlan:
        return StatefulSetPlan(tuple(create), tuple(delete), status)

    for o in range(replicas):
        pod = by_ordinal.get(o)
        if pod is None:
            create.append((o, current if rolling and o < partition else update))
        elif (pod.get("status") or {}).get("phase") == "Failed" and not _terminating(pod):
            delete.append(pod["metadata"]["name"])  # recreated by the next sync
        elif _running_ready(pod) or not monotonic:
            continue
        if monotonic:
            return plan()
    for o in sorted((o for o in by_ordinal if o >= replicas), reverse=True):
        pod = by_ordinal[o]
        if not _terminating(pod):
            delete.append(pod["metadata"]["name"])
        if monotonic:
            return plan()
    if not rolling:
        return plan()
    for o in range(replicas - 1, partition - 1, -1):
        pod = by_ordinal.get(o)
        if pod is None or _terminating(pod):
            return plan()
        if _revision(pod) != update:
            delete.append(pod["metadata"]["name"])
            return plan()
        if not _running_ready(pod):
            return plan()
    return plan()


def pod_for(sts: dict, template: dict, ordinal_: int, revision: str) -> dict:
    meta = sts["metadata"]
    tmeta = template.get("metadata") or {}
    name = f"{meta['name']}-{ordinal_}"
    pod_meta = {"name": name, "namespace": meta["namespace"],
                "labels": {**(tmeta.get("labels") or {}), REVISION_LABEL: revision, POD_NAME_LABEL: name},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": meta["name"],
                                     "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}]}
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    spec = copy.deepcopy(template["spec"])
    spec.setdefault("hostname", name)
    if sts["spec"].get("serviceName"):
        spec.setdefault("subdomain", sts["spec"]["serviceName"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


class StatefulSetController:
    def __init__(self, store, recorder: EventRecorder) -> None:
        self._store = store
        self._events = recorder
        self.queue = WorkQueue(COMPONENT, self._sync)

    def on_event(self, type_: str, res, obj: dict) -> None:
        if res is STATEFULSETS and type_ != "DELETED":
            self.queue.add((obj["metadata"]["namespace"], obj["metadata"]["name"]))
        elif res is PODS:
            owner = next((r for r in obj["metadata"].get("ownerReferences") or []
                          if r.get("controller") and r.get("kind") == "StatefulSet"), None)
            if owner:
                self.queue.add((obj["metadata"]["namespace"], owner["name"]))

    def _revision(self, sts: dict) -> str:
        """The ControllerRevision of the set's template, created (next revision number) when new."""
        name, namespace = revision_name(sts), sts["metadata"]["namespace"]
        existing, _ = self._store.list(CONTROLLERREVISIONS, namespace)
        mine = [r for r in existing if controller_uid(r, "StatefulSet") == sts["metadata"]["uid"]]
        if any(r["metadata"]["name"] == name for r in mine):
            return name
        self._store.create(CONTROLLERREVISIONS, namespace, {
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": dict((sts["spec"].get("selector") or {}).get("matchLabels") or {}),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                              "name": sts["metadata"]["name"], "uid": sts["metadata"]["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "data": {"spec": {"template": copy.deepcopy(sts["spec"]["template"])}},
            "revision": max((r.get("revision", 0) for r in mine), default=0) + 1})
        return name

    def _sync(self, key: tuple[str, str]) -> None:
        namespace, name = key
        try:
            sts = self._store.get(STATEFULSETS, namespace, name)
        except ApiError:
            return
        if sts["metadata"].get("deletionTimestamp"):
            return
        update = self._revision(sts)
        current = (sts.get("status") or {}).get("currentRevision") or update
        pods, _ = self._store.list(PODS, namespace)
        pods = [p for p in pods if controller_uid(p, "StatefulSet") == sts["metadata"]["uid"]]
        plan = plan_statefulset(sts, pods, current=current, update=update)
        for o, revision in plan.create:
            try:
                template = self._store.get(CONTROLLERREVISIONS, namespace, revision)["data"]["spec"]["template"]
                self._store.create(PODS, namespace, pod_for(sts, template, o, revision))
            except ApiError as exc:  # the old pod of that ordinal is still terminating: its deletion requeues us
                self._events.warning(STATEFULSETS, sts, "FailedCreate", f"create Pod {name}-{o} failed: "
                                     f"{exc.message}", component=COMPONENT)
                break
            self._events.normal(STATEFULSETS, sts, "SuccessfulCreate", f"create Pod {name}-{o} in StatefulSet "
                                f"{name} successful", component=COMPONENT)
        for pod_name in plan.delete:
            try:
                self._store.delete(PODS, namespace, pod_name)
            except ApiError:
                continue
            self._events.normal(STATEFULSETS, sts, "SuccessfulDelete", f"delete Pod {pod_name} in StatefulSet "
                                f"{name} successful", component=COMPONENT)

        def write(obj: dict) -> None:
            obj["status"] = plan.status
        try:
            self._store.mutate(STATEFULSETS, namespace, name, write, subresource="status")
        except ApiError:
            return
