"""The real control plane dressed as a kubesim Cluster for suites written against kubesim (tests/kube,
tests/kubesim/tests/kubectl): namespace `default` emptied before each test, the same `.kubeconfig`, `.url`, `.images`,
`.store` (API-backed), `.kubectl(...)` (cluster-admin) and `.api_client()`. With `shipit_identity`, `write_kubeconfig`
applies config/rbac.yaml in `default` and writes the shipit ServiceAccount's kubeconfig, which `.kubeconfig` then
names (what shipit is run with). With `fault_proxy`, `.kubeconfig` names tests/cluster/faultproxy.py's proxy in front
of the API server (same identity) and `.faults` drives it with kubesim's fault vocabulary (`.proxy` for the rest);
without it `.faults` skips the test. Call `close()` when done."""

from __future__ import annotations

import ssl
import types
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cluster.faultproxy import FaultProxy
from tests.cluster.node_agent import ApiStore


class ProxyFaults:
    """kubesim's `Faults` calls, played by the fault proxy: request faults, watches cut after a delay (the
    connection reset mid-stream, harsher than kubesim's clean end), and every resourceVersion up to the current one
    expired for later watches."""

    def __init__(self, proxy: FaultProxy, current_rv) -> None:
        self.proxy = proxy
        self._current_rv = current_rv

    def add(self, *, method: str = "*", path_regex: str = ".*", status: int = 500, count: int = 1,
            retry_after: int | None = None) -> None:
        self.proxy.answer(method, path_regex, status, count=count, retry_after=retry_after)

    def drop_watches(self, *, after_seconds: float = 0.0, count: int = 1) -> None:
        self.proxy.cut_watch(after_seconds=after_seconds, count=count)

    def expire_resource_versions(self) -> None:
        self.proxy.expire_before(int(self._current_rv()) + 1)

    def clear(self) -> None:
        self.proxy.clear()

    def pending(self) -> int:
        return sum(r.count for r in self.proxy.pending())


class RealWorld:
    def __init__(self, cluster, kubeconfig: Path, *, speed: float = 1.0, exec_mode: bool = False,
                 shipit_identity: bool = False, fault_proxy: bool = False) -> None:
        cluster.reset_namespace("default")
        cluster.images._overrides.clear()
        cluster.agent.runtime._exec_mode = exec_mode
        cluster.agent.clock.speed = speed
        self.cluster = cluster
        self.proxy: FaultProxy | None = None
        if fault_proxy:
            certs = cluster.ca_file.parent
            self.proxy = FaultProxy(cluster.url, cluster.ca_file,
                                    cert=(certs / "apiserver.crt", certs / "apiserver.key")).start()
        self.shipit_identity = shipit_identity
        self.admin_kubeconfig = cluster.write_kubeconfig(kubeconfig.with_name(kubeconfig.name + ".admin"))
        self.kubeconfig = self._through_proxy(cluster.write_kubeconfig(kubeconfig))
        self.url = cluster.url
        self.token = cluster.admin_token
        self.ca_file = cluster.ca_file
        self.images = cluster.images
        self.store = ApiStore(cluster.api())
        self.server = types.SimpleNamespace(port=urlsplit(cluster.url).port)
        self.k8s_version = cluster.k8s_version
        self.minor = int(cluster.k8s_version.split(".")[1])

    @property
    def faults(self):
        if self.proxy is None:
            pytest.skip("fault injection (429/500/503, cut watches, expired resourceVersions) needs kubesim or "
                        "the fault proxy")
        return ProxyFaults(self.proxy, self.current_resource_version)

    def current_resource_version(self) -> str:
        """The store's current revision: a list's resourceVersion (etcd's revision, the same for every resource)."""
        body = self.cluster.api().get("/api/v1/namespaces/default/configmaps", limit=1)
        return body["metadata"]["resourceVersion"]

    def _through_proxy(self, path: Path) -> Path:
        """The kubeconfig at `path`, rewritten to reach the API server through the proxy with the same token."""
        if self.proxy is None:
            return path
        import yaml

        doc = yaml.safe_load(Path(path).read_text())
        context = doc["contexts"][0]["context"]
        return self.proxy.write_kubeconfig(path, token=doc["users"][0]["user"]["token"],
                                           namespace=context.get("namespace"))

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()

    def kubectl(self, *args: str, check: bool = True, **kw):
        r = self.cluster.kubectl(*args, kubeconfig=self.admin_kubeconfig, **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {r.returncode}\nstdout:\n{r.stdout}\n"
                                 f"stderr:\n{r.stderr}")
        return r

    def write_kubeconfig(self, path: Path) -> Path:
        path = Path(path)
        if self.shipit_identity:
            self.kubeconfig = self._through_proxy(self.cluster.shipit_kubeconfig("default", path))
        else:
            self.kubeconfig = self._through_proxy(self.cluster.write_kubeconfig(path))
        return self.kubeconfig

    def start(self) -> None:
        """The session's cluster is already running."""

    def stop(self) -> None:
        """The session's cluster outlives the test."""

    def api_client(self):
        return self.cluster.api_client()

    def urllib_auth(self) -> tuple[dict[str, str], ssl.SSLContext]:
        """Headers and TLS context for plain urllib requests to the API server."""
        return {"Authorization": f"Bearer {self.token}"}, ssl.create_default_context(cafile=str(self.ca_file))
