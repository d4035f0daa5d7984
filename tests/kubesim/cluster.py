"""A whole fake cluster in one process: store, API server, scheduler, kubelet and controllers, wired so that every
controller reads and writes through the Store and sees every committed change."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from tests.kubesim.clock import Clock
from tests.kubesim.controllers.deployment import DeploymentController
from tests.kubesim.controllers.job import JobController
from tests.kubesim.controllers.replicaset import ReplicaSetController
from tests.kubesim.controllers.scheduler import Scheduler
from tests.kubesim.controllers.statefulset import StatefulSetController
from tests.kubesim.controllers.ttl import TTLController
from tests.kubesim.events import EventRecorder
from tests.kubesim.faults import Faults
from tests.kubesim.images import ImageRegistry
from tests.kubesim.kubelet import Kubelet, KubeletTimings
from tests.kubesim.logs import PodLogs
from tests.kubesim.store import Store

VERSIONS = ("1.29", "1.30", "1.31", "1.32", "1.33")
NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Cluster:
    def __init__(self, *, k8s_version: str = "1.33", exec_mode: bool = False, speed: float = 1.0,
                 images: ImageRegistry | None = None, timings: KubeletTimings | None = None,
                 history: int = 10000, aggregated_discovery: bool = False, openapi: bool = True) -> None:
        if k8s_version not in VERSIONS:
            raise ValueError(f"unsupported Kubernetes version {k8s_version!r}; choose one of {', '.join(VERSIONS)}")
        from tests.kubesim.server import KubeSimServer
        self.k8s_version = k8s_version
        self.minor = int(k8s_version.split(".")[1])
        self.clock = Clock(speed)
        self.store = Store(history=history, namespaces=NAMESPACES)
        self.logs = PodLogs()
        self.images = images or ImageRegistry()
        self.faults = Faults(self.store)
        self.events = EventRecorder(self.store)
        self.kubelet = Kubelet(self.store, self.logs, self.images, self.events, self.clock, exec_mode=exec_mode,
                               timings=timings or KubeletTimings())
        self.scheduler = Scheduler(self.store, self.events)
        self.jobs = JobController(self.store, self.events, self.clock, minor=self.minor)
        self.replicasets = ReplicaSetController(self.store, self.events, self.clock)
        self.deployments = DeploymentController(self.store, self.events, self.clock)
        self.statefulsets = StatefulSetController(self.store, self.events)
        self.ttl = TTLController(self.store, self.clock)
        self._controllers = (self.scheduler, self.jobs, self.replicasets, self.deployments, self.statefulsets,
                             self.ttl)
        self._server_args = dict(logs=self.logs, k8s_version=k8s_version, faults=self.faults,
                                 aggregated_discovery=aggregated_discovery, openapi=openapi)
        self._server_cls = KubeSimServer
        self.server = None
        self.url = ""
        self.kubeconfig: Path | None = None

    def start(self, port: int = 0) -> str:
        self.server = self._server_cls(self.store, port=port, **self._server_args)
        for part in (self.kubelet, *self._controllers):
            self.store.subscribe(part.on_event)
        self.kubelet.start()
        for c in self._controllers:
            c.queue.start()
        self.server.start()
        self.url = self.server.url
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        for c in self._controllers:
            c.queue.stop()
        self.kubelet.stop()

    def write_kubeconfig(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "kubesim", "preferences": {},
            "clusters": [{"name": "kubesim", "cluster": {"server": self.url}}],
            "users": [{"name": "kubesim", "user": {}}],
            "contexts": [{"name": "kubesim", "context": {"cluster": "kubesim", "user": "kubesim",
                                                         "namespace": "default"}}],
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        tmp.replace(path)
        self.kubeconfig = path
        return path

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60,
                input: str | None = None) -> subprocess.CompletedProcess:
        """Real kubectl against this cluster, with its own discovery cache (a fresh KUBECACHEDIR: no stale discovery)."""
        if self.kubeconfig is None:
            raise RuntimeError("write_kubeconfig() first")
        cache = self.kubeconfig.parent / f"kubecache-{self.server.port}"
        env = {**os.environ, "KUBECACHEDIR": str(cache), "KUBECONFIG": str(self.kubeconfig)}
        proc = subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), *args], capture_output=True,
                              text=True, timeout=timeout, env=env, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def api_client(self):
        """A `kubernetes` python ApiClient pointed at this cluster."""
        from kubernetes import client
        config = client.Configuration()
        config.host = self.url
        return client.ApiClient(config)

