"""Shared helpers for the kubesim acceptance suite: every test runs on the emulated versions 1.29 and 1.33,
with real kubectl (the dispatcher picks kubectl 1.<minor> from /version) and the python client."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.cluster.build import go_binary

VERSIONS = ("1.29", "1.33")
SPEED = 20.0          # cluster seconds per real second: back-offs of 10 s take 0.5 s
# The real control plane of tests/cluster (its release) joins every `cluster` test when Go can build it, unless
# SHIPIT_TEST_CLUSTER=kubesim; SHIPIT_TEST_CLUSTER=real asks for it outright.
REAL = "1.34"
_WORLD = os.environ.get("SHIPIT_TEST_CLUSTER") or ("real" if go_binary() else "kubesim")
WORLDS = VERSIONS + ((REAL,) if _WORLD == "real" else ())


@pytest.fixture(params=WORLDS, ids=lambda v: f"real-{v}" if v == REAL else f"k8s-{v}")
def k8s_version(request) -> str:
    return request.param


@pytest.fixture
def kubesim_factory(kubesim_factory, k8s_version):
    """Tests that build their own kubesim (custom speed, images, discovery) are kubesim-only."""
    if k8s_version == REAL:
        pytest.skip("builds its own kubesim with custom settings")
    return kubesim_factory


@pytest.fixture
def cluster(request, k8s_version, tmp_path):
    """A fast cluster (SPEED) emulating the parametrised version, or the real one (only its node agent is fast).
    On the real one, `kubesim_only` tests skip and `diverges_on_real` tests must fail (strict xfail): each is a
    difference written down in tests/kubesim/README.md."""
    if k8s_version == REAL:
        only = request.node.get_closest_marker("kubesim_only")
        if only:
            pytest.skip(only.args[0] if only.args else "kubesim only")
        diverges = request.node.get_closest_marker("diverges_on_real")
        if diverges:
            request.applymarker(pytest.mark.xfail(reason=diverges.args[0], strict=True))
        from tests.cluster.world import RealWorld
        return RealWorld(request.getfixturevalue("real_cluster"), tmp_path / "real" / "kubeconfig", speed=SPEED)
    return request.getfixturevalue("kubesim_factory")(k8s_version=k8s_version, speed=SPEED)


@pytest.fixture
def api(cluster):
    """The python client's typed APIs over real HTTP."""
    from kubernetes import client
    api_client = cluster.api_client()
    yield type("Apis", (), {"core": client.CoreV1Api(api_client), "apps": client.AppsV1Api(api_client),
                            "batch": client.BatchV1Api(api_client),
                            "coordination": client.CoordinationV1Api(api_client), "raw": api_client})
    api_client.close()


def wait_for(fn: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> Any:
    """Poll until `fn()` is truthy; generous timeout because the machine is shared and loaded."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or fn}: last value {last!r}")


def status_body(exc) -> dict:
    """The Status object of an ApiException."""
    return json.loads(exc.body)


def get_json(cluster, *args: str) -> dict:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def deployment_yaml(name: str = "web", image: str = "web:v1", *, replicas: int = 1, deadline: int | None = None,
                    extra: str = "") -> str:
    deadline_line = f"\n  progressDeadlineSeconds: {deadline}" if deadline is not None else ""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  replicas: {replicas}{deadline_line}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: {name}
        image: {image}{extra}
"""


class KubectlStream:
    """A long-running real kubectl (`get -w`, `logs -f`) whose stdout is collected by a thread; stopped by its pid."""

    def __init__(self, cluster, *args: str) -> None:
        import os
        import subprocess
        import threading
        cache = cluster.kubeconfig.parent / f"kubecache-{cluster.server.port}"
        env = {**os.environ, "KUBECACHEDIR": str(cache), "KUBECONFIG": str(cluster.kubeconfig)}
        self.proc = subprocess.Popen(["kubectl", "--kubeconfig", str(cluster.kubeconfig), *args], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._chunks: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._chunks.append(line)

    @property
    def output(self) -> str:
        return "".join(self._chunks)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        return wait_for(lambda: text in self.output and self.output, timeout=timeout, what=f"kubectl output {text!r}")

    def finish(self, timeout: float = 30.0) -> tuple[int, str, str]:
        """Wait for kubectl to exit by itself."""
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code, self.output, self.proc.stderr.read()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self._reader.join(5)
        return self.output


def json_stream(text: str) -> list[dict]:
    """Concatenated JSON documents (kubectl -w -o json prints one after another)."""
    decoder = json.JSONDecoder()
    docs, pos = [], 0
    text = text.strip()
    while pos < len(text):
        doc, end = decoder.raw_decode(text, pos)
        docs.append(doc)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return docs


def raw_watch(cluster, path: str, timeout: float = 30.0) -> tuple[int, list[dict]]:
    """A watch over plain HTTP: (status, events) read until the server ends the stream."""
    import urllib.request
    headers, context = cluster.urllib_auth() if hasattr(cluster, "urllib_auth") else ({}, None)
    request = urllib.request.Request(cluster.url + path, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:
        return resp.status, [json.loads(line) for line in resp.read().decode().splitlines() if line.strip()]


@pytest.fixture
def api_for():
    """Typed python APIs for any cluster (closed after the test)."""
    from kubernetes import client
    opened = []

    def make(cluster):
        api_client = cluster.api_client()
        opened.append(api_client)
        return type("Apis", (), {"core": client.CoreV1Api(api_client), "apps": client.AppsV1Api(api_client),
                                 "batch": client.BatchV1Api(api_client), "raw": api_client})
    yield make
    for c in opened:
        c.close()
