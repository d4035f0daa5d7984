"""Apply, create conflicts, replace and Lease updates."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from tests.kubesim.tests.kubectl.conftest import get_json, status_body

APP = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
      - name: api
        image: {image}
        env:
{env}
"""

JOB = """apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: app:v1
"""


def app(image: str, env: dict[str, str]) -> str:
    return APP.format(image=image, env="\n".join(f"        - {{name: {k}, value: '{v}'}}" for k, v in env.items()))


def containers(cluster, name: str = "api") -> dict[str, dict]:
    d = get_json(cluster, "deploy", name)
    return {c["name"]: c for c in d["spec"]["template"]["spec"]["containers"]}


def add_sidecar(api) -> None:
    """Someone else (a mesh injector, the python client) adds a container that the applied manifest does not own;
    a dict body from the python client is a strategic merge patch, merged by container name."""
    api.apps.patch_namespaced_deployment("api", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "envoy:1.30"}]}}}})


@pytest.mark.parametrize("openapi", [True, False], ids=["openapi-v3", "no-openapi"])
def test_O2_O4_P1_apply_twice_keeps_sidecar_and_deletes_env(kubesim_factory, k8s_version, openapi):
    from kubernetes import client
    cluster = kubesim_factory(k8s_version=k8s_version, openapi=openapi)
    validate = () if openapi else ("--validate=false",)
    if not openapi:  # default validation needs an OpenAPI document
        failed = cluster.kubectl("apply", "-f", "-", input=app("api:v1", {"A": "1"}), check=False)
        assert failed.returncode != 0 and "failed to download openapi" in failed.stderr
    first = cluster.kubectl("apply", *validate, "-f", "-", input=app("api:v1", {"A": "1"}))
    assert first.stdout.strip() == "deployment.apps/api created"
    add_sidecar(type("A", (), {"apps": client.AppsV1Api(cluster.api_client())}))
    second = cluster.kubectl("apply", *validate, "-f", "-", input=app("api:v2", {"B": "2"}))
    assert second.stdout.strip() == "deployment.apps/api configured"
    got = containers(cluster)
    assert list(got) == ["api", "sidecar"], "strategic merge must keep the sidecar"
    assert got["api"]["image"] == "api:v2"
    assert got["api"]["env"] == [{"name": "B", "value": "2"}], "$patch: delete must remove A"
    assert got["sidecar"]["image"] == "envoy:1.30"
    cluster.kubectl("rollout", "status", "deploy/api", "--timeout=60s")
    rv = get_json(cluster, "deploy", "api")["metadata"]["resourceVersion"]
    # kubectl sends only `$setElementOrder/containers: [api]` (the live list has an extra element) and says
    # "configured"; the server result is byte-identical, so no new resourceVersion and the sidecar stays.
    third = cluster.kubectl("apply", *validate, "-f", "-", input=app("api:v2", {"B": "2"}))
    assert third.returncode == 0
    assert get_json(cluster, "deploy", "api")["metadata"]["resourceVersion"] == rv
    assert list(containers(cluster)) == ["api", "sidecar"]


@pytest.mark.diverges_on_real("a strategic merge patch puts new merge-key list items first")
def test_P1_P2_python_dict_patch_is_strategic_and_list_patch_is_json_patch(cluster, api):
    cluster.kubectl("apply", "-f", "-", input=app("api:v1", {"A": "1"}))
    add_sidecar(api)
    api.apps.patch_namespaced_deployment("api", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "api", "image": "api:v3"}]}}}})
    got = containers(cluster)
    assert [(n, c["image"]) for n, c in got.items()] == [("api", "api:v3"), ("sidecar", "envoy:1.30")]
    assert got["api"]["env"] == [{"name": "A", "value": "1"}]
    api.apps.patch_namespaced_deployment("api", "default", [
        {"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "envoy:1.31"}])
    assert containers(cluster)["sidecar"]["image"] == "envoy:1.31"
    with pytest.raises(ApiException) as failed:   # a JSON patch that cannot apply is 422
        api.apps.patch_namespaced_deployment("api", "default", [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert failed.value.status == 422


@pytest.mark.diverges_on_real("a strategic merge patch puts new merge-key list items first")
def test_K12_set_image_uses_set_element_order(cluster):
    cluster.kubectl("apply", "-f", "-", input=app("api:v1", {"A": "1"}))
    cluster.kubectl("patch", "deploy", "api", "--type=strategic", "-p", json.dumps({"spec": {"template": {"spec": {
        "containers": [{"name": "sidecar", "image": "envoy:1.30"}]}}}}))
    cluster.kubectl("set", "image", "deploy/api", "sidecar=envoy:1.31")
    assert [(n, c["image"]) for n, c in containers(cluster).items()] == [("api", "api:v1"), ("sidecar", "envoy:1.31")]


def test_C4_kubectl_create_twice_is_already_exists(cluster):
    cluster.kubectl("create", "-f", "-", input=JOB)
    again = cluster.kubectl("create", "-f", "-", input=JOB, check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == 'Error from server (AlreadyExists): error when creating "STDIN": ' \
                                   'jobs.batch "migrate" already exists'


def test_C4_E3_python_create_job_twice_raises_409_already_exists(cluster, api):
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "migrate", "image": "app:v1"}]}}}}
    created = api.batch.create_namespaced_job("default", body)
    assert created.metadata.uid and created.metadata.generation == 1
    assert created.spec.backoff_limit == 6 and created.spec.completions == 1          # Job defaults
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": created.metadata.uid}   # the generated selector
    with pytest.raises(ApiException) as failed:
        api.batch.create_namespaced_job("default", body)
    e = failed.value
    assert e.status == 409 and e.reason == "Conflict"
    st = status_body(e)
    assert st["reason"] == "AlreadyExists" and st["message"] == 'jobs.batch "migrate" already exists'
    assert st["details"] == {"name": "migrate", "group": "batch", "kind": "jobs"}


def test_C3_generate_name(cluster, api):
    cm = api.core.create_namespaced_config_map("default", {"metadata": {"generateName": "cfg-"}, "data": {"a": "1"}})
    assert cm.metadata.name.startswith("cfg-") and len(cm.metadata.name) == 9
    assert set(cm.metadata.name[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_U1_kubectl_replace_with_stale_resource_version_conflicts(cluster, tmp_path):
    cluster.kubectl("create", "-f", "-", input=app("api:v1", {"A": "1"}))
    saved = tmp_path / "a.yaml"
    saved.write_text(cluster.kubectl("get", "deploy", "api", "-o", "yaml").stdout)
    cluster.kubectl("annotate", "deploy", "api", "x=1")
    stale = cluster.kubectl("replace", "-f", str(saved), check=False)
    assert stale.returncode == 1
    assert 'Error from server (Conflict): error when replacing "' in stale.stderr
    assert 'Operation cannot be fulfilled on deployments.apps "api": the object has been modified; please apply ' \
           'your changes to the latest version and try again' in stale.stderr


LEASE = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "shipit-release"},
         "spec": {"holderIdentity": "a", "leaseDurationSeconds": 30}}


def test_U1_U2_python_lease_cas(cluster, api):
    created = api.coordination.create_namespaced_lease("default", LEASE)
    body = {**LEASE, "spec": {**LEASE["spec"], "holderIdentity": "b"}}
    with pytest.raises(ApiException) as no_rv:
        api.coordination.replace_namespaced_lease("shipit-release", "default", body)
    assert no_rv.value.status == 422
    st = status_body(no_rv.value)
    assert st["reason"] == "Invalid"
    assert st["details"]["causes"][0]["field"] == "metadata.resourceVersion"
    assert "must be specified for an update" in st["message"]
    rv = created.metadata.resource_version
    ok = api.coordination.replace_namespaced_lease(
        "shipit-release", "default", {**body, "metadata": {"name": "shipit-release", "resourceVersion": rv}})
    assert ok.spec.holder_identity == "b" and int(ok.metadata.resource_version) > int(rv)
    with pytest.raises(ApiException) as stale:
        api.coordination.replace_namespaced_lease(
            "shipit-release", "default", {**body, "metadata": {"name": "shipit-release", "resourceVersion": rv}})
    assert stale.value.status == 409 and status_body(stale.value)["reason"] == "Conflict"


def test_H7_lease_micro_time_layout_is_enforced(cluster, api):
    """MicroTime must have six fractional digits; python 37 re-serialises dict timestamps without them."""
    bad = {**LEASE, "spec": {**LEASE["spec"], "renewTime": "2025-01-01T00:00:00Z"}}
    with pytest.raises(ApiException) as failed:
        api.coordination.create_namespaced_lease("default", bad)
    assert failed.value.status == 400 and "2006-01-02T15:04:05.000000Z07:00" in status_body(failed.value)["message"]
    good = LEASE_YAML.replace("RENEW", "2025-01-01T00:00:00.000000Z")
    cluster.kubectl("create", "-f", "-", input=good)
    assert get_json(cluster, "lease", "shipit-release")["spec"]["renewTime"] == "2025-01-01T00:00:00.000000Z"


LEASE_YAML = """apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: shipit-release}
spec: {holderIdentity: a, leaseDurationSeconds: 30, renewTime: "RENEW"}
"""


def test_Q3_kubectl_create_lease_twice_is_already_exists(cluster):
    good = LEASE_YAML.replace("RENEW", "2025-01-01T00:00:00.123456Z")
    cluster.kubectl("create", "-f", "-", input=good)
    again = cluster.kubectl("create", "-f", "-", input=good, check=False)
    assert again.returncode == 1 and "(AlreadyExists)" in again.stderr
    assert 'leases.coordination.k8s.io "shipit-release" already exists' in again.stderr


def test_C6_C7_job_template_immutable_and_selector_must_match(cluster):
    cluster.kubectl("apply", "-f", "-", input=JOB)
    changed = cluster.kubectl("apply", "-f", "-", input=JOB.replace("app:v1", "app:v2"), check=False)
    assert changed.returncode == 1
    assert 'The Job "migrate" is invalid: spec.template: Invalid value: ' in changed.stderr and \
        "field is immutable" in changed.stderr
    never = cluster.kubectl("create", "-f", "-", input=JOB.replace("migrate\n", "other\n").replace(
        "restartPolicy: Never", "restartPolicy: Always"), check=False)
    assert never.returncode == 1 and "spec.template.spec.restartPolicy" in never.stderr
    mismatch = APP.format(image="api:v1", env="        - {name: A, value: '1'}").replace(
        "selector: {matchLabels: {app: api}}", "selector: {matchLabels: {app: other}}")
    bad = cluster.kubectl("create", "-f", "-", input=mismatch, check=False)
    assert bad.returncode == 1 and 'The Deployment "api" is invalid' in bad.stderr and \
        "`selector` does not match template `labels`" in bad.stderr


def _raw(cluster, method: str, path: str, body: bytes, content_type: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request
    headers, context = cluster.urllib_auth() if hasattr(cluster, "urllib_auth") else ({}, None)
    req = urllib.request.Request(cluster.url + path, data=body, method=method,
                                 headers={**headers, "Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_P1_E2_unsupported_patch_type_and_bad_json(cluster, api):
    api.core.create_namespaced_config_map("default", {"metadata": {"name": "cfg"}})
    code, st = _raw(cluster, "PATCH", "/api/v1/namespaces/default/configmaps/cfg", b"{}", "text/plain")
    assert (code, st["reason"], st["kind"], st["code"]) == (415, "UnsupportedMediaType", "Status", 415)
    code, st = _raw(cluster, "PATCH", "/api/v1/namespaces/default/configmaps/cfg", b"{nope",
                    "application/merge-patch+json")
    assert (code, st["reason"]) == (400, "BadRequest")
    code, st = _raw(cluster, "PATCH", "/api/v1/namespaces/default/configmaps/missing", b"{}",
                    "application/merge-patch+json")
    assert (code, st["reason"], st["details"]["name"]) == (404, "NotFound", "missing")      # patching a missing object
    code, st = _raw(cluster, "PATCH", "/api/v1/namespaces/default/configmaps/cfg",
                    b'{"metadata":{"resourceVersion":"1"}}', "application/merge-patch+json")
    assert (code, st["reason"]) == (409, "Conflict")                                         # a stale resourceVersion
