"""Section 14 item 5 and watch semantics: kubectl get -w, start points, selector transitions, timeoutSeconds,
bookmarks and the 410 Expired ERROR event."""

from __future__ import annotations

import functools
import time

import pytest
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from tests.kubesim.tests.kubectl.conftest import KubectlStream, json_stream, raw_watch, wait_for

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "once"},
       "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "task:v1"}]}}
SERVER = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "marker"},
          "spec": {"containers": [{"name": "main", "image": "web:v1"}]}}


def test_W2_kubectl_get_pods_watch_sees_pending_running_succeeded(cluster, api):
    """Item 5: `kubectl get pods -w --output-watch-events` lists, then watches from the list RV."""
    api.core.create_namespaced_pod("default", SERVER)
    stream = KubectlStream(cluster, "get", "pods", "-w", "--output-watch-events", "-o", "json")
    try:
        stream.wait_for('"marker"')
        api.core.create_namespaced_pod("default", POD)
        wait_for(lambda: '"Succeeded"' in stream.output, what="pod Succeeded in kubectl -w")
        time.sleep(0.2)
    finally:
        out = stream.stop()
    events = [(e["type"], e["object"]["metadata"]["name"], e["object"].get("status", {}).get("phase"))
              for e in json_stream(out)]
    assert events[0][:2] == ("ADDED", "marker")
    once = [(t, phase) for t, name, phase in events if name == "once"]
    assert once[0] == ("ADDED", "Pending")
    phases = [phase for _, phase in once]
    assert phases.index("Running") < phases.index("Succeeded")
    assert all(t == "MODIFIED" for t, _ in once[1:])
    assert phases[phases.index("Pending"):].count("Pending") >= 1 and "Failed" not in phases


def counting(fn):
    calls = []

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        calls.append(kwargs)
        return fn(*args, **kwargs)
    wrapper.calls = calls
    return wrapper


def test_PW3_W5_python_watch_on_compacted_rv_retries_once_then_raises_410(cluster, api):
    api.core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    old_rv = api.core.list_namespaced_config_map("default").metadata.resource_version
    api.core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    cluster.faults.expire_resource_versions()
    lister = counting(api.core.list_namespaced_config_map)
    with pytest.raises(ApiException) as failed:
        for _ in watch.Watch().stream(lister, "default", resource_version=old_rv):
            pass
    assert failed.value.status == 410
    assert failed.value.reason.startswith(f"Expired: too old resource version: {old_rv} (")
    assert [c["resource_version"] for c in lister.calls] == [old_rv, old_rv], "one silent retry with the same RV"


def test_W5_expired_is_an_error_event_on_a_200_stream(cluster, api):
    api.core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    cluster.faults.expire_resource_versions()
    status, events = raw_watch(cluster, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2")
    assert status == 200
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    obj = events[0]["object"]
    assert obj["kind"] == "Status" and obj["status"] == "Failure" and obj["reason"] == "Expired" and obj["code"] == 410
    assert obj["message"].startswith("too old resource version: 2 (")


@pytest.mark.diverges_on_real("every real namespace holds ConfigMap kube-root-ca.crt")
def test_W2_watch_from_a_resource_version_replays_without_synthetic_added(cluster, api):
    api.core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    rv = api.core.list_namespaced_config_map("default").metadata.resource_version
    api.core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    api.core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    api.core.delete_namespaced_config_map("a", "default")
    _, events = raw_watch(cluster, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
                                   f"&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)
    assert all(e["object"]["kind"] == "ConfigMap" and e["object"]["apiVersion"] == "v1" for e in events)   # events carry kind and apiVersion
    _, from_now = raw_watch(cluster, "/api/v1/namespaces/default/configmaps?watch=True&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in from_now] == [("ADDED", "b")]    # no resourceVersion: only changes from now


def test_W3_field_selector_transitions_added_then_deleted(cluster, api):
    rv = api.core.list_namespaced_pod("default").metadata.resource_version
    api.core.create_namespaced_pod("default", POD)
    wait_for(lambda: api.core.read_namespaced_pod("once", "default").status.phase == "Succeeded")
    _, events = raw_watch(cluster, f"/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}"
                                   f"&fieldSelector=status.phase%3DRunning&timeoutSeconds=1")
    kinds = [e["type"] for e in events]
    assert kinds[0] == "ADDED" and kinds[-1] == "DELETED" and set(kinds[1:-1]) <= {"MODIFIED"}
    assert events[0]["object"]["status"]["phase"] == "Running"
    assert events[-1]["object"]["status"]["phase"] == "Running", "DELETED carries the previous object"
    assert int(events[-1]["object"]["metadata"]["resourceVersion"]) > int(events[-2]["object"]["metadata"]
                                                                          ["resourceVersion"])


@pytest.mark.diverges_on_real("every real namespace holds ConfigMap kube-root-ca.crt")
def test_W4_PW4_timeout_seconds_ends_the_stream_quietly(cluster, api):
    start = time.monotonic()
    seen = list(watch.Watch().stream(api.core.list_namespaced_config_map, "default", timeout_seconds=1))
    took = time.monotonic() - start
    assert seen == [] and 0.9 <= took < 10


@pytest.mark.diverges_on_real("every real namespace holds ConfigMap kube-root-ca.crt")
def test_W6_bookmarks_only_when_asked_and_never_behind(cluster, api):
    cluster.store.bookmark_interval = 0.3
    api.core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    _, plain = raw_watch(cluster, "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1")
    assert [e["type"] for e in plain] == ["ADDED"]
    _, events = raw_watch(cluster, "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1"
                                   "&allowWatchBookmarks=true")
    marks = [e for e in events if e["type"] == "BOOKMARK"]
    assert events[0]["type"] == "ADDED" and len(marks) >= 2
    for mark in marks:
        assert mark["object"]["kind"] == "ConfigMap" and set(mark["object"]["metadata"]) >= {"resourceVersion"}
        assert int(mark["object"]["metadata"]["resourceVersion"]) >= int(events[0]["object"]["metadata"]
                                                                         ["resourceVersion"])


def test_PW2_python_watch_passes_bookmarks_as_raw_dicts(cluster, api):
    cluster.store.bookmark_interval = 0.3
    events = list(watch.Watch().stream(api.core.list_namespaced_pod, "default", allow_watch_bookmarks=True,
                                       timeout_seconds=1))
    assert events and all(e["type"] == "BOOKMARK" and isinstance(e["object"], dict) for e in events)


def test_W7_kubectl_get_watch_single_object_by_name(cluster, api):
    """`kubectl get pod once -w` watches the collection with fieldSelector metadata.name."""
    api.core.create_namespaced_pod("default", SERVER)
    stream = KubectlStream(cluster, "get", "pod", "marker", "-w", "-o", "jsonpath={.status.phase}{'\\n'}")
    try:
        stream.wait_for("Running")
    finally:
        out = stream.stop()
    assert out.splitlines()[-1] == "Running"


def test_W6_a_bookmark_two_seconds_before_the_deadline(kubesim):
    """With the default 60 s interval, a 3 s watch still gets the pre-deadline bookmark (at about 1 s)."""
    start = time.monotonic()
    _, events = raw_watch(kubesim, "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=3"
                                   "&allowWatchBookmarks=true")
    assert [e["type"] for e in events] == ["BOOKMARK"]
    assert events[0]["object"]["kind"] == "Pod" and events[0]["object"]["apiVersion"] == "v1"
    assert 2.8 <= time.monotonic() - start < 10
