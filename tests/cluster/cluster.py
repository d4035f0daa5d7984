"""A real control plane for tests: the cluster binary (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
as a child process plus the node agent in this process, and kubeconfigs for cluster-admin and for shipit's
ServiceAccount.

    with RealCluster(workdir, exec_mode=True) as cluster:
        cluster.write_kubeconfig(path)                       # cluster-admin
        cluster.shipit_kubeconfig("shop", path2)             # namespace + config/rbac.yaml + SA token
        cluster.kubectl("get", "nodes")
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.cluster.api import Api
from tests.cluster.build import build
from tests.cluster.node_agent import NodeAgent
from tests.kubesim.errors import ApiError
from tests.kubesim.events import NODE
from tests.kubesim.images import ImageRegistry
from tests.kubesim.kubelet import KubeletTimings

ROOT = Path(__file__).resolve().parents[2]
RBAC = ROOT / "config" / "rbac.yaml"
K8S_VERSION = "1.34"


class ClusterError(RuntimeError):
    pass


class RealCluster:
    def __init__(self, workdir: Path | None = None, *, exec_mode: bool = False, speed: float = 1.0,
                 images: ImageRegistry | None = None, timings: KubeletTimings = KubeletTimings(),
                 start_timeout: float = 180.0, log=None) -> None:
        self._own_dir = workdir is None
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="shipit-cluster-"))
        self.exec_mode = exec_mode
        self.speed = speed
        self.images = images or ImageRegistry()
        self.timings = timings
        self.start_timeout = start_timeout
        self.log = log or (lambda msg: None)
        self.proc: subprocess.Popen | None = None
        self.agent: NodeAgent | None = None
        self.url = ""
        self.admin_token = secrets.token_hex(16)
        self.node_token = secrets.token_hex(16)
        self.kubeconfig = self.dir / "admin.kubeconfig"
        self.ca_file = self.dir / "state" / "certs" / "apiserver.crt"
        self.k8s_version = K8S_VERSION
        self.startup_seconds = 0.0

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> RealCluster:
        binary = build(out=_LogWriter(self.log))
        started = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        tokens = self.dir / "tokens.csv"
        tokens.write_text(f"{self.admin_token},admin,admin,system:masters\n"
                          f'{self.node_token},system:node:{NODE},node-{NODE},"system:nodes"\n')
        tokens.chmod(0o600)
        output = open(self.dir / "control-plane.log", "wb")
        self.proc = subprocess.Popen([str(binary), "--dir", str(self.dir / "state"), "--token-file", str(tokens),
                                      "--admin-token", self.admin_token], stdout=subprocess.PIPE, stderr=output,
                                     start_new_session=True)
        output.close()
        self.url = self._await_ready_line()
        self.write_kubeconfig(self.kubeconfig)
        self.log(f"API server up at {self.url} after {time.monotonic() - started:.1f}s; starting the node agent")
        self.agent = NodeAgent(Api(self.url, self.node_token, str(self.ca_file)), exec_mode=self.exec_mode,
                               speed=self.speed, images=self.images, timings=self.timings)
        self.agent.start()
        self._await(self._node_ready, "node Ready and schedulable")
        self._await(self._default_service_account, "ServiceAccount default/default")
        self.startup_seconds = time.monotonic() - started
        self.log(f"node {NODE} Ready {self.startup_seconds:.1f}s after start")
        return self

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
            self.agent = None
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RealCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def _await_ready_line(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(self.proc.stdout.readline().decode().split()),
                                  daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        if len(lines) == 3 and lines[1] == "ready":
            return lines[2]
        tail = (self.dir / "control-plane.log").read_text(errors="replace")[-4000:]
        raise ClusterError(f"the control plane did not start (exit {self.proc.poll()}):\n{tail}")

    def _await(self, check, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not check():
            if self.proc is None or self.proc.poll() is not None:
                raise ClusterError(f"the control plane exited while waiting for {what}")
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out waiting for {what}")
            time.sleep(0.2)

    def _node_ready(self) -> bool:
        try:
            node = self.api().get(f"/api/v1/nodes/{NODE}")
        except ApiError:
            return False
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))
        return ready and not node["spec"].get("taints")

    def _default_service_account(self) -> bool:
        try:
            self.api().get("/api/v1/namespaces/default/serviceaccounts/default")
            return True
        except ApiError:
            return False

    # --- clients and kubeconfigs -----------------------------------------------------------------------------
    def api(self, token: str | None = None) -> Api:
        return Api(self.url, token or self.admin_token, str(self.ca_file))

    def api_client(self):
        from kubernetes import client, config
        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
        return client.ApiClient(configuration)

    def write_kubeconfig(self, path: Path, *, token: str | None = None, namespace: str | None = None,
                         user: str = "admin") -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ns = f", namespace: {namespace}" if namespace else ""
        path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: shipit-cluster
  cluster: {{server: "{self.url}", certificate-authority: "{self.ca_file}"}}
users:
- name: {user}
  user: {{token: "{token or self.admin_token}"}}
contexts:
- name: {user}
  context: {{cluster: shipit-cluster, user: {user}{ns}}}
current-context: {user}
""")
        path.chmod(0o600)
        return path

    def kubectl(self, *args: str, kubeconfig: Path | None = None, check: bool = False, input: str | None = None,
                timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Real kubectl with a private discovery cache (the dispatcher picks the client minor by server version)."""
        cache = self.dir / "kubectl-cache"
        env = {**os.environ, "KUBECONFIG": str(kubeconfig or self.kubeconfig), "KUBECACHEDIR": str(cache)}
        return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, check=check, input=input,
                              timeout=timeout)

    def create_namespace(self, namespace: str) -> None:
        try:
            self.api().create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": namespace}})
        except ApiError as exc:
            if exc.status != 409:
                raise
        self._await(lambda: self._has_default_sa(namespace), f"ServiceAccount {namespace}/default")

    def _has_default_sa(self, namespace: str) -> bool:
        try:
            self.api().get(f"/api/v1/namespaces/{namespace}/serviceaccounts/default")
            return True
        except ApiError:
            return False

    def reset_namespace(self, namespace: str = "default", timeout: float = 60.0) -> None:
        """Empty a namespace of workloads, pods, ConfigMaps (but kube-root-ca.crt), Secrets, ServiceAccounts (but
        default), Roles, RoleBindings, Leases and Events, and wait until no pod is left, so the next test starts from a
        clean namespace on the shared cluster (a Secret left behind would hide another test's missing one)."""
        api = self.api()
        background = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        for path in ("/apis/apps/v1/namespaces/{ns}/deployments", "/apis/apps/v1/namespaces/{ns}/replicasets",
                     "/apis/apps/v1/namespaces/{ns}/statefulsets", "/apis/batch/v1/namespaces/{ns}/cronjobs",
                     "/apis/batch/v1/namespaces/{ns}/jobs"):
            api.delete(path.format(ns=namespace), background)
        api.request("DELETE", f"/api/v1/namespaces/{namespace}/pods", {**background, "gracePeriodSeconds": 0})
        api.request("DELETE", f"/api/v1/namespaces/{namespace}/configmaps", background,
                    params={"fieldSelector": "metadata.name!=kube-root-ca.crt"})
        api.delete(f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases", background)
        api.delete(f"/api/v1/namespaces/{namespace}/secrets", background)
        api.request("DELETE", f"/api/v1/namespaces/{namespace}/serviceaccounts", background,
                    params={"fieldSelector": "metadata.name!=default"})
        for kind in ("roles", "rolebindings"):
            api.delete(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/{kind}", background)
        api.delete(f"/api/v1/namespaces/{namespace}/events", background)
        deadline = time.monotonic() + timeout
        while api.get(f"/api/v1/namespaces/{namespace}/pods")["items"] or \
                api.get(f"/apis/apps/v1/namespaces/{namespace}/replicasets")["items"]:
            if time.monotonic() > deadline:
                raise ClusterError(f"namespace {namespace} did not empty in {timeout:.0f}s")
            api.request("DELETE", f"/api/v1/namespaces/{namespace}/pods", {**background, "gracePeriodSeconds": 0})
            time.sleep(0.1)

    def shipit_token(self, namespace: str, *, seconds: int = 7 * 86400) -> str:
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "spec": {"expirationSeconds": seconds}}
        answer = self.api().create(f"/api/v1/namespaces/{namespace}/serviceaccounts/shipit/token", request)
        return answer["status"]["token"]

    def shipit_kubeconfig(self, namespace: str, path: Path) -> Path:
        """Namespace `namespace` with config/rbac.yaml applied, and a kubeconfig holding the `shipit` SA's token."""
        self.create_namespace(namespace)
        r = self.kubectl("apply", "-n", namespace, "-f", str(RBAC))
        if r.returncode != 0:
            raise ClusterError(f"kubectl apply {RBAC} failed: {r.stderr}")
        return self.write_kubeconfig(path, token=self.shipit_token(namespace), namespace=namespace, user="shipit")


class _LogWriter:
    """A file-like adapter so the build's progress lines reach the cluster's logger."""

    def __init__(self, log) -> None:
        self._log = log

    def write(self, text: str) -> None:
        if text.strip():
            self._log(text.rstrip())

    def flush(self) -> None:
        pass
