"""Discovery and /version with kubectl and the python client."""

from __future__ import annotations

import json
import re

import pytest

from tests.kubesim.tests.kubectl.conftest import VERSIONS, deployment_yaml

EXPECTED = {  # name -> (short names, apiVersion, namespaced, kind)
    "pods": ("po", "v1", "true", "Pod"), "events": ("ev", "v1", "true", "Event"),
    "namespaces": ("ns", "v1", "false", "Namespace"), "configmaps": ("cm", "v1", "true", "ConfigMap"),
    "secrets": ("", "v1", "true", "Secret"), "serviceaccounts": ("sa", "v1", "true", "ServiceAccount"),
    "deployments": ("deploy", "apps/v1", "true", "Deployment"), "replicasets": ("rs", "apps/v1", "true", "ReplicaSet"),
    "jobs": ("", "batch/v1", "true", "Job"), "leases": ("", "coordination.k8s.io/v1", "true", "Lease"),
    "statefulsets": ("sts", "apps/v1", "true", "StatefulSet"),
    "controllerrevisions": ("", "apps/v1", "true", "ControllerRevision"),
    "cronjobs": ("cj", "batch/v1", "true", "CronJob"),
}


@pytest.mark.kubesim_only("the emulated minor picks the client; the dispatcher has no kubectl 1.34")
def test_D1_D2_kubectl_version_picks_the_emulated_minor(cluster, k8s_version):
    """The dispatcher reads /version and runs kubectl 1.<minor>; all nine version fields are served."""
    out = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    minor = k8s_version.split(".")[1]
    assert out["serverVersion"]["minor"] == minor
    assert out["serverVersion"]["gitVersion"].startswith(f"v{k8s_version}.")
    assert out["clientVersion"]["minor"] == minor, "the dispatcher did not exec the matching kubectl"


def test_D1_python_version_info_has_every_required_field(cluster, api, k8s_version):
    from kubernetes import client
    info = client.VersionApi(api.raw).get_code()
    assert (info.major, info.minor) == ("1", k8s_version.split(".")[1])
    assert info.git_commit and info.build_date and info.go_version and info.platform == "linux/amd64"


@pytest.mark.kubesim_only("asserts kubesim's own resource table")
def test_D7_api_resources_lists_exactly_the_advertised_table(cluster):
    """Plain discovery: `kubectl api-resources` sees exactly the resources kubesim serves."""
    out = cluster.kubectl("api-resources", "--no-headers").stdout
    rows = {}
    for line in out.splitlines():
        cols = line.split()
        if len(cols) == 5:
            name, short, gv, namespaced, kind = cols
        else:
            (name, gv, namespaced, kind), short = cols, ""
        rows.setdefault(name, set()).add((short, gv, namespaced, kind))
    assert set(rows) == set(EXPECTED)
    for name, want in EXPECTED.items():
        if name == "events":   # served by core/v1 and events.k8s.io/v1 (one store)
            assert rows[name] == {("ev", "v1", "true", "Event"), ("ev", "events.k8s.io/v1", "true", "Event")}
        else:
            assert rows[name] == {want}, name


@pytest.mark.kubesim_only("asserts kubesim's own resource table")
def test_D7_get_raw_apis_is_a_plain_group_list(cluster):
    doc = json.loads(cluster.kubectl("get", "--raw", "/apis").stdout)
    assert doc["kind"] == "APIGroupList"
    groups = {g["name"]: g["preferredVersion"]["groupVersion"] for g in doc["groups"]}
    assert groups == {"apps": "apps/v1", "batch": "batch/v1", "coordination.k8s.io": "coordination.k8s.io/v1",
                      "events.k8s.io": "events.k8s.io/v1"}
    apps = json.loads(cluster.kubectl("get", "--raw", "/apis/apps/v1").stdout)
    subs = {r["name"]: r for r in apps["resources"]}
    assert subs["deployments/scale"]["group"] == "autoscaling" and subs["deployments/scale"]["kind"] == "Scale"
    assert subs["deployments"]["shortNames"] == ["deploy"] and "all" in subs["deployments"]["categories"]


@pytest.mark.kubesim_only("asserts kubesim's own resource table")
def test_D3_D6_python_discovery_documents(cluster, api):
    from kubernetes import client
    assert client.CoreApi(api.raw).get_api_versions().versions == ["v1"]
    groups = client.ApisApi(api.raw).get_api_versions().groups
    assert "batch" in {g.name for g in groups}
    resources = client.BatchV1Api(api.raw).get_api_resources().resources
    assert {r.name for r in resources} == {"jobs", "jobs/status", "cronjobs", "cronjobs/status"}


@pytest.mark.parametrize("k8s_version", VERSIONS, ids=lambda v: f"k8s-{v}")
def test_D5_aggregated_discovery_only_for_clients_that_ask(kubesim_factory, k8s_version):
    """With aggregated v2 enabled, kubectl 1.33 gets v2 and 1.29 (v2beta1 only) still gets plain discovery;
    both can resolve short names."""
    cluster = kubesim_factory(k8s_version=k8s_version, aggregated_discovery=True)
    cluster.kubectl("create", "-f", "-", input=deployment_yaml())
    run = cluster.kubectl("get", "deploy", "-o", "name", "-v=6", "--cache-dir", str(cluster.kubeconfig.parent / "c2"))
    assert run.stdout.strip() == "deployment.apps/web"
    per_group = re.findall(r"GET http://[^ ]+/apis/apps/v1(\?[^ ]*)? 200", run.stderr)
    if k8s_version == "1.29":
        assert per_group, "kubectl 1.29 must have been served plain discovery and fetched /apis/apps/v1 itself"
    else:
        assert not per_group, "kubectl 1.33 should have used aggregated v2 discovery"


def test_D9_each_test_gets_a_fresh_discovery_cache(kubesim_factory):
    """The cache key is host_port; Cluster.kubectl uses a cache dir per cluster so no stale discovery leaks."""
    a = kubesim_factory(k8s_version="1.29")
    b = kubesim_factory(k8s_version="1.33")
    assert a.kubectl("version", "-o", "json").stdout != b.kubectl("version", "-o", "json").stdout
    assert (a.kubeconfig.parent / f"kubecache-{a.server.port}").is_dir()
    assert (b.kubeconfig.parent / f"kubecache-{b.server.port}").is_dir()
