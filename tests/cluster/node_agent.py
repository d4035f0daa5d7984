"""A node agent playing the kubelet of node `node-1` against the real API server, with the node identity
(`system:node:node-1`, group `system:nodes`) so the Node authorizer and NodeRestriction confine it as they do a kubelet.

It registers the Node (Ready, capacity, addresses, the log endpoint's port), keeps its Lease in kube-node-lease
fresh, lists and watches the pods bound to it and runs them with NodeRuntime (kubesim's image-tag behaviours, --exec
processes, init containers and sidecars), writes pod status and events through the API, and serves the kubelet's
HTTPS log endpoint (logserver.py) so `kubectl logs` and `read_namespaced_pod_log` work through the API server."""

from __future__ import annotations

import copy
import platform
import random
import threading
import time
import uuid

from tests.cluster.api import Api, path_of
from tests.cluster.logserver import LogServer
from tests.cluster.runtime import NodeRuntime
from tests.kubesim.clock import Clock, micro_time, rfc3339
from tests.kubesim.errors import ApiError
from tests.kubesim.events import NODE, EventRecorder
from tests.kubesim.images import ImageRegistry
from tests.kubesim.kubelet import KubeletTimings
from tests.kubesim.log_errors import report
from tests.kubesim.logs import PodLogs
from tests.kubesim.resources import EVENTS, PODS, Resource

HOST_IP = "127.0.0.1"
LEASE_SECONDS = 40
KUBELET_VERSION = "v1.34.4"


class ApiStore:
    """The slice of kubesim's Store interface the kubelet and event recorder use, over the real API."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._events: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def get(self, res: Resource, namespace: str, name: str) -> dict:
        return self._lagging(lambda: self.api.get(path_of(res, namespace, name)))

    @staticmethod
    def _lagging(call, seconds: float = 5.0):
        """The Node authorizer learns of a new pod (and what it references) a moment after the binding: retry
        its "no relationship found" refusals for a few seconds."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                return call()
            except ApiError as exc:
                if exc.status != 403 or "no relationship found" not in exc.message or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def list(self, res: Resource, namespace: str) -> tuple[list[dict], str]:
        answer = self.api.get(path_of(res, namespace))
        return answer["items"], answer["metadata"].get("resourceVersion", "")

    def create(self, res: Resource, namespace: str, obj: dict) -> dict:
        created = self.api.create(path_of(res, namespace), obj)
        if res is EVENTS:
            # Nodes may create and update events but not read them: keep what was written.
            with self._lock:
                self._events[(namespace, created["metadata"]["name"])] = created
        return created

    def mutate(self, res: Resource, namespace: str, name: str, fn, *, subresource: str | None = None,
               current: dict | None = None) -> dict:
        if current is not None and subresource == "status":
            # Status from the agent's own copy, sent as a merge patch: no read, no conflict, lists replaced whole.
            obj = copy.deepcopy(current)
            fn(obj)
            path = path_of(res, namespace, name, subresource)
            return self._lagging(lambda: self.api.patch(path, {"status": obj["status"]}))
        for _ in range(10):
            if res is EVENTS:
                with self._lock:
                    cached = self._events.get((namespace, name))
                if cached is None:
                    raise ApiError(404, "NotFound", f"event {name} not cached")
                obj = copy.deepcopy(cached)
            else:
                obj = self.api.get(path_of(res, namespace, name))
            fn(obj)
            try:
                new = self.api.put(path_of(res, namespace, name, subresource), obj)
            except ApiError as exc:
                if exc.status == 409 and res is not EVENTS:
                    continue
                raise
            if res is EVENTS:
                with self._lock:
                    self._events[(namespace, name)] = new
            return new
        raise ApiError(409, "Conflict", f"{res.plural} {namespace}/{name}: too many conflicts")

    def delete(self, res: Resource, namespace: str, name: str, *, grace_period_seconds: int | None = None,
               preconditions: dict | None = None) -> dict:
        body: dict = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            body["preconditions"] = preconditions
        return self.api.delete(path_of(res, namespace, name), body)


def node_object(port: int) -> dict:
    now = rfc3339(time.time())
    resources = {"cpu": "32", "memory": "64Gi", "pods": "250", "ephemeral-storage": "100Gi"}

    def cond(type_: str, status: str, reason: str, message: str) -> dict:
        return {"type": type_, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": now, "lastTransitionTime": now}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux",
                                              "kubernetes.io/arch": "amd64"}},
        "spec": {},
        "status": {
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            # The API server dials the first InternalIP for logs: a loopback address on this machine.
            "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname", "address": NODE}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "capacity": resources, "allocatable": resources,
            "nodeInfo": {"machineID": uuid.uuid4().hex, "systemUUID": str(uuid.uuid4()), "bootID": str(uuid.uuid4()),
                         "kernelVersion": platform.release(), "osImage": "shipit node agent",
                         "containerRuntimeVersion": "containerd://1.7.0", "kubeletVersion": KUBELET_VERSION,
                         "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"},
        },
    }


class _EventNanos:
    """Event names end in the hex UnixNano of the event, as the kubelet's do, so names sort with the scheduler's."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def __iter__(self):
        return self

    def __next__(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last


class NodeAgent:
    def __init__(self, api: Api, *, exec_mode: bool = False, speed: float = 1.0,
                 images: ImageRegistry | None = None, timings: KubeletTimings = KubeletTimings()) -> None:
        self.api = api
        self.store = ApiStore(api)
        self.logs = PodLogs()
        self.images = images or ImageRegistry()
        self.clock = Clock(speed)
        recorder = EventRecorder(self.store)
        recorder._nanos = _EventNanos()
        self.runtime = NodeRuntime(self.store, self.logs, self.images, recorder, self.clock,
                                   exec_mode=exec_mode, timings=timings, host_ip=HOST_IP)
        self.log_server = LogServer(self.runtime, self.logs)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.log_server.start()
        self.register()
        self.runtime.start()
        for target in (self._lease_loop, self._status_loop, self._pod_loop):
            t = threading.Thread(target=target, name=f"node-agent{target.__name__}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self.runtime.stop()
        self.log_server.stop()
        for t in self._threads:
            t.join(timeout=2)

    # --- node and lease --------------------------------------------------------------------------------------
    def register(self) -> None:
        node = node_object(self.log_server.port)
        try:
            self.api.create("/api/v1/nodes", node)
        except ApiError as exc:
            if exc.status != 409:
                raise
        self._post_status()
        self._renew_lease()

    def _post_status(self) -> None:
        fresh = node_object(self.log_server.port)["status"]
        self.api.patch(f"/api/v1/nodes/{NODE}/status", {"status": fresh}, kind="strategic-merge")

    def _renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{NODE}"
        now = micro_time(time.time())
        try:
            lease = self.api.get(path)
        except ApiError as exc:
            if exc.status != 404:
                raise
            node = self.api.get(f"/api/v1/nodes/{NODE}")
            owner = {"apiVersion": "v1", "kind": "Node", "name": NODE, "uid": node["metadata"]["uid"]}
            self.api.create("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": NODE, "namespace": "kube-node-lease", "ownerReferences": [owner]},
                "spec": {"holderIdentity": NODE, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now}})
            return
        lease["spec"]["renewTime"] = now
        self.api.put(path, lease)

    def _every(self, seconds: float, fn) -> None:
        while not self._stop.wait(seconds * random.uniform(0.96, 1.0)):
            try:
                fn()
            except Exception as exc:  # keep beating; say why a beat failed
                if not self._stop.is_set():
                    report("node-agent", fn.__name__, exc)

    def _lease_loop(self) -> None:
        # The kubelet renews every quarter of the lease duration.
        self._every(LEASE_SECONDS / 4, self._renew_lease)

    def _status_loop(self) -> None:
        self._every(60, self._post_status)

    # --- pods ------------------------------------------------------------------------------------------------
    def _pod_loop(self) -> None:
        known: dict[str, dict] = {}
        rv = ""
        while not self._stop.is_set():
            try:
                if not rv:
                    listing = self.api.get("/api/v1/pods", fieldSelector=f"spec.nodeName={NODE}")
                    rv = listing["metadata"]["resourceVersion"]
                    seen = {p["metadata"]["uid"]: p for p in listing["items"]}
                    for uid, pod in known.items():
                        if uid not in seen:
                            self.runtime.on_event("DELETED", PODS, pod)
                    for pod in seen.values():
                        self.runtime.on_event("ADDED", PODS, pod)
                    known = seen
                for event in self.api.watch("/api/v1/pods", resource_version=rv, timeout_seconds=60,
                                            fieldSelector=f"spec.nodeName={NODE}"):
                    if self._stop.is_set():
                        return
                    obj = event["object"]
                    rv = obj["metadata"].get("resourceVersion", rv)
                    if event["type"] == "BOOKMARK":
                        continue
                    uid = obj["metadata"]["uid"]
                    if event["type"] == "DELETED":
                        known.pop(uid, None)
                    else:
                        known[uid] = obj
                    self.runtime.on_event(event["type"], PODS, obj)
            except ApiError as exc:
                if exc.status == 410:
                    rv = ""
                    continue
                if not self._stop.is_set():
                    report("node-agent", "pod watch", exc)
                    self._stop.wait(1)
            except Exception as exc:
                if not self._stop.is_set():
                    report("node-agent", "pod watch", exc)
                    rv = ""
                    self._stop.wait(1)
