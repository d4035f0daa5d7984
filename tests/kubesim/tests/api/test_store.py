"""Store rules: object metadata, optimistic concurrency, GC, watch semantics."""
from __future__ import annotations

import threading
import time

import pytest

from tests.kubesim import resources as R
from tests.kubesim.errors import ApiError
from tests.kubesim.store import Store


def _deployment(name="web", image="web:v1", **meta):
    return {"metadata": {"name": name, **meta},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


def _owned_pod(owner: dict, kind: str, name: str, *, block=True, node="node-1"):
    ref = {"apiVersion": owner["apiVersion"], "kind": kind, "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": block}
    spec = {"containers": [{"name": "c", "image": "busybox:1"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": {"app": "web"}, "ownerReferences": [ref]}, "spec": spec}


@pytest.fixture
def store():
    return Store(namespaces=("default",))


def _error(fn) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn()
    return info.value


def test_C2_R1_create_stamps_metadata_and_global_rv(store):
    before = int(store.resource_version)
    d = store.create(R.DEPLOYMENTS, "default", _deployment())
    cm = store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    meta = d["metadata"]
    assert len(meta["uid"]) == 36 and meta["creationTimestamp"].endswith("Z") and meta["generation"] == 1
    assert int(meta["resourceVersion"]) == before + 1
    assert int(cm["metadata"]["resourceVersion"]) == before + 2 and "generation" not in cm["metadata"]
    assert d["status"] == {} and d["spec"]["replicas"] == 1 and d["spec"]["progressDeadlineSeconds"] == 600
    assert store.list(R.CONFIGMAPS, "default")[1] == store.resource_version


def test_C3_generate_name_and_missing_name(store):
    pod = store.create(R.PODS, "default", {"metadata": {"generateName": "web-"},
                                          "spec": {"containers": [{"name": "c", "image": "x"}]}})
    name = pod["metadata"]["name"]
    assert name.startswith("web-") and len(name) == 9 and set(name[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    err = _error(lambda: store.create(R.CONFIGMAPS, "default", {"metadata": {}}))
    assert err.status == 422 and "name or generateName is required" in err.message


def test_C4_already_exists_status(store):
    store.create(R.DEPLOYMENTS, "default", _deployment())
    err = _error(lambda: store.create(R.DEPLOYMENTS, "default", _deployment()))
    assert err.to_status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": 'deployments.apps "web" already exists', "reason": "AlreadyExists",
                               "details": {"name": "web", "group": "apps", "kind": "deployments"}, "code": 409}


def test_C1_namespace_mismatch_and_unknown_namespace(store):
    err = _error(lambda: store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "a", "namespace": "other"}}))
    assert err.status == 400 and "does not match the namespace" in err.message
    err = _error(lambda: store.create(R.CONFIGMAPS, "nope", {"metadata": {"name": "a"}}))
    assert (err.status, err.message) == (404, 'namespaces "nope" not found')


def test_C6_job_selector_and_restart_policy(store):
    job = store.create(R.JOBS, "default", {"metadata": {"name": "migrate"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "m", "image": "app:1"}]}}}})
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["spec"]["template"]["metadata"]["labels"]["job-name"] == "migrate"
    assert (job["spec"]["backoffLimit"], job["spec"]["completions"], job["spec"]["parallelism"]) == (6, 1, 1)
    err = _error(lambda: store.create(R.JOBS, "default", {"metadata": {"name": "bad"}, "spec": {"template": {
        "spec": {"containers": [{"name": "m", "image": "app:1"}]}}}}))
    assert err.status == 422 and err.details["kind"] == "Job"
    assert 'Job.batch "bad" is invalid: spec.template.spec.restartPolicy: Required value' in err.message


def test_U1_stale_resource_version_conflicts(store):
    d = store.create(R.DEPLOYMENTS, "default", _deployment())
    store.mutate(R.DEPLOYMENTS, "default", "web", lambda o: o["metadata"].setdefault("labels", {}).update(x="1"))
    err = _error(lambda: store.update(R.DEPLOYMENTS, "default", d))
    assert err.status == 409 and err.reason == "Conflict"
    assert err.message == ('Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
                           'please apply your changes to the latest version and try again')


def test_U2_lease_needs_resource_version(store):
    lease = store.create(R.LEASES, "default", {"metadata": {"name": "lock"}, "spec": {"holderIdentity": "a"}})
    del lease["metadata"]["resourceVersion"]
    err = _error(lambda: store.update(R.LEASES, "default", lease))
    assert err.status == 422 and "must be specified for an update" in err.message
    cm = store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "c"}})
    del cm["metadata"]["resourceVersion"]
    cm["data"] = {"k": "v"}
    assert store.update(R.CONFIGMAPS, "default", cm)["data"] == {"k": "v"}


def test_H7_lease_microtime_layout(store):
    err = _error(lambda: store.create(R.LEASES, "default", {"metadata": {"name": "l"}, "spec": {
        "renewTime": "2025-01-01T00:00:00Z"}}))
    assert err.status == 400 and "2006-01-02T15:04:05.000000Z07:00" in err.message
    store.create(R.LEASES, "default", {"metadata": {"name": "l"}, "spec": {"renewTime": "2025-01-01T00:00:00.000000Z"}})


def test_R2_noop_write_keeps_rv_and_emits_nothing(store):
    d = store.create(R.DEPLOYMENTS, "default", _deployment())
    seen = []
    store.subscribe(lambda t, r, o: seen.append(t))
    again = store.update(R.DEPLOYMENTS, "default", d)
    assert again["metadata"]["resourceVersion"] == d["metadata"]["resourceVersion"] and seen == []


def test_R3_R4_generation_and_status_split(store):
    store.create(R.DEPLOYMENTS, "default", _deployment())
    d = store.mutate(R.DEPLOYMENTS, "default", "web", lambda o: o["status"].update(replicas=3))
    assert d["status"] == {} and d["metadata"]["generation"] == 1              # main resource ignores status
    d = store.mutate(R.DEPLOYMENTS, "default", "web", lambda o: o.update(status={"replicas": 3}, spec={}),
                     subresource="status")
    assert d["status"] == {"replicas": 3} and d["spec"]["replicas"] == 1 and d["metadata"]["generation"] == 1
    d = store.mutate(R.DEPLOYMENTS, "default", "web", lambda o: o["spec"].update(replicas=2))
    assert d["metadata"]["generation"] == 2
    d = store.mutate(R.DEPLOYMENTS, "default", "web",
                     lambda o: o["metadata"].setdefault("annotations", {}).update(a="b"))
    assert d["metadata"]["generation"] == 3                                       # deployment annotations bump
    store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "c"}})
    rs = store.create(R.REPLICASETS, "default", _deployment("rs"))
    rs = store.mutate(R.REPLICASETS, "default", "rs", lambda o: o["metadata"].setdefault("annotations", {}).update(a="b"))
    assert rs["metadata"]["generation"] == 1


def test_X5_background_gc_deletes_dependents(store):
    d = store.create(R.DEPLOYMENTS, "default", _deployment())
    rs = store.create(R.REPLICASETS, "default", {**_deployment("web-1"), "metadata": {
        "name": "web-1", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                              "uid": d["metadata"]["uid"], "controller": True}]}})
    store.create(R.PODS, "default", _owned_pod(rs, "ReplicaSet", "p1", node=None))
    store.delete(R.DEPLOYMENTS, "default", "web")
    assert store.list(R.REPLICASETS)[0] == [] and store.list(R.PODS)[0] == []


def test_X4_X5_jobs_orphan_by_default(store):
    job = store.create(R.JOBS, "default", {"metadata": {"name": "m"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "m", "image": "app:1"}]}}}})
    store.create(R.PODS, "default", _owned_pod(job, "Job", "m-abcde"))
    store.delete(R.JOBS, "default", "m")
    pods = store.list(R.PODS)[0]
    assert store.list(R.JOBS)[0] == [] and [p["metadata"]["name"] for p in pods] == ["m-abcde"]
    assert "ownerReferences" not in pods[0]["metadata"] and "deletionTimestamp" not in pods[0]["metadata"]


def test_X5_X6_foreground_waits_for_terminating_pod(store):
    job = store.create(R.JOBS, "default", {"metadata": {"name": "m"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "m", "image": "app:1"}]}}}})
    store.create(R.PODS, "default", _owned_pod(job, "Job", "m-abcde"))
    out = store.delete(R.JOBS, "default", "m", propagation="Foreground")
    assert out["metadata"]["finalizers"] == ["foregroundDeletion"] and out["metadata"]["deletionTimestamp"]
    pod = store.get(R.PODS, "default", "m-abcde")
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30                     # graceful pod deletion
    assert store.get(R.JOBS, "default", "m")["metadata"]["deletionTimestamp"]
    store.delete(R.PODS, "default", "m-abcde", grace_period_seconds=0)            # the kubelet's final delete
    assert store.list(R.PODS)[0] == [] and store.list(R.JOBS)[0] == []


def test_X5_finalizer_holds_object_until_removed(store):
    store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "c", "finalizers": ["example.com/hold"]}})
    store.delete(R.CONFIGMAPS, "default", "c")
    held = store.get(R.CONFIGMAPS, "default", "c")
    assert held["metadata"]["deletionTimestamp"]
    err = _error(lambda: store.mutate(R.CONFIGMAPS, "default", "c",
                                      lambda o: o["metadata"]["finalizers"].append("another")))
    assert err.status == 422
    store.mutate(R.CONFIGMAPS, "default", "c", lambda o: o["metadata"].pop("finalizers"))
    assert _error(lambda: store.get(R.CONFIGMAPS, "default", "c")).status == 404


def test_X6_unbound_pod_deleted_at_once(store):
    store.create(R.PODS, "default", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    store.delete(R.PODS, "default", "p")
    assert store.list(R.PODS)[0] == []


def test_subscribers_see_writes_in_commit_order_outside_the_lock(store):
    seen = []

    def callback(event_type, res, obj):
        seen.append((event_type, res.plural, obj["metadata"]["name"]))
        if obj["metadata"]["name"] == "a" and event_type == "ADDED":       # a controller writing from a callback
            store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "b"}})
    store.subscribe(callback)
    store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "a"}})
    store.delete(R.CONFIGMAPS, "default", "a")
    assert seen == [("ADDED", "configmaps", "a"), ("ADDED", "configmaps", "b"), ("DELETED", "configmaps", "a")]


def test_V2_events_share_one_store_across_both_apis(store):
    store.create(R.EVENTS_V1, "default", {"metadata": {"name": "p.1"}, "eventTime": "2025-01-01T00:00:00.000000Z",
                                          "reason": "Scheduled", "note": "assigned", "type": "Normal",
                                          "regarding": {"kind": "Pod", "name": "p"},
                                          "reportingController": "default-scheduler"})
    store.create(R.EVENTS, "default", {"metadata": {"name": "p.2"}, "reason": "Pulling", "message": "pulling",
                                       "involvedObject": {"kind": "Pod", "name": "p"},
                                       "source": {"component": "kubelet"}, "firstTimestamp": "2025-01-01T00:00:00Z"})
    core = {e["metadata"]["name"]: e for e in store.list(R.EVENTS, "default",
                                                         field_selector="involvedObject.name=p")[0]}
    assert core["p.1"]["firstTimestamp"] is None and core["p.1"]["reportingComponent"] == "default-scheduler"
    assert core["p.1"]["message"] == "assigned" and core["p.2"]["eventTime"] is None
    v1 = {e["metadata"]["name"]: e for e in store.list(R.EVENTS_V1, "default")[0]}
    assert v1["p.2"]["note"] == "pulling" and v1["p.2"]["regarding"]["name"] == "p"
    assert v1["p.1"]["apiVersion"] == "events.k8s.io/v1"


# --- watch ---------------------------------------------------------------------------------------------------

def _collect(it, n, timeout=3.0):
    out, box = [], {}

    def run():
        try:
            for ev in it:
                out.append(ev)
                if len(out) >= n:
                    return
        except ApiError as e:
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    return out, box.get("error")


def test_W2_unset_rv_sends_synthetic_added_then_live(store):
    store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "a"}})
    it = store.watch(R.CONFIGMAPS, "default", resource_version=None, timeout=5, bookmarks=False)
    first = next(it)
    assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "a"
    store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "b"}})
    assert next(it)["object"]["metadata"]["name"] == "b"


def test_W2_exact_rv_replays_history_without_synthetic_added(store):
    store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "a"}})
    rv = store.resource_version
    store.mutate(R.CONFIGMAPS, "default", "a", lambda o: o.update(data={"k": "v"}))
    store.delete(R.CONFIGMAPS, "default", "a")
    events, err = _collect(store.watch(R.CONFIGMAPS, "default", resource_version=rv, timeout=2, bookmarks=False), 2)
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"] and err is None
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) > int(events[0]["object"]["metadata"][
        "resourceVersion"])


def test_W3_selector_transitions(store):
    store.create(R.PODS, "default", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    rv = store.resource_version
    it = store.watch(R.PODS, "default", resource_version=rv, field_selector="status.phase=Running", timeout=3,
                     bookmarks=False)
    store.mutate(R.PODS, "default", "p", lambda o: o["status"].update(phase="Running"), subresource="status")
    store.mutate(R.PODS, "default", "p", lambda o: o["status"].update(podIP="10.0.0.1"), subresource="status")
    store.mutate(R.PODS, "default", "p", lambda o: o["status"].update(phase="Succeeded"), subresource="status")
    events, _ = _collect(it, 3)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[2]["object"]["status"]["phase"] == "Running"                  # the previous object...
    assert events[2]["object"]["metadata"]["resourceVersion"] == store.resource_version   # ...with the new RV


def test_W5_too_old_rv_raises_expired(store):
    store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "a"}})
    old = store.resource_version
    store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "b"}})
    store.expire_history()
    err = _error(lambda: next(store.watch(R.CONFIGMAPS, "default", resource_version=old, timeout=1,
                                          bookmarks=False)))
    assert (err.status, err.reason) == (410, "Expired")
    assert err.message == f"too old resource version: {old} ({store.resource_version})"
    live = store.watch(R.CONFIGMAPS, "default", resource_version=store.resource_version, timeout=2, bookmarks=False)
    store.create(R.CONFIGMAPS, "default", {"metadata": {"name": "c"}})
    assert next(live)["object"]["metadata"]["name"] == "c"


def test_W4_W6_timeout_and_bookmarks(store):
    store.bookmark_interval = 0.2
    start = time.monotonic()
    events = list(store.watch(R.CONFIGMAPS, "default", resource_version="0", timeout=0.7, bookmarks=True))
    assert 0.6 < time.monotonic() - start < 1.5
    assert events and all(e["type"] == "BOOKMARK" for e in events)
    assert events[0]["object"] == {"kind": "ConfigMap", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": store.resource_version}}
    assert list(store.watch(R.CONFIGMAPS, "default", resource_version="0", timeout=0.3, bookmarks=False)) == []


def test_L3_L4_selectors_on_list(store):
    for name, labels in (("a", {"app": "web", "tier": "fe"}), ("b", {"app": "web"}), ("c", {"app": "db"})):
        store.create(R.CONFIGMAPS, "default", {"metadata": {"name": name, "labels": labels}})

    def names(**kw):
        return [o["metadata"]["name"] for o in store.list(R.CONFIGMAPS, "default", **kw)[0]]
    assert names(label_selector="app=web") == ["a", "b"]
    assert names(label_selector="app in (web,db),!tier") == ["b", "c"]
    assert names(label_selector="app!=web") == ["c"] and names(label_selector="tier") == ["a"]
    assert names(label_selector="app notin (db)") == ["a", "b"]
    assert names(field_selector="metadata.name=b") == ["b"] and names(field_selector="metadata.name!=b") == ["a", "c"]
    err = _error(lambda: names(field_selector="status.phase=Running"))
    assert err.status == 400 and '"status.phase" is not a known field selector' in err.message
    err = _error(lambda: store.list(R.PODS, field_selector="spec.bogus=x"))
    assert "field label not supported: spec.bogus" in err.message
