"""Kube: retries, RBAC messages and resumable watches under injected API faults (kubesim's, or on the real control
plane the fault proxy's: tests marked `api_faults` run on both)."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes.client.exceptions import ApiException

from shipit.core.errors import ShipitError
from shipit.kube.watch import WatchMux


def configmap(name: str, value: str = "1") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"t": "watch"}}, "data": {"v": value}}


def create_cm(kube, name, value="1"):
    kube.send(kube.core.create_namespaced_config_map, "default", configmap(name, value))


def collect(stream, want: int, timeout: float = 10.0) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    done = threading.Event()

    def run():
        for etype, obj in stream:
            out.append((etype, obj["metadata"]["name"]))
            if len(out) >= want:
                done.set()
                return

    t = threading.Thread(target=run, daemon=True)
    t.start()
    done.wait(timeout)
    stream.close()
    return out


def json_answer(status: int, body: dict):
    """A one-answer API server handler, for behaviour kubesim has no reason to emulate (RBAC refusals, restarts)."""
    import json
    from http.server import BaseHTTPRequestHandler

    data = json.dumps(body).encode()

    class Answer(BaseHTTPRequestHandler):
        def _answer(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *a):
            pass

    return Answer


@pytest.mark.api_faults
def test_429_honours_retry_after_and_counts_requests(kubesim, kube):
    kubesim.faults.add(method="GET", path_regex=r"/api/v1/namespaces/default/configmaps$", status=429, count=2, retry_after=1)
    before = kube.request_count
    t0 = time.monotonic()
    items, rv = kube.list_json(kube.core.list_namespaced_config_map, "default")
    assert time.monotonic() - t0 >= 1.9  # two Retry-After: 1 waits
    assert kube.request_count - before == 3
    assert rv


@pytest.mark.api_faults
def test_500_retried_then_budget_exhausted(kubesim, kube):
    kubesim.faults.add(method="GET", path_regex=r"/api/v1/namespaces/default/configmaps/x$", status=500, count=100)
    kube.retry_budget = 1.0
    with pytest.raises(ApiException) as e:
        kube.get_json(kube.core.read_namespaced_config_map, "x", "default")
    assert e.value.status == 500
    assert kube.request_count >= 3


def test_404_is_not_retried(kube):
    before = kube.request_count
    with pytest.raises(ApiException) as e:
        kube.get_json(kube.core.read_namespaced_config_map, "nope", "default")
    assert e.value.status == 404 and kube.request_count - before == 1


def test_403_names_the_missing_permission():
    """kubesim has no RBAC, so a one-handler HTTP server answers the real Forbidden Status."""
    from http.server import ThreadingHTTPServer

    from kubernetes import client

    from shipit.kube.client import Kube

    Forbidden = json_answer(403, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "reason": "Forbidden", "code": 403,
                                  "message": 'jobs.batch is forbidden: User "system:serviceaccount:shop:shipit" cannot '
                                  'create resource "jobs" in API group "batch" in the namespace "shop"'})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        conf = client.Configuration()
        conf.host = f"http://127.0.0.1:{server.server_port}"
        kube = Kube(client.ApiClient(conf), "shop")
        with pytest.raises(ShipitError, match=r"refused create jobs in namespace shop: jobs.batch is forbidden.*Grant 'create' on 'jobs'"):
            kube.call(kube.batch.create_namespaced_job, "shop", {"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": []}}}})
        assert kube.request_count == 1
    finally:
        server.shutdown()


def test_watch_lists_then_streams(kube):
    create_cm(kube, "a")
    stream = kube.watch(kube.core.list_namespaced_config_map, "default", label_selector="t=watch")
    threading.Timer(0.2, create_cm, (kube, "b")).start()
    assert collect(stream, 2) == [("ADDED", "a"), ("ADDED", "b")]


@pytest.mark.api_faults
def test_watch_survives_dropped_streams(kubesim, kube):
    stream = kube.watch(kube.core.list_namespaced_config_map, "default", label_selector="t=watch")
    kubesim.faults.drop_watches(after_seconds=0.2, count=2)

    def writes():
        for i in range(3):
            time.sleep(0.35)
            create_cm(kube, f"d{i}")

    threading.Thread(target=writes, daemon=True).start()
    assert collect(stream, 3) == [("ADDED", "d0"), ("ADDED", "d1"), ("ADDED", "d2")]
    assert stream.watch_requests >= 3  # resumed after each drop, without a re-list
    assert stream.relists == 0


@pytest.mark.api_faults
def test_watch_relists_after_410_and_reports_what_changed(kubesim, kube):
    create_cm(kube, "keep")
    create_cm(kube, "gone")
    stream = kube.watch(kube.core.list_namespaced_config_map, "default", label_selector="t=watch")
    events: list[tuple[str, str]] = []
    it = iter(stream)
    events += [next(it), next(it)]
    events = [(t, o["metadata"]["name"]) for t, o in events]
    # While nobody watches: changes, then history compaction so the next watch request gets ERROR 410.
    kube.send(kube.core.delete_namespaced_config_map, "gone", "default")
    create_cm(kube, "new")
    kubesim.faults.expire_resource_versions()
    got = {}
    deadline = time.monotonic() + 10
    for etype, obj in it:
        got[obj["metadata"]["name"]] = etype
        if {"gone", "new"} <= set(got) or time.monotonic() > deadline:
            break
    stream.close()
    assert got["gone"] == "DELETED" and got["new"] == "ADDED"
    assert stream.relists >= 1


def test_mux_merges_watches_and_closes(kube):
    with WatchMux(kube) as mux:
        mux.add("cm", kube.core.list_namespaced_config_map, "default", label_selector="t=watch")
        mux.add("pod", kube.core.list_namespaced_pod, "default")
        create_cm(kube, "m")
        item = mux.get(5)
        assert item[0] == "cm" and item[1] == "ADDED"
    for t in mux.threads:
        t.join(5)
        assert not t.is_alive()


def test_connection_refused_is_retried_until_the_server_is_back():
    """An API server restarting: connections are refused for a moment, then it answers (within the budget)."""
    import socket
    from http.server import ThreadingHTTPServer

    from kubernetes import client

    from shipit.kube.client import Kube, KubeUnreachable

    Answer = json_answer(200, {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
                               "items": []})

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = client.Configuration()
    conf.host = f"http://127.0.0.1:{port}"
    kube = Kube(client.ApiClient(conf), "shop", retry_budget=0.5)
    with pytest.raises(KubeUnreachable) as e:  # nobody listening: retried until the budget is spent
        kube.list_json(kube.core.list_namespaced_config_map, "shop")
    assert f"cannot reach the Kubernetes API at http://127.0.0.1:{port}" in str(e.value)
    assert "Connection refused" in str(e.value) and "\n" not in str(e.value)
    assert kube.request_count >= 3
    servers = []

    def start():
        servers.append(ThreadingHTTPServer(("127.0.0.1", port), Answer))
        servers[0].serve_forever()

    kube.retry_budget = 10.0
    threading.Timer(0.5, start).start()
    try:
        assert kube.list_json(kube.core.list_namespaced_config_map, "shop") == ([], "7")
    finally:
        deadline = time.monotonic() + 5
        while not servers and time.monotonic() < deadline:
            time.sleep(0.05)
        servers[0].shutdown()


def test_kubeconfig_context_is_used_and_an_unknown_one_is_bad_input(kubesim):
    import yaml

    from shipit.core.config import KubernetesConfig
    from shipit.core.errors import BadInput
    from shipit.kube.client import Kube

    context = yaml.safe_load(kubesim.kubeconfig.read_text())["current-context"]
    kube = Kube.from_config(KubernetesConfig(namespace="default", kubeconfig=str(kubesim.kubeconfig), context=context))
    assert kube.list_json(kube.core.list_namespaced_config_map, "default")[1]
    with pytest.raises(BadInput, match="cannot load Kubernetes configuration: .*nope"):
        Kube.from_config(KubernetesConfig(namespace="default", kubeconfig=str(kubesim.kubeconfig), context="nope"))


def test_watch_cut_abruptly_after_serving_is_resumed_indefinitely(monkeypatch):
    """A proxy that cuts idle watch streams mid-chunk: each cut after a healthy stretch is a fresh start, so a long,
    quiet migration is never failed by 'watch keeps failing' (which still ends a server failing at once)."""
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from kubernetes import client

    from shipit.kube import watch as kube_watch
    from shipit.kube.client import Kube

    monkeypatch.setattr(kube_watch, "HEALTHY_STREAM", 0.05)
    watches = []

    class Cutting(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if "watch=" not in self.path:
                body = json.dumps({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "5"}, "items": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            watches.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"40\r\n{\"type\":")  # half a chunk, then the connection is gone
            self.wfile.flush()
            time.sleep(0.1)
            self.close_connection = True

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Cutting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conf = client.Configuration()
    conf.host = f"http://127.0.0.1:{server.server_port}"
    kube = Kube(client.ApiClient(conf), "shop")
    stream = kube.watch(kube.core.list_namespaced_config_map, "shop")
    errors: list[BaseException] = []

    def consume():
        try:
            for _ in stream:
                pass
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 15
        while len(watches) < 12 and not errors and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not errors, errors
        assert len(watches) >= 12 and all("resourceVersion=5" in p for p in watches)
    finally:
        stream.close()
        t.join(5)
        server.shutdown()
