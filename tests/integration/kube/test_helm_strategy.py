"""`code.strategy: helm` with the real helm CLI on the real control plane: upgrade without --wait, watched from
`helm get manifest`, `helm rollback` on a crashing image; a chart whose pre-upgrade hook runs db:migrate, or an
object Argo CD applies (live or in the chart), stops preflight. The chart is tests/fixtures/helm/shop.

The helm CLI comes from PATH, else from ~/.cache/shipit-tools (scripts/test builds it there from the Helm Go module).
kubesim cannot serve it: helm's client sends protobuf bodies and kubesim speaks JSON only."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shipit.adapters.code.helm import HelmStrategy
from shipit.core.config import KubernetesConfig
from shipit.core.config_code import CodeConfig, CodeStrategy, HelmConfig
from shipit.core.errors import BadInput
from shipit.kube.pods import PodState
from tests.integration.kube.conftest import APP_IMAGE, WORLD
from tests.support.kube_snapshots import make_config
from tests.integration.kube.test_manifests_strategy import AppRepo

CACHED = Path.home() / ".cache" / "shipit-tools"
HELM = shutil.which("helm") or (str(CACHED / "helm") if (CACHED / "helm").is_file() else None)
CHART_DIR = Path(__file__).parents[2] / "fixtures" / "helm" / "shop"

pytestmark = [
    pytest.mark.skipif(HELM is None, reason="no helm CLI on PATH or in ~/.cache/shipit-tools (scripts/test builds it "
                                            "when Go is present)"),
    pytest.mark.skipif(WORLD != "real", reason="helm's client sends protobuf, which kubesim does not serve; these "
                                               "tests need the real control plane (Go present)"),
]


@pytest.fixture(autouse=True)
def helm_on_path(monkeypatch):
    """The strategy runs `helm` from PATH, as a user's machine would."""
    monkeypatch.setenv("PATH", f"{Path(HELM).parent}{os.pathsep}{os.environ['PATH']}")


def chart_files(**changes: str) -> dict[str, str]:
    files = {f"chart/{p.relative_to(CHART_DIR)}": p.read_text() for p in sorted(CHART_DIR.rglob("*.yaml"))}
    return {**files, **{f"chart/{k}": v for k, v in changes.items()}}


@pytest.fixture
def chart_repo(tmp_path):
    app = AppRepo(tmp_path / "app")
    app.commit(chart_files(), "chart")
    return app


def strategy(kube, kubesim, app, sha, values=(("image.tag", "{short_sha}"),)):
    cfg = dataclasses.replace(make_config(ready_grace=5.0), repo=app.path,
                              kubernetes=KubernetesConfig(kubeconfig=str(kubesim.kubeconfig)),
                              code=CodeConfig(strategy=CodeStrategy.HELM,
                                              helm=HelmConfig(release="shop", chart="chart", values=values)))
    return HelmStrategy(kube, cfg, to_sha=sha)


def test_upgrade_is_watched_from_the_manifest_and_a_crash_is_rolled_back(kube, kubesim, chart_repo):
    first = chart_repo.repo.head.commit.hexsha
    s1 = strategy(kube, kubesim, chart_repo, first, values=(("image.tag", "v1"),))
    v1 = s1.apply(f"{APP_IMAGE}:v1")
    assert s1.watch(v1, timeout=60).succeeded
    s2 = strategy(kube, kubesim, chart_repo, first, values=(("image.tag", "v2-crash"),))
    v2 = s2.apply(f"{APP_IMAGE}:v2-crash")
    outcome = s2.watch(v2, timeout=60)
    assert not outcome.succeeded and outcome.failures[0].state == PodState.CRASH_LOOP.value
    assert s2.revert(v1, timeout=60).succeeded
    d = kube.get_json(kube.apps.read_namespaced_deployment, "web", "default")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == f"{APP_IMAGE}:v1"
    history = json.loads(subprocess.run([HELM, "history", "shop", "-o", "json", "--namespace", "default",
                                         "--kubeconfig", str(kubesim.kubeconfig)],
                                        capture_output=True, text=True, check=True).stdout)
    assert [h["revision"] for h in history] == [1, 2, 3] and history[-1]["description"] == "Rollback to 1"


def test_a_pre_upgrade_hook_running_db_migrate_stops_preflight(kube, kubesim, chart_repo):
    sha = chart_repo.commit({"chart/values.yaml": (CHART_DIR / "values.yaml").read_text().replace(
        "migrateHook: false", "migrateHook: true")}, "hook")
    with pytest.raises(BadInput, match="Job/migrate runs db:migrate as a pre-install/pre-upgrade hook"):
        strategy(kube, kubesim, chart_repo, sha).preflight(f"{APP_IMAGE}:v2")


def helm_releases(kubesim) -> list[dict]:
    out = subprocess.run([HELM, "list", "--all", "-o", "json", "--namespace", "default", "--kubeconfig",
                          str(kubesim.kubeconfig)], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


ARGO = 'argocd.argoproj.io/tracking-id: "shop:apps/Deployment:default/web"'


@pytest.mark.parametrize("where", ["live", "chart"])
def test_an_object_applied_by_argo_cd_stops_preflight_before_anything_changes(kube, kubesim, chart_repo, where):
    """Live: the cluster's Deployment carries Argo's mark; chart: the rendered Deployment carries it itself."""
    if where == "live":
        argo = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": "web", "annotations": {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:default/web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web",
                                                                                 "image": f"{APP_IMAGE}:argo"}]}}}}
        kube.send(kube.apps.create_namespaced_deployment, "default", argo)
        sha = chart_repo.repo.head.commit.hexsha
    else:
        web = (CHART_DIR / "templates" / "web.yaml").read_text()
        sha = chart_repo.commit({"chart/templates/web.yaml": web.replace(
            "metadata: {name: web}", f"metadata:\n  name: web\n  annotations: {{{ARGO}}}")}, "argo marks the chart")
    with pytest.raises(BadInput, match=r"Deployment web is applied by Argo CD .*code.strategy: helm") as refused:
        strategy(kube, kubesim, chart_repo, sha).preflight(f"{APP_IMAGE}:v2")
    assert refused.value.exit_code == 3
    assert helm_releases(kubesim) == []  # nothing installed or upgraded
    deployments, _ = kube.list_json(kube.apps.list_namespaced_deployment, "default")
    assert [(d["metadata"]["name"], d["spec"]["template"]["spec"]["containers"][0]["image"]) for d in deployments] == \
        ([("web", f"{APP_IMAGE}:argo")] if where == "live" else [])
