"""default-scheduler for the single node: binds pods whose nodeSelector the node satisfies, else leaves them Pending
with PodScheduled=False/Unschedulable. Its events are events.k8s.io-style."""

from __future__ import annotations

import time

from tests.kubesim.clock import rfc3339
from tests.kubesim.controllers.queue import WorkQueue, key_of, stored
from tests.kubesim.errors import ApiError
from tests.kubesim.events import NODE, EventRecorder
from tests.kubesim.podstatus import condition
from tests.kubesim.resources import PODS

NODE_LABELS = {"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
UNSCHEDULABLE = ("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 "
                 "nodes are available: 1 Preemption is not helpful for scheduling.")


def fits(pod: dict, node_labels: dict[str, str] = NODE_LABELS) -> bool:
    selector = pod.get("spec", {}).get("nodeSelector") or {}
    return all(node_labels.get(k) == v for k, v in selector.items())


class Scheduler:
    def __init__(self, store, recorder: EventRecorder) -> None:
        self._store = store
        self._events = recorder
        self.queue = WorkQueue("scheduler", self._sync)

    def on_event(self, type_: str, res, obj: dict) -> None:
        if res is PODS and type_ != "DELETED" and not obj.get("spec", {}).get("nodeName") \
                and not obj["metadata"].get("deletionTimestamp"):
            self.queue.add(key_of(obj))

    def _sync(self, key: tuple[str, str]) -> None:
        namespace, name = key
        pod = stored(self._store, PODS, key)
        if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return
        now = rfc3339(time.time())
        if not fits(pod):
            previous = pod.get("status", {}).get("conditions") or []
            if any(c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable" for c in previous):
                return

            def unschedulable(obj: dict) -> None:
                conds = [c for c in obj["status"].get("conditions") or [] if c.get("type") != "PodScheduled"]
                obj["status"]["conditions"] = conds + [condition("PodScheduled", False, previous, now,
                                                                 reason="Unschedulable", message=UNSCHEDULABLE)]
            self._store.mutate(PODS, namespace, name, unschedulable, subresource="status")
            self._events.scheduler(pod, "Warning", "FailedScheduling", UNSCHEDULABLE)
            return

        def bind(obj: dict) -> None:
            obj["spec"]["nodeName"] = NODE

        def scheduled(obj: dict) -> None:
            conds = [c for c in obj["status"].get("conditions") or [] if c.get("type") != "PodScheduled"]
            obj["status"]["conditions"] = conds + [condition("PodScheduled", True, [], now)]
        try:
            self._store.mutate(PODS, namespace, name, scheduled, subresource="status")
            bound = self._store.mutate(PODS, namespace, name, bind)
        except ApiError:
            return
        self._events.scheduler(bound, "Normal", "Scheduled", f"Successfully assigned {namespace}/{name} to {NODE}")
