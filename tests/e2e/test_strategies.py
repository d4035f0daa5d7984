"""Whole releases through each code strategy (`code.strategy`): manifests and kustomize applied server-side with every
kind watched, a crash-looping StatefulSet reverted together with the ConfigMap shipped with it, a CronJob whose
template gets the new image, an Argo CD-managed Deployment refused in image mode before anything changes, and GitOps
releases applied by an agent: the migration and the gates end before the GitOps commit is pushed, and a crashing
image is reverted by a pushed revert commit. Helm releases (on the real control plane: helm's client sends protobuf,
which kubesim does not serve) upgrade the chart after the migration, and a crashing image is reverted by
`helm rollback`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import git
import pytest
import yaml

from tests.cluster.build import go_binary
from tests.kubesim import resources as R
from tests.support.gitops_agent import GitOpsAgent
from tests.support.sandbox import DEPLOYMENTS, NAMESPACE, REPOSITORY, open_sandbox

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


def agent_kubeconfig(sb) -> Path:
    """The GitOps agent applies with its own identity, as Argo CD does: the cluster admin on the real control plane
    (where shipit runs as its ServiceAccount, which cannot create what the agent applies)."""
    return getattr(sb.cluster, "admin_kubeconfig", sb.cluster.kubeconfig)


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


class HeadWatch:
    """Polls a bare repository's branch every 10 ms: the last time the old head was seen, the first time a new one."""

    def __init__(self, bare: Path, branch: str = "main"):
        self.ref = bare / "refs" / "heads" / branch
        self.first = self._head()
        self.last_old = self.first_new = 0.0
        self.new = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _head(self) -> str:
        return self.ref.read_text().strip()

    def _run(self) -> None:
        while not self._stop.is_set() and not self.new:
            now, head = time.time(), self._head()
            if head == self.first:
                self.last_old = now
            else:
                self.first_new, self.new = now, head
            self._stop.wait(0.01)

    def __enter__(self) -> "HeadWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_a_gitops_release_migrates_and_passes_its_gates_before_the_commit_is_pushed(sandbox, gitops_origin):
    sb = sandbox
    with GitOpsAgent(gitops_origin, "apps/shop", agent_kubeconfig(sb)) as agent:
        sb.write_config(code={"strategy": "gitops", "gitops": {
            "repo": str(gitops_origin), "path": "apps/shop/kustomization.yaml", "kind": "kustomize-images"}})
        sb.bootstrap()
        sb.add_slow_migration("20240201000001", 1)
        target = sb.change_code()
        with HeadWatch(gitops_origin) as pushed:
            r = release(sb)
        assert r.code == 0, r.text
        out = r.json()
        migrate, gates, code = _phase(out, "migrate"), _phase(out, "gates"), _phase(out, "code")
        assert migrate["status"] == gates["status"] == code["status"] == "succeeded"
        assert "20240201000001" in sb.schema_versions() and gates["gates"]
        head = git.Repo(gitops_origin).commit("main")
        assert pushed.new == head.hexsha and head.message.startswith(f"shipit: shop {target}")
        # the branch still had the old head after the migration and the gates had ended: the push came later
        assert migrate["ended"] < gates["ended"] < pushed.last_old < pushed.first_new
        assert gates["ended"] <= code["started"] and head.committed_date >= int(gates["ended"])
        assert sb.deployment_images() == {"web": sb.image(target), "worker": sb.image(target)}
    assert not agent.errors, agent.errors


HELM_CACHE = Path.home() / ".cache" / "shipit-tools" / "helm"
HELM = shutil.which("helm") or (str(HELM_CACHE) if HELM_CACHE.is_file() else None)

# the sandbox's Deployments as a chart: the same templates, the image tag a value
CHART_DEPLOYMENT = """\
{{- range $name, $replicas := .Values.deployments }}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: "{{ $name }}", labels: {app: "{{ $name }}"}}
spec:
  replicas: {{ $replicas }}
  selector: {matchLabels: {app: "{{ $name }}"}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: "{{ $name }}"}}
    spec:
      containers:
        - name: "{{ $name }}"
          image: "{{ $.Values.image.repository }}:{{ $.Values.image.tag }}"
          workingDir: "{{ $.Values.workingDir }}"
          env:
            - {name: RAILS_ENV, value: development}
            - {name: DATABASE_URL, valueFrom: {secretKeyRef: {name: shop-db, key: DATABASE_URL}}}
{{- end }}
"""

# what helm needs beyond config/rbac.yaml (README: "add those rules yourself"): its release Secrets, and creating and
# patching what the chart renders
HELM_ROLE = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "shipit-helm"},
     "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "create", "update", "delete"]},
               {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "create", "update",
                                                                               "patch"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "shipit-helm"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "shipit-helm"},
     "subjects": [{"kind": "ServiceAccount", "name": "shipit", "namespace": NAMESPACE}]},
]


@pytest.fixture
def helm_sandbox(request, tmp_path, pair_db, monkeypatch):
    """A sandbox on the real control plane, shipit as its ServiceAccount with helm's extra rules, the app's
    Deployments adopted by a Helm release `shop` of the chart committed at chart/ of the app repository."""
    if HELM is None:
        pytest.skip("no helm CLI on PATH or in ~/.cache/shipit-tools (scripts/test builds it when Go is present)")
    if go_binary() is None:
        pytest.skip("helm's client sends protobuf, which kubesim does not serve: a helm release needs the real "
                    "control plane (Go present)")
    from tests.cluster.world import RealWorld
    monkeypatch.setenv("PATH", f"{Path(HELM).parent}{os.pathsep}{os.environ['PATH']}")  # shipit runs helm from PATH
    world = RealWorld(request.getfixturevalue("real_cluster"), tmp_path / "admin.kubeconfig", exec_mode=True,
                      shipit_identity=True)
    try:
        with open_sandbox(tmp_path / "sandbox", db_url=pair_db.primary_url, cluster=world) as sb:
            sb.cluster.kubectl("apply", "-f", "-", input="\n".join(json.dumps(o) for o in HELM_ROLE))
            for name in DEPLOYMENTS:  # Helm adopts live objects that carry its release's marks
                sb.cluster.kubectl("label", "deployment", name, "app.kubernetes.io/managed-by=Helm")
                sb.cluster.kubectl("annotate", "deployment", name, "meta.helm.sh/release-name=shop",
                                   f"meta.helm.sh/release-namespace={NAMESPACE}")
            chart = sb.repo / "chart"
            (chart / "templates").mkdir(parents=True)
            (chart / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 0.1.0\n")
            (chart / "values.yaml").write_text(yaml.safe_dump({
                "image": {"repository": REPOSITORY, "tag": sb.initial_sha}, "workingDir": str(sb.repo),
                "deployments": DEPLOYMENTS}))
            (chart / "templates" / "app.yaml").write_text(CHART_DEPLOYMENT)
            sb.commit("chart")
            sb.write_config(code={"strategy": "helm", "helm": {"release": "shop", "chart": "chart",
                                                               "values": {"image.tag": "{sha}"}}})
            yield sb
    finally:
        world.close()


def helm_history(sb, *, updated: bool = False) -> list[dict]:
    """Release `shop`'s revisions; with `updated`, each one's write time as epoch seconds."""
    out = subprocess.run([HELM, "history", "shop", "-o", "json", "--namespace", NAMESPACE, "--kubeconfig",
                          str(sb.cluster.admin_kubeconfig)], capture_output=True, text=True, check=True).stdout
    keys = ("revision", "status", "description") + (("updated",) if updated else ())
    rows = [{k: h[k] for k in keys} for h in json.loads(out)]
    for row in rows if updated else ():
        day, clock, frac, zone = re.fullmatch(r"(\S+)T([\d:]+)(\.\d+)?(Z|[+-][\d:]+)", row["updated"]).groups()
        stamp = datetime.fromisoformat(f"{day}T{clock}{(frac or '')[:7]}{'+00:00' if zone == 'Z' else zone}")
        row["updated"] = stamp.timestamp()
    return rows


def test_a_helm_release_migrates_then_upgrades_the_chart_and_watches_what_it_renders(helm_sandbox):
    sb = helm_sandbox
    sb.bootstrap()  # helm install: adopts the Deployments, after the create_users migration
    sb.add_nickname_migration("20240201000001")
    target = sb.change_code()
    r = release(sb)
    assert r.code == 0, r.text
    out = r.json()
    assert [(p["phase"], p["status"]) for p in out["phases"] if p["phase"] in ("migrate", "gates", "code")] == \
        [("migrate", "succeeded"), ("gates", "succeeded"), ("code", "succeeded")]
    assert "20240201000001" in sb.schema_versions()
    assert sb.deployment_images() == {"web": sb.image(target), "worker": sb.image(target)}
    assert sb.serving_images() == {"web": {sb.image(target)}, "worker": {sb.image(target)}}
    history = helm_history(sb, updated=True)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]
    assert _phase(out, "migrate")["ended"] < _phase(out, "gates")["ended"] < history[1]["updated"]  # helm came after


def test_a_helm_release_whose_image_crashes_is_reverted_by_helm_rollback(helm_sandbox):
    sb = helm_sandbox
    base = sb.bootstrap()
    target = sb.change_code()
    sb.crash_image(target)
    r = release(sb)
    assert r.code == 1, r.text
    out = r.json()
    assert out["status"] == "reverted" and _phase(out, "revert")["status"] == "succeeded"
    assert "CrashLoopBackOff" in r.text and "ActiveRecord::ConnectionNotEstablished" in r.text
    assert sb.deployment_images() == {"web": sb.image(base), "worker": sb.image(base)}
    assert sb.serving_images() == {"web": {sb.image(base)}, "worker": {sb.image(base)}}
    assert helm_history(sb) == [
        {"revision": 1, "status": "superseded", "description": "Install complete"},
        {"revision": 2, "status": "superseded", "description": "Upgrade complete"},
        {"revision": 3, "status": "deployed", "description": "Rollback to 1"}]
