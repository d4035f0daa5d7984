"""`code.strategy: manifests | kustomize` against kubesim with the real kubectl and a real git repository: render at
the commit, image set, server-side apply, every kind watched, fail fast, revert with the previous objects. On the real
control plane: the apply is field manager `shipit`'s, and a field another manager owns is a conflict reported, not
forced."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import git
import pytest
import yaml

from shipit.adapters.code.kubectl import ApplyConflict, Kubectl
from shipit.adapters.code.manifests import ManifestsStrategy
from shipit.core.config import KubernetesConfig
from shipit.core.config_code import CodeConfig, CodeStrategy
from shipit.core.errors import BadInput
from shipit.kube.applied import Ref, unpack
from shipit.kube.pods import PodState
from shipit.kube.workloads import Verdict
from tests.integration.kube.conftest import APP_IMAGE, WORLD
from tests.support.kube_snapshots import make_config

# written against kubesim's object store and image behaviours; the release-level proof on both worlds is e2e
kubesim_only = pytest.mark.kubesim_only
# field ownership (managedFields, apply conflicts) is the real API server's: kubesim does not track it
real_only = pytest.mark.skipif(WORLD != "real", reason="server-side apply field ownership needs the real control plane "
                                                       "(Go present); kubesim does not track managedFields")

LABELS = {"app": "shop"}


def configmap(value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-settings"}, "data": {"FEATURE": value}}


def deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                         {"name": "web", "image": f"{APP_IMAGE}:built-by-ci",
                          "envFrom": [{"configMapRef": {"name": "shop-settings"}}]},
                         {"name": "nginx", "image": "nginx:1.27"}]}}}}


def statefulset() -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "worker"},
            "spec": {"replicas": 2, "serviceName": "worker", "selector": {"matchLabels": {"app": "worker"}},
                     "template": {"metadata": {"labels": {"app": "worker"}}, "spec": {"containers": [
                         {"name": "worker", "image": f"{APP_IMAGE}:built-by-ci"}]}}}}


def cronjob() -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "task", "image": f"{APP_IMAGE}:built-by-ci",
                                                              "command": ["bin/rails", "nightly"]}]}}}}}}


class AppRepo:
    def __init__(self, path: Path):
        self.path = path
        self.repo = git.Repo.init(path, initial_branch="main")
        self.repo.config_writer().set_value("user", "name", "t").set_value("user", "email", "t@example.com").release()

    def commit(self, files: dict[str, object], message: str) -> str:
        for name, content in files.items():
            f = self.path / name
            if content is None:
                f.unlink()
                self.repo.index.remove([name])
                continue
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(content if isinstance(content, str) else yaml.safe_dump_all(content))
            self.repo.index.add([name])
        return self.repo.index.commit(message).hexsha


@pytest.fixture
def app(tmp_path):
    return AppRepo(tmp_path / "app")


@pytest.fixture
def make(kube, kubesim, app, tmp_path):
    def strategy(sha: str, *, kind=CodeStrategy.MANIFESTS, path="deploy", prune=False, previous=(), **rollout):
        cfg = dataclasses.replace(make_config(ready_grace=rollout.get("ready_grace", 5.0)), repo=app.path,
                                  kubernetes=KubernetesConfig(kubeconfig=str(kubesim.kubeconfig)),
                                  code=CodeConfig(strategy=kind, path=path, prune=prune))
        kubectl = Kubectl(cfg.kubernetes, env={"KUBECACHEDIR": str(tmp_path / "kubecache")})
        return ManifestsStrategy(kube, cfg, to_sha=sha, previous=previous, kubectl=kubectl)
    return strategy


def live_images(kube, kind: str, name: str) -> dict[str, str]:
    read = {"Deployment": kube.apps.read_namespaced_deployment, "StatefulSet": kube.apps.read_namespaced_stateful_set,
            "CronJob": kube.batch.read_namespaced_cron_job}[kind]
    obj = kube.get_json(read, name, "default")
    spec = obj["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else obj["spec"]
    return {c["name"]: c["image"] for c in spec["template"]["spec"]["containers"]}


def settings(kube) -> dict:
    return kube.get_json(kube.core.read_namespaced_config_map, "shop-settings", "default")["data"]


@kubesim_only
def test_every_kind_gets_the_image_is_applied_server_side_and_watched_to_completion(kube, app, make):
    sha = app.commit({"deploy/app.yaml": [configmap("on"), deployment(), statefulset()],
                      "deploy/cron.yml": [cronjob()]}, "deploy")
    s = make(sha)
    applied = s.apply(f"{APP_IMAGE}:v2")
    assert [str(Ref.of(o)) for o in applied.objects] == ["ConfigMap/shop-settings", "Deployment/web",
                                                         "StatefulSet/worker", "CronJob/nightly"]
    outcome = s.watch(applied, timeout=60)
    assert outcome.succeeded, [f.render() for f in outcome.failures]
    assert {v.kind: v.verdict for v in outcome.verdicts} == {k: Verdict.COMPLETE for k in
                                                             ("ConfigMap", "Deployment", "StatefulSet", "CronJob")}
    assert live_images(kube, "Deployment", "web") == {"web": f"{APP_IMAGE}:v2", "nginx": "nginx:1.27"}
    assert live_images(kube, "StatefulSet", "worker") == {"worker": f"{APP_IMAGE}:v2"}
    assert live_images(kube, "CronJob", "nightly") == {"task": f"{APP_IMAGE}:v2"}
    assert settings(kube) == {"FEATURE": "on"}
    assert unpack(applied.packed()) == applied.objects


@kubesim_only
@pytest.mark.parametrize("tag, state", [("v2-crash", PodState.CRASH_LOOP), ("v2-missing", PodState.IMAGE_PULL)],
                         ids=["crash-loop", "never-ready"])  # never Ready: the set itself would wait forever
def test_a_failing_statefulset_fails_fast_and_the_revert_brings_back_its_pods_and_the_configmap(kube, app, make, tag,
                                                                                               state):
    first = app.commit({"deploy/app.yaml": [configmap("off"), statefulset()]}, "v1")
    s1 = make(first)
    v1 = s1.apply(f"{APP_IMAGE}:v1")
    assert s1.watch(v1, timeout=60).succeeded
    second = app.commit({"deploy/app.yaml": [configmap("on"), statefulset()]}, "v2 turns the feature on")
    s2 = make(second, previous=v1.objects)
    v2 = s2.apply(f"{APP_IMAGE}:{tag}")
    assert settings(kube) == {"FEATURE": "on"}
    outcome = s2.watch(v2, timeout=60)
    assert not outcome.succeeded
    f = outcome.failures[0]
    assert f.what.startswith("StatefulSet worker: pod worker-") and f.state == state.value
    assert f.events and (f.log_tail or state is PodState.IMAGE_PULL)
    assert outcome.duration < 30  # fail fast: the set would wait on this pod forever
    reverted = s2.revert(v1, timeout=60)
    assert reverted.succeeded, [x.render() for x in reverted.failures]
    assert settings(kube) == {"FEATURE": "off"}
    pods, _ = kube.list_json(kube.core.list_namespaced_pod, "default", label_selector="app=worker")
    assert sorted((p["metadata"]["name"], p["spec"]["containers"][0]["image"]) for p in pods
                  if not p["metadata"].get("deletionTimestamp")) == [("worker-0", f"{APP_IMAGE}:v1"),
                                                                     ("worker-1", f"{APP_IMAGE}:v1")]


@kubesim_only
def test_kustomize_renders_with_kubectl_and_the_image_is_set_on_the_rendered_objects(kube, app, make):
    sha = app.commit({
        "deploy/base/kustomization.yaml": "resources: [app.yaml]\n",
        "deploy/base/app.yaml": [deployment()],
        "deploy/production/kustomization.yaml": "resources: [../base]\nconfigMapGenerator:\n- name: shop-settings\n"
                                                "  literals: [FEATURE=on]\n  options: {disableNameSuffixHash: true}\n"},
        "kustomize")
    s = make(sha, kind=CodeStrategy.KUSTOMIZE, path="deploy/production")
    applied = s.apply(f"{APP_IMAGE}:v3")
    assert sorted(str(Ref.of(o)) for o in applied.objects) == ["ConfigMap/shop-settings", "Deployment/web"]
    assert s.watch(applied, timeout=60).succeeded
    assert live_images(kube, "Deployment", "web")["web"] == f"{APP_IMAGE}:v3" and settings(kube) == {"FEATURE": "on"}


@kubesim_only
@pytest.mark.parametrize("prune", [False, True], ids=["reported", "pruned"])
def test_an_object_dropped_from_the_render_is_reported_and_deleted_only_with_prune(kube, app, make, prune):
    first = app.commit({"deploy/app.yaml": [configmap("on"), deployment()]}, "v1")
    v1 = make(first).apply(f"{APP_IMAGE}:v1")
    second = app.commit({"deploy/app.yaml": [deployment()]}, "settings moved elsewhere")
    v2 = make(second, prune=prune, previous=v1.objects).apply(f"{APP_IMAGE}:v2")
    assert v2.dropped == (Ref("ConfigMap", "shop-settings"),) and v2.pruned is prune
    assert "ConfigMap/shop-settings" in v2.describe_dropped()
    cms, _ = kube.list_json(kube.core.list_namespaced_config_map, "default")
    present = "shop-settings" in {c["metadata"]["name"] for c in cms if not c["metadata"].get("deletionTimestamp")}
    assert present is not prune


@kubesim_only
def test_a_live_object_applied_by_argo_cd_stops_the_apply_before_anything_changes(kube, app, make):
    managed = deployment()
    managed["metadata"]["annotations"] = {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:default/web"}
    kube.send(kube.apps.create_namespaced_deployment, "default", managed)
    sha = app.commit({"deploy/app.yaml": [configmap("on"), deployment()]}, "v1")
    with pytest.raises(BadInput, match=r"Deployment web is applied by Argo CD .* code.strategy: manifests"):
        make(sha).apply(f"{APP_IMAGE}:v2")
    cms, _ = kube.list_json(kube.core.list_namespaced_config_map, "default")
    assert "shop-settings" not in {c["metadata"]["name"] for c in cms}


@kubesim_only
def test_manifests_that_never_run_the_app_image_are_bad_input(app, make):
    sha = app.commit({"deploy/app.yaml": [configmap("on")]}, "only settings")
    with pytest.raises(BadInput, match="no rendered container runs image.repository registry.example.com/shop"):
        make(sha).apply(f"{APP_IMAGE}:v2")


@kubesim_only
def test_preflight_refuses_before_anything_changes_and_passes_a_good_render(kube, app, make):
    sha = app.commit({"deploy/app.yaml": [configmap("on"), deployment()]}, "v1")
    make(sha).preflight(f"{APP_IMAGE}:v2")
    managed = deployment()
    managed["metadata"]["annotations"] = {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:default/web"}
    kube.send(kube.apps.create_namespaced_deployment, "default", managed)
    with pytest.raises(BadInput, match="Deployment web is applied by Argo CD"):
        make(sha).preflight(f"{APP_IMAGE}:v2")
    cms, _ = kube.list_json(kube.core.list_namespaced_config_map, "default")
    assert "shop-settings" not in {c["metadata"]["name"] for c in cms}
    with pytest.raises(BadInput, match="code.path: nowhere is not a directory"):
        make(sha, path="nowhere").preflight(f"{APP_IMAGE}:v2")


def image_owners(kube, name: str) -> dict[str, str]:
    """Field manager -> operation, for the managers that own the web container's image of the live Deployment."""
    d = kube.get_json(kube.apps.read_namespaced_deployment, name, "default")
    out = {}
    for m in d["metadata"].get("managedFields") or []:
        containers = (((m.get("fieldsV1") or {}).get("f:spec") or {}).get("f:template") or {}).get("f:spec") or {}
        if "f:image" in (containers.get("f:containers") or {}).get('k:{"name":"web"}', {}):
            out[m["manager"]] = m["operation"]
    return out


@real_only
def test_an_apply_is_owned_by_field_manager_shipit(kube, app, make):
    sha = app.commit({"deploy/app.yaml": [configmap("on"), deployment()]}, "v1")
    make(sha).apply(f"{APP_IMAGE}:v2")
    assert image_owners(kube, "web") == {"shipit": "Apply"}
    cm = kube.get_json(kube.core.read_namespaced_config_map, "shop-settings", "default")
    assert [(m["manager"], m["operation"]) for m in cm["metadata"]["managedFields"]] == [("shipit", "Apply")]


@real_only
def test_a_field_another_manager_owns_is_a_conflict_reported_and_never_forced(kube, app, make):
    other = deployment()
    other["spec"]["template"]["spec"]["containers"][0]["image"] = f"{APP_IMAGE}:pinned-by-ci"
    theirs = make(app.commit({"deploy/app.yaml": [deployment()]}, "seed")).kubectl
    proc = theirs.run("apply", "--server-side", "--field-manager=ci-pipeline", "-f", "-", input=json.dumps(other))
    assert proc.returncode == 0, proc.stderr
    sha = app.commit({"deploy/app.yaml": [configmap("on"), deployment()]}, "v2")
    with pytest.raises(ApplyConflict) as conflict:
        make(sha).apply(f"{APP_IMAGE}:v2")
    message = str(conflict.value)
    assert 'conflict with "ci-pipeline"' in message
    assert '.spec.template.spec.containers[name="web"].image' in message
    assert "shipit does not force them" in message and "--force-conflicts" in message
    assert live_images(kube, "Deployment", "web")["web"] == f"{APP_IMAGE}:pinned-by-ci"
    assert image_owners(kube, "web") == {"ci-pipeline": "Apply"}
