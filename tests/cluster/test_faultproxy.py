"""The fault proxy itself, in front of the real API server: untouched traffic is relayed (real kubectl, over TLS,
keep-alive), and each rule does what it says — the Nth matching request answered, latency added, a watch cut after
K events (cleanly or by a reset), a watch from an expired resourceVersion answered 410."""

from __future__ import annotations

import http.client
import json
import ssl
import time

import pytest

from tests.cluster.faultproxy import FaultProxy

pytestmark = pytest.mark.real_cluster


@pytest.fixture
def proxy(real_cluster):
    certs = real_cluster.ca_file.parent
    with FaultProxy(real_cluster.url, real_cluster.ca_file, cert=(certs / "apiserver.crt", certs / "apiserver.key")) as p:
        yield p


def connect(proxy) -> http.client.HTTPSConnection:
    host, port = proxy.url.removeprefix("https://").split(":")
    return http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=proxy.ca_file))


def get(conn, real_cluster, path: str) -> tuple[int, dict]:
    conn.request("GET", path, headers={"Authorization": f"Bearer {real_cluster.admin_token}"})
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read() or b"{}")


def configmap(real_cluster, ns: str, name: str) -> None:
    real_cluster.api().create(f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": name}, "data": {"v": "1"}})


def test_kubectl_through_the_proxy_sees_the_real_server(proxy, real_cluster, cluster_namespace, tmp_path):
    kubeconfig = proxy.write_kubeconfig(tmp_path / "kc", token=real_cluster.admin_token)
    r = real_cluster.kubectl("create", "configmap", "via-proxy", "-n", cluster_namespace, "--from-literal=a=b",
                             kubeconfig=kubeconfig)
    assert r.returncode == 0, r.stderr
    r = real_cluster.kubectl("get", "configmap", "via-proxy", "-n", cluster_namespace, "-o", "json",
                             kubeconfig=kubeconfig)
    assert r.returncode == 0 and json.loads(r.stdout)["data"] == {"a": "b"}
    assert [s.status for s in proxy.requests("POST", r"/configmaps")] == [201]


def test_the_nth_matching_request_is_answered_and_the_others_relayed(proxy, real_cluster, cluster_namespace):
    path = f"/api/v1/namespaces/{cluster_namespace}/configmaps"
    rule = proxy.answer("GET", r"/configmaps$", 503, nth=2)
    conn = connect(proxy)  # one kept-alive connection for all three
    answers = [get(conn, real_cluster, path) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 503, 200] and rule.hits == 1
    assert answers[1][1]["reason"] == "ServiceUnavailable" and answers[1][1]["code"] == 503
    assert answers[2][1]["kind"] == "ConfigMapList"
    proxy.answer("GET", r"/configmaps$", 429, retry_after=3)
    conn.request("GET", path, headers={"Authorization": f"Bearer {real_cluster.admin_token}"})
    resp = conn.getresponse()
    assert resp.status == 429 and resp.getheader("Retry-After") == "3"
    assert json.loads(resp.read())["details"] == {"retryAfterSeconds": 3}


def test_latency_is_added_to_matching_requests_only(proxy, real_cluster, cluster_namespace):
    proxy.delay("GET", r"/configmaps$", 0.6)
    conn = connect(proxy)
    t0 = time.monotonic()
    assert get(conn, real_cluster, f"/api/v1/namespaces/{cluster_namespace}/configmaps")[0] == 200
    assert time.monotonic() - t0 >= 0.6
    assert not proxy.pending()


def watch_events(proxy, real_cluster, ns: str, rv: str, timeout: int = 5) -> tuple[list[str], str]:
    """Names of the ADDED/ERROR events of a configmap watch from `rv`, and how the stream ended."""
    conn = connect(proxy)
    conn.request("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds={timeout}",
                 headers={"Authorization": f"Bearer {real_cluster.admin_token}"})
    resp = conn.getresponse()
    if resp.status != 200:
        return [f"HTTP {resp.status} {json.loads(resp.read())['reason']}"], "status"
    try:
        data, ended = resp.read(), "end"
    except http.client.IncompleteRead as e:  # no last chunk: the connection was dropped mid-stream
        data, ended = e.partial, "reset"
    names = []
    for line in data.splitlines():
        event = json.loads(line)
        obj = event["object"]
        names.append(obj["metadata"]["name"] if event["type"] != "ERROR" else f"ERROR {obj['code']} {obj['reason']}")
    return names, ended


@pytest.mark.parametrize("how", ["end", "reset"])
def test_a_watch_is_cut_after_k_events(proxy, real_cluster, cluster_namespace, how):
    _, before = get(connect(proxy), real_cluster, f"/api/v1/namespaces/{cluster_namespace}/configmaps")
    for name in ("a", "b", "c"):
        configmap(real_cluster, cluster_namespace, name)
    rule = proxy.cut_watch(r"/configmaps\?", after_events=2, how=how)
    t0 = time.monotonic()
    names, ended = watch_events(proxy, real_cluster, cluster_namespace, before["metadata"]["resourceVersion"])
    assert (names, ended, rule.hits) == (["a", "b"], how, 1)
    assert time.monotonic() - t0 < 4, "cut, not ended by the server's timeoutSeconds"


@pytest.mark.parametrize("form, want", [("event", (["ERROR 410 Expired"], "end")),
                                        ("status", (["HTTP 410 Expired"], "status"))])
def test_a_watch_from_an_expired_resource_version_gets_410(proxy, real_cluster, cluster_namespace, form, want):
    _, before = get(connect(proxy), real_cluster, f"/api/v1/namespaces/{cluster_namespace}/configmaps")
    configmap(real_cluster, cluster_namespace, "a")
    _, after = get(connect(proxy), real_cluster, f"/api/v1/namespaces/{cluster_namespace}/configmaps")
    if form == "event":
        proxy.expire_before(after["metadata"]["resourceVersion"])
    else:
        proxy.expire_watch(r"/configmaps\?", form="status")
    assert watch_events(proxy, real_cluster, cluster_namespace, before["metadata"]["resourceVersion"]) == want
    if form == "event":  # a watch from the current resourceVersion is not expired
        configmap(real_cluster, cluster_namespace, "b")
        names, _ = watch_events(proxy, real_cluster, cluster_namespace, after["metadata"]["resourceVersion"], 1)
        assert names == ["b"]
