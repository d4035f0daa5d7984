"""`code.strategy: helm` against kubesim with the real helm CLI: upgrade without --wait, watched from
`helm get manifest`, rollback on a crashing image; a chart whose pre-upgrade hook runs db:migrate stops preflight.

The helm CLI is not installed on this machine (and is not built here); these tests skip, saying so, until it is."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from shipit.adapters.code.helm import HelmStrategy
from shipit.core.config import KubernetesConfig
from shipit.core.config_code import CodeConfig, CodeStrategy, HelmConfig
from shipit.core.errors import BadInput
from shipit.kube.pods import PodState
from tests.integration.kube.conftest import APP_IMAGE
from tests.support.kube_snapshots import make_config
from tests.integration.kube.test_manifests_strategy import AppRepo

pytestmark = pytest.mark.skipif(shutil.which("helm") is None, reason="the helm CLI is not installed (not on PATH)")

CHART = "apiVersion: v2\nname: shop\nversion: 0.1.0\n"
VALUES = f"image:\n  repository: {APP_IMAGE}\n  tag: v1\nmigrateHook: false\n"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"}]
"""
HOOK = """\
{{- if .Values.migrateHook }}
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {"helm.sh/hook": "pre-install,pre-upgrade"}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}", command: [bin/rails, db:migrate]}]
{{- end }}
"""


@pytest.fixture
def chart_repo(tmp_path):
    app = AppRepo(tmp_path / "app")
    app.commit({"chart/Chart.yaml": CHART, "chart/values.yaml": VALUES, "chart/templates/web.yaml": DEPLOYMENT,
                "chart/templates/migrate.yaml": HOOK}, "chart")
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


def test_a_pre_upgrade_hook_running_db_migrate_stops_preflight(kube, kubesim, chart_repo):
    sha = chart_repo.commit({"chart/values.yaml": VALUES.replace("migrateHook: false", "migrateHook: true")}, "hook")
    with pytest.raises(BadInput, match="Job/migrate runs db:migrate as a pre-install/pre-upgrade hook"):
        strategy(kube, kubesim, chart_repo, sha).preflight(f"{APP_IMAGE}:v2")
