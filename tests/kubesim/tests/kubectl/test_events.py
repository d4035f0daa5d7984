"""Events written by the kubelet/controllers (classic core/v1) and by the scheduler
(events.k8s.io origin), read through CoreV1Api, EventsV1Api and kubectl."""

from __future__ import annotations

import json
import re

from tests.kubesim.tests.kubectl.conftest import deployment_yaml, wait_for


def crash_pod(api) -> str:
    api.core.create_namespaced_pod("default", {"metadata": {"name": "crash"}, "spec": {"containers": [
        {"name": "web", "image": "web:v1-crash"}]}})
    return "crash"


def test_V1_V3_core_v1_shows_classic_and_scheduler_events(cluster, api):
    crash_pod(api)
    back = wait_for(lambda: [e for e in api.core.list_namespaced_event(
        "default", field_selector="involvedObject.name=crash,involvedObject.kind=Pod,reason=BackOff").items
        if e.count >= 2], timeout=60, what="a repeated BackOff event")[0]
    assert back.first_timestamp <= back.last_timestamp and back.event_time is None
    assert back.source.component == "kubelet" and back.source.host == "node-1"
    assert back.reporting_component == "kubelet" and back.involved_object.field_path == "spec.containers{web}"
    pod = api.core.read_namespaced_pod("crash", "default")
    assert back.involved_object.uid == pod.metadata.uid and back.involved_object.api_version == "v1"
    assert re.fullmatch(r"crash\.[0-9a-f]+", back.metadata.name)
    scheduled = api.core.list_namespaced_event("default", field_selector="reason=Scheduled").items[0]
    assert scheduled.first_timestamp is None and scheduled.last_timestamp is None
    assert scheduled.event_time is not None and scheduled.reporting_component == "default-scheduler"
    assert scheduled.source.component is None and scheduled.message == "Successfully assigned default/crash to node-1"
    raw = json.loads(api.core.list_namespaced_event("default", field_selector="reason=Scheduled",
                                                    _preload_content=False).data)["items"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", raw["eventTime"])       # MicroTime


def test_V2_events_k8s_io_view_of_the_same_store(cluster, api):
    from kubernetes import client
    crash_pod(api)
    wait_for(lambda: api.core.list_namespaced_event("default", field_selector="reason=Started").items)
    events_v1 = client.EventsV1Api(api.raw)
    # Classic events have a null eventTime, which the python model rejects: read CoreV1Api instead.
    try:
        events_v1.list_namespaced_event("default")
    except ValueError as exc:
        assert "event_time" in str(exc) or "eventTime" in str(exc)
    raw = json.loads(events_v1.list_namespaced_event("default", _preload_content=False).data)
    assert raw["kind"] == "EventList" and raw["apiVersion"] == "events.k8s.io/v1"
    by_reason = {e["reason"]: e for e in raw["items"]}
    started = by_reason["Started"]
    assert started["regarding"]["name"] == "crash" and started["note"] == "Started container web"
    assert started["deprecatedSource"]["component"] == "kubelet" and started["deprecatedCount"] >= 1
    assert started["reportingController"] == "kubelet" and started.get("eventTime") is None
    assert started["deprecatedFirstTimestamp"] and "message" not in started and "involvedObject" not in started
    scheduled = by_reason["Scheduled"]
    assert scheduled["eventTime"] and scheduled["reportingController"] == "default-scheduler"


def test_V2_creating_an_events_k8s_io_event_appears_in_core_v1(cluster, api):
    from kubernetes import client
    ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x.1"},
          "eventTime": "2025-01-01T00:00:00.000001Z", "reportingController": "shipit", "reportingInstance": "ci",
          "action": "Deploy", "reason": "Released", "note": "v2 out", "type": "Normal",
          "regarding": {"kind": "Deployment", "name": "web", "namespace": "default"}}
    client.EventsV1Api(api.raw).create_namespaced_event("default", ev)
    core = api.core.read_namespaced_event("x.1", "default")
    assert (core.message, core.involved_object.name, core.reporting_component) == ("v2 out", "web", "shipit")
    assert core.first_timestamp is None and core.event_time is not None


def test_V4_kubectl_get_events_by_involved_object(cluster, api):
    crash_pod(api)
    wait_for(lambda: api.core.list_namespaced_event("default", field_selector="reason=Started").items)
    out = json.loads(cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=crash",
                                     "-o", "json").stdout)
    reasons = {e["reason"] for e in out["items"]}
    assert {"Scheduled", "Pulling", "Pulled", "Created", "Started"} <= reasons
    assert all(e["involvedObject"]["name"] == "crash" for e in out["items"])
    bad = cluster.kubectl("get", "events", "--field-selector", "nope=1", check=False)
    assert bad.returncode == 1 and "field label not supported: nope" in bad.stderr


def test_V1_controller_events_on_deployments_and_replicasets(cluster, api):
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(replicas=2))
    cluster.kubectl("rollout", "status", "deploy/web", "--timeout=60s")
    events = api.core.list_namespaced_event("default").items
    scaling = [e for e in events if e.reason == "ScalingReplicaSet"]
    assert scaling and scaling[0].source.component == "deployment-controller"
    assert re.fullmatch(r"Scaled up replica set web-[a-z0-9]+ from 0 to 2", scaling[0].message)
    created = [e for e in events if e.reason == "SuccessfulCreate" and e.involved_object.kind == "ReplicaSet"]
    assert len(created) == 2 and created[0].source.component == "replicaset-controller"
    assert created[0].message.startswith("Created pod: web-")
