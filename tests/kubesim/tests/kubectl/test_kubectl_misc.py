"""Everyday kubectl verbs a person debugging a release would run against kubesim: describe, wait variants, get all,
labels/annotations, patch types, delete cascades, namespaces, server-side apply."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.kubesim.tests.kubectl.conftest import deployment_yaml, get_json, wait_for

POD = """apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers: [{name: web, image: web:v1}]
"""


def test_wait_for_ready_jsonpath_and_delete(cluster, api):
    cluster.kubectl("create", "-f", "-", input=POD)
    assert cluster.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=60s").stdout.strip() == \
        "pod/web condition met"
    assert cluster.kubectl("wait", "--for=jsonpath={.status.phase}=Running", "pod/web", "--timeout=60s").returncode == 0
    cluster.kubectl("delete", "pod", "web", "--wait=false")
    gone = cluster.kubectl("wait", "--for=delete", "pod/web", "--timeout=60s")
    assert gone.returncode == 0
    assert not api.core.list_namespaced_pod("default").items


@pytest.mark.kubesim_only("asserts kubesim's node IP; the real node agent's is 127.0.0.1")
def test_describe_pod_shows_events(cluster):
    cluster.kubectl("create", "-f", "-", input=POD)
    cluster.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
    out = cluster.kubectl("describe", "pod", "web").stdout
    assert re.search(r"^Status: +Running$", out, re.M) and re.search(r"^Node: +node-1/192\.168\.49\.2$", out, re.M)
    assert "Successfully assigned default/web to node-1" in out and "Started container web" in out


@pytest.mark.diverges_on_real("a real default namespace holds service/kubernetes")
def test_get_all_and_label_selectors(cluster):
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(replicas=2))
    cluster.kubectl("rollout", "status", "deploy/web", "--timeout=60s")
    names = set(cluster.kubectl("get", "all", "-o", "name").stdout.split())
    kinds = {n.split("/")[0] for n in names}
    assert kinds == {"pod", "deployment.apps", "replicaset.apps"}, names
    pods = cluster.kubectl("get", "pods", "-l", "app=web,pod-template-hash", "-o", "name").stdout.split()
    assert len(pods) == 2
    assert cluster.kubectl("get", "pods", "-l", "app notin (web)", "-o", "name").stdout == ""
    running = cluster.kubectl("get", "pods", "--field-selector", "status.phase=Running", "-o", "name").stdout.split()
    assert sorted(running) == sorted(pods)


@pytest.mark.diverges_on_real("a JSON patch that cannot apply is 422 with a generic message on 1.34")
def test_label_annotate_and_patch_types(cluster):
    cluster.kubectl("create", "configmap", "cfg", "--from-literal=a=1") if cluster.minor < 33 else \
        cluster.kubectl("create", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"
                                                   "data: {a: '1'}\n")
    cluster.kubectl("label", "cm", "cfg", "tier=db")
    cluster.kubectl("annotate", "cm", "cfg", "note=x")
    cluster.kubectl("patch", "cm", "cfg", "--type=merge", "-p", '{"data":{"b":"2"}}')
    cluster.kubectl("patch", "cm", "cfg", "--type=json", "-p", '[{"op":"remove","path":"/data/a"}]')
    cm = get_json(cluster, "cm", "cfg")
    assert cm["data"] == {"b": "2"} and cm["metadata"]["labels"] == {"tier": "db"}
    assert cm["metadata"]["annotations"] == {"note": "x"}
    bad = cluster.kubectl("patch", "cm", "cfg", "--type=json", "-p", '[{"op":"remove","path":"/data/zz"}]',
                          check=False)
    assert bad.returncode == 1 and "doc is missing key: /data/zz" in bad.stderr      # 422
    cluster.kubectl("label", "cm", "cfg", "tier-")
    assert "labels" not in get_json(cluster, "cm", "cfg")["metadata"] or \
        get_json(cluster, "cm", "cfg")["metadata"]["labels"] == {}


def test_X5_foreground_and_orphan_cascades(cluster, api):
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(replicas=2))
    cluster.kubectl("rollout", "status", "deploy/web", "--timeout=60s")
    cluster.kubectl("delete", "deploy", "web", "--cascade=orphan")
    rss = api.apps.list_namespaced_replica_set("default").items
    assert len(rss) == 1 and not rss[0].metadata.owner_references
    cluster.kubectl("delete", "rs", rss[0].metadata.name, "--cascade=foreground")
    assert not api.apps.list_namespaced_replica_set("default").items, "foreground returns once the owner is gone"
    wait_for(lambda: not api.core.list_namespaced_pod("default").items, what="pods deleted before the owner")


def test_C1_namespaces_lifecycle(cluster, api):
    missing = cluster.kubectl("create", "-n", "nope", "-f", "-", input=POD, check=False)
    assert missing.returncode == 1 and 'namespaces "nope" not found' in missing.stderr
    cluster.kubectl("create", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata: {name: staging}\n")
    cluster.kubectl("create", "-n", "staging", "-f", "-", input=POD)
    pods = api.core.list_pod_for_all_namespaces().items
    assert [(p.metadata.namespace, p.metadata.name) for p in pods] == [("staging", "web")]
    cluster.kubectl("delete", "namespace", "staging", "--timeout=60s")
    assert not api.core.list_pod_for_all_namespaces().items
    assert "staging" not in cluster.kubectl("get", "ns", "-o", "name").stdout


def test_P1_server_side_apply_creates_then_merges(cluster):
    doc = yaml.safe_load(deployment_yaml())
    out = cluster.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(doc))
    assert out.stdout.strip() == "deployment.apps/web serverside-applied"
    doc["spec"]["replicas"] = 3
    cluster.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(doc))
    assert get_json(cluster, "deploy", "web")["spec"]["replicas"] == 3


def test_G4_logs_of_a_deployment(cluster):
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(replicas=2))
    cluster.kubectl("rollout", "status", "deploy/web", "--timeout=60s")
    out = cluster.kubectl("logs", "deploy/web")
    assert out.stdout == "starting web:v1\nlistening on :8080\n"
    assert "Found 2 pods, using pod/web-" in out.stderr


def test_get_raw_health_and_status_object(cluster):
    assert cluster.kubectl("get", "--raw", "/healthz").stdout == "ok"
    missing = cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/nope", check=False)
    assert missing.returncode == 1 and 'pods "nope" not found' in missing.stderr
    unknown = cluster.kubectl("get", "--raw", "/apis/nope.io/v1", check=False)
    assert unknown.returncode == 1 and "NotFound" in unknown.stderr or "not found" in unknown.stderr.lower()
    body = json.loads(cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/configmaps?limit=1").stdout)
    assert body["kind"] == "ConfigMapList" and body["metadata"]["resourceVersion"]


def test_protobuf_bodies_are_refused_with_415(kubesim_factory):
    """Documented gap: kubectl 1.33's typed `create configmap` sends a protobuf body, which kubesim refuses (415);
    kubectl 1.29 sends JSON and works."""
    new, old = kubesim_factory(k8s_version="1.33"), kubesim_factory(k8s_version="1.29")
    refused = new.kubectl("create", "configmap", "cfg", "--from-literal=a=1", check=False)
    assert refused.returncode == 1 and "the body of the request was in an unknown format" in refused.stderr
    assert old.kubectl("create", "configmap", "cfg", "--from-literal=a=1").stdout.strip() == "configmap/cfg created"


@pytest.mark.diverges_on_real("every real namespace holds ConfigMap kube-root-ca.crt")
def test_L6_chunked_lists_with_limit_and_continue(cluster, api):
    for i in range(5):
        api.core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{i}"}})
    out = cluster.kubectl("get", "cm", "--chunk-size=2", "-o", "name", "-v=6")
    assert out.stdout.split() == [f"configmap/cm-{i}" for i in range(5)]
    assert out.stderr.count("continue=") == 2
    first = api.core.list_namespaced_config_map("default", limit=2)
    assert [c.metadata.name for c in first.items] == ["cm-0", "cm-1"] and first.metadata.remaining_item_count == 3
    rest = api.core.list_namespaced_config_map("default", limit=10, _continue=first.metadata._continue)
    assert [c.metadata.name for c in rest.items] == ["cm-2", "cm-3", "cm-4"] and not rest.metadata._continue
