"""Whole releases through each code strategy (`code.strategy`): manifests and kustomize applied server-side with every
kind watched, a crash-looping StatefulSet reverted together with the ConfigMap shipped with it, a CronJob whose
template gets the new image, an Argo CD-managed Deployment refused in image mode before anything changes, and GitOps
releases applied by an agent, one of them reverted by a pushed revert commit.
"""

from __future__ import annotations

import json
import subprocess

import git
import pytest
import yaml

from tests.kubesim import resources as R
from tests.support.gitops_agent import GitOpsAgent
from tests.support.sandbox import NAMESPACE, REPOSITORY

CI_IMAGE = f"{REPOSITORY}:ci"  # what the manifests say; shipit sets the release's image


def _phase(out: dict, name: str) -> dict:
    return next(p for p in out["phases"] if p["phase"] == name)


def app_objects(sb, feature: str) -> list[dict]:
    """The sandbox's Deployments as manifests, plus a ConfigMap, a StatefulSet and a CronJob running the app."""
    env = [{"name": "RAILS_ENV", "value": "development"},
           {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "DATABASE_URL"}}}]

    def container(name: str) -> dict:
        return {"name": name, "image": CI_IMAGE, "workingDir": str(sb.repo), "env": env,
                "envFrom": [{"configMapRef": {"name": "shop-settings"}}]}

    def deployment(name: str, replicas: int) -> dict:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                         "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                         "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container(name)]}}}}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-settings"}, "data": {"FEATURE": feature}},
        deployment("web", 2), deployment("worker", 1),
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "mailer"},
         "spec": {"replicas": 2, "serviceName": "mailer", "selector": {"matchLabels": {"app": "mailer"}},
                  "template": {"metadata": {"labels": {"app": "mailer"}}, "spec": {"containers": [container("mailer")]}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
         "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
             "restartPolicy": "OnFailure", "containers": [container("nightly")]}}}}}},
    ]


def grant_rendered_kinds(sb) -> None:
    """What config/rbac.yaml leaves to the team for server-side apply: get/create/patch on every kind the directory
    renders, granted to the shipit ServiceAccount (kubesim has no RBAC)."""
    if not getattr(sb.cluster, "shipit_identity", False):
        return
    rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"]},
             {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "create", "patch"]},
             {"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": ["get", "create", "patch"]}]
    meta = {"name": "shipit-rendered", "namespace": NAMESPACE}
    sb.cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "shipit-rendered"},
         "subjects": [{"kind": "ServiceAccount", "name": "shipit", "namespace": NAMESPACE}]}]}))


def agent_kubeconfig(sb):
    """The GitOps agent's own identity: cluster-admin on the real control plane, not shipit's ServiceAccount."""
    return getattr(sb.cluster, "admin_kubeconfig", sb.cluster.kubeconfig)


def commit_manifests(sb, feature: str, *, kustomize: bool = False) -> str:
    deploy = sb.repo / "deploy"
    deploy.mkdir(exist_ok=True)
    (deploy / "app.yaml").write_text(yaml.safe_dump_all(app_objects(sb, feature)))
    if kustomize:
        (deploy / "kustomization.yaml").write_text("resources: [app.yaml]\n")
    return sb.commit(f"deploy: FEATURE={feature}")


def images(sb, res, path=("spec", "template")) -> dict[str, str]:
    out = {}
    for obj in sb.cluster.store.list(res, NAMESPACE)[0]:
        node = obj
        for key in path:
            node = node[key]
        out[obj["metadata"]["name"]] = node["spec"]["containers"][0]["image"]
    return out


def feature(sb) -> str:
    return sb.cluster.store.get(R.CONFIGMAPS, NAMESPACE, "shop-settings")["data"]["FEATURE"]


def release(sb, *args: str):
    r = sb.shipit("release", "--yes", "--output", "json", *args)
    sb.assert_no_secret(r)
    return r


@pytest.mark.parametrize("kustomize", [False, True], ids=["manifests", "kustomize"])
def test_a_release_applies_the_rendered_directory_and_every_kind_carries_the_new_image(sandbox, kustomize):
    sb = sandbox
    sb.bootstrap()
    sb.write_config(code={"strategy": "kustomize" if kustomize else "manifests", "path": "deploy"})
    grant_rendered_kinds(sb)
    target = commit_manifests(sb, "on", kustomize=kustomize)
    r = release(sb)
    assert r.code == 0, r.text
    want = sb.image(target)
    assert images(sb, R.DEPLOYMENTS) == {"web": want, "worker": want}
    assert images(sb, R.STATEFULSETS) == {"mailer": want}
    assert images(sb, R.CRONJOBS, ("spec", "jobTemplate", "spec", "template")) == {"nightly": want}  # the next run
    assert feature(sb) == "on"
    assert _phase(r.json(), "code")["status"] == "succeeded"
    assert "StatefulSet/mailer: rolled out" in r.stderr and "KindVerdict" not in r.stderr, r.stderr  # progress lines


def test_a_crash_looping_statefulset_is_reverted_with_the_configmap_shipped_with_it(sandbox):
    sb = sandbox
    sb.bootstrap()
    sb.write_config(code={"strategy": "manifests", "path": "deploy"})
    grant_rendered_kinds(sb)
    base = commit_manifests(sb, "off")
    assert release(sb).code == 0
    target = commit_manifests(sb, "on")
    sb.crash_image(target)
    r = release(sb)
    assert r.code == 1, r.text
    out = r.json()
    assert out["status"] == "reverted" and _phase(out, "revert")["status"] == "succeeded"
    assert "CrashLoopBackOff" in r.text and "ActiveRecord::ConnectionNotEstablished" in r.text
    assert images(sb, R.STATEFULSETS) == {"mailer": sb.image(base)}
    assert feature(sb) == "off"  # the ConfigMap went back with the code
    pods = [p for p in sb.cluster.store.list(R.PODS, NAMESPACE)[0] if p["metadata"]["name"].startswith("mailer-")
            and not p["metadata"].get("deletionTimestamp")]
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {sb.image(base)}


def test_an_argo_managed_deployment_is_refused_in_image_mode_before_anything_changes(sandbox):
    sb = sandbox
    sb.bootstrap()
    before = sb.deployment_images()
    jobs = sb.job_names()
    sb.cluster.kubectl("annotate", "deployment", "web", "argocd.argoproj.io/tracking-id=shop:apps/Deployment:default/web")
    sb.add_migration("20240201000001", "add_nickname_to_users", "def change\n  add_column :users, :nickname, :string\nend")
    sb.change_code()
    r = release(sb)
    assert r.code == 3, r.text
    assert r.json()["exit_code"] == 3  # one JSON object, as for any bad input
    assert "Deployment web is applied by Argo CD" in r.text and "code.strategy: gitops" in r.text
    assert sb.deployment_images() == before and sb.job_names() == jobs
    assert "20240201000001" not in sb.schema_versions()


@pytest.fixture
def gitops_origin(sandbox, tmp_path):
    """A bare GitOps repository whose kustomization names the image by tag, seeded with the sandbox's app."""
    sb = sandbox
    bare = tmp_path / "deploy.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    seed = git.Repo.clone_from(str(bare), tmp_path / "deploy-seed")
    app = tmp_path / "deploy-seed" / "apps" / "shop"
    app.mkdir(parents=True)
    (app / "app.yaml").write_text(yaml.safe_dump_all(app_objects(sb, "on")))
    (app / "kustomization.yaml").write_text(f"resources: [app.yaml]\nimages:\n  - name: {REPOSITORY}\n"
                                            f"    newTag: {sb.initial_sha}\n")
    seed.index.add(["apps/shop/app.yaml", "apps/shop/kustomization.yaml"])
    actor = git.Actor("platform", "platform@example.com")
    seed.index.commit("shop", author=actor, committer=actor)
    seed.remotes.origin.push("HEAD:refs/heads/main")
    return bare


def test_a_gitops_release_is_committed_pushed_and_applied_by_the_agent(sandbox, gitops_origin):
    sb = sandbox
    with GitOpsAgent(gitops_origin, "apps/shop", agent_kubeconfig(sb)) as agent:
        sb.write_config(code={"strategy": "gitops", "gitops": {
            "repo": str(gitops_origin), "path": "apps/shop/kustomization.yaml", "kind": "kustomize-images"}})
        target = sb.bootstrap()
        head = git.Repo(gitops_origin).commit("main")
        assert head.message.startswith(f"shipit: shop {target}") and head.hexsha in agent.applied
        assert sb.deployment_images() == {"web": sb.image(target), "worker": sb.image(target)}
        assert images(sb, R.CRONJOBS, ("spec", "jobTemplate", "spec", "template")) == {"nightly": sb.image(target)}
    assert not agent.errors, agent.errors


def test_a_gitops_release_whose_image_crashes_is_reverted_by_a_pushed_revert_commit(sandbox, gitops_origin):
    sb = sandbox
    with GitOpsAgent(gitops_origin, "apps/shop", agent_kubeconfig(sb)) as agent:
        sb.write_config(code={"strategy": "gitops", "gitops": {
            "repo": str(gitops_origin), "path": "apps/shop/kustomization.yaml", "kind": "kustomize-images"}})
        base = sb.bootstrap()
        target = sb.change_code()
        sb.crash_image(target)
        r = release(sb)
        assert r.code == 1, r.text
        assert r.json()["status"] == "reverted"
        head = git.Repo(gitops_origin).commit("main")
        assert head.message.startswith(f'Revert "shipit: shop {target}') and head.hexsha in agent.applied
        assert sb.deployment_images() == {"web": sb.image(base), "worker": sb.image(base)}
    assert not agent.errors, agent.errors
