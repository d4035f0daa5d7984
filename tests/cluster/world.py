"""The real control plane dressed as a kubesim Cluster for suites written against kubesim (tests/kube,
tests/kubesim/tests/kubectl): namespace `default` emptied before each test, the same `.kubeconfig`, `.url`, `.images`,
`.store` (API-backed), `.kubectl(...)` (cluster-admin) and `.api_client()`; `.faults` skips the test, since a real
API server does not fail on demand. With `shipit_identity`, `write_kubeconfig` applies config/rbac.yaml in `default`
and writes the shipit ServiceAccount's kubeconfig, which `.kubeconfig` then names (what shipit is run with)."""

from __future__ import annotations

import ssl
import types
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cluster.node_agent import ApiStore


class RealWorld:
    def __init__(self, cluster, kubeconfig: Path, *, speed: float = 1.0, exec_mode: bool = False,
                 shipit_identity: bool = False) -> None:
        cluster.reset_namespace("default")
        cluster.images._overrides.clear()
        cluster.agent.runtime._exec_mode = exec_mode
        cluster.agent.clock.speed = speed
        self.cluster = cluster
        self.admin_kubeconfig = self.kubeconfig = cluster.write_kubeconfig(kubeconfig)
        self.shipit_identity = shipit_identity
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
        pytest.skip("fault injection (429/500/503, cut watches, expired resourceVersions) needs kubesim")

    def kubectl(self, *args: str, check: bool = True, **kw):
        r = self.cluster.kubectl(*args, kubeconfig=self.admin_kubeconfig, **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {r.returncode}\nstdout:\n{r.stdout}\n"
                                 f"stderr:\n{r.stderr}")
        return r

    def write_kubeconfig(self, path: Path) -> Path:
        path = Path(path)
        if self.shipit_identity:
            self.kubeconfig = self.cluster.shipit_kubeconfig("default", path)
        else:
            self.kubeconfig = self.cluster.write_kubeconfig(path)
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
