"""core/v1 Events written the way the real components write them: one object per distinct
(object, type, reason, message, source), repeats bump `count` and `lastTimestamp`. The scheduler writes
events.k8s.io-style events, which read through core/v1 have null first/lastTimestamp and an `eventTime`."""

from __future__ import annotations

import itertools
import threading
import time

from tests.kubesim.clock import micro_time, rfc3339
from tests.kubesim.errors import ApiError
from tests.kubesim.resources import EVENTS, PODS, Resource

NODE = "node-1"


class EventRecorder:
    def __init__(self, store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._names: dict[tuple, str] = {}
        self._nanos = itertools.count(time.time_ns())

    def normal(self, res: Resource, obj: dict, reason: str, message: str, *, component: str,
               field_path: str | None = None) -> None:
        self.record(res, obj, "Normal", reason, message, component=component, field_path=field_path)

    def warning(self, res: Resource, obj: dict, reason: str, message: str, *, component: str,
                field_path: str | None = None) -> None:
        self.record(res, obj, "Warning", reason, message, component=component, field_path=field_path)

    def record(self, res: Resource, obj: dict, type_: str, reason: str, message: str, *, component: str,
               field_path: str | None = None) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (namespace, meta.get("uid"), type_, reason, message, component, field_path)
        now = time.time()
        with self._lock:
            name = self._names.get(key)
        if name is not None:
            def bump(ev: dict) -> None:
                ev["count"] = ev.get("count", 1) + 1
                ev["lastTimestamp"] = rfc3339(now)
            try:
                self._store.mutate(EVENTS, namespace, name, bump)
                return
            except ApiError:
                pass
        involved = {"kind": res.kind, "namespace": namespace, "name": meta["name"], "uid": meta.get("uid", ""),
                    "apiVersion": res.api_version, "resourceVersion": meta.get("resourceVersion", "")}
        if field_path:
            involved["fieldPath"] = field_path
        name = f"{meta['name']}.{next(self._nanos):x}"
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved, "reason": reason, "message": message, "type": type_,
            "source": {"component": component, **({"host": NODE} if component == "kubelet" else {})},
            "firstTimestamp": rfc3339(now), "lastTimestamp": rfc3339(now), "count": 1,
            "eventTime": None, "reportingComponent": component,
            "reportingInstance": NODE if component == "kubelet" else "",
        }
        if self._create(namespace, event):
            with self._lock:
                self._names[key] = name

    def scheduler(self, obj: dict, type_: str, reason: str, message: str) -> None:
        """An events.k8s.io-origin event as core/v1 shows it: no first/lastTimestamp, `eventTime` set."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{next(self._nanos):x}", "namespace": namespace},
            "involvedObject": {"kind": "Pod", "namespace": namespace, "name": meta["name"], "uid": meta.get("uid", ""),
                               "apiVersion": PODS.api_version, "resourceVersion": meta.get("resourceVersion", "")},
            "reason": reason, "message": message, "type": type_, "source": {},
            "firstTimestamp": None, "lastTimestamp": None, "eventTime": micro_time(time.time()),
            "action": "Binding" if reason == "Scheduled" else "Scheduling",
            "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-" + NODE,
        }
        self._create(namespace, event)

    def _create(self, namespace: str, event: dict) -> bool:
        try:
            self._store.create(EVENTS, namespace, event)
            return True
        except ApiError:
            return False  # namespace going away: a real recorder drops the event too
