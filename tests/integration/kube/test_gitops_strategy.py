"""`code.strategy: gitops` against kubesim: shipit commits and pushes the tag to a real bare repository, a GitOps
agent (tests/support) applies it, shipit waits for the image and watches; a crashing image is reverted by a pushed
revert commit that the agent applies too."""

from __future__ import annotations

import dataclasses

import git
import pytest
import yaml

from shipit.adapters.code.gitops import GitOpsStrategy
from shipit.adapters.code.kubectl import Kubectl
from shipit.core.config import KubernetesConfig
from shipit.core.config_code import CodeConfig, CodeStrategy, GitOpsConfig, GitOpsKind
from shipit.core.errors import BadInput
from shipit.kube.pods import PodState
from tests.integration.kube.conftest import APP_IMAGE
from tests.support.kube_snapshots import make_config
from tests.support.gitops_agent import TRACKING, GitOpsAgent
from tests.support.waiting import wait_for

# written against kubesim's object store and image behaviours; the release-level proof on both worlds is e2e
pytestmark = pytest.mark.kubesim_only

PATH = "apps/shop/kustomization.yaml"
KUSTOMIZATION = f"""\
# shop, production: applied by Argo CD
resources: [app.yaml]
images:
  - name: {APP_IMAGE}
    newTag: v1   # written by shipit
"""
APP = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": APP_IMAGE}]}}}},
       {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "task", "image": APP_IMAGE}]}}}}}}]


@pytest.fixture
def origin(tmp_path):
    bare = tmp_path / "deploy.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    seed = git.Repo.clone_from(str(bare), tmp_path / "seed")
    (tmp_path / "seed" / "apps" / "shop").mkdir(parents=True)
    (tmp_path / "seed" / PATH).write_text(KUSTOMIZATION)
    (tmp_path / "seed" / "apps" / "shop" / "app.yaml").write_text(yaml.safe_dump_all(APP))
    seed.index.add([PATH, "apps/shop/app.yaml"])
    actor = git.Actor("platform", "platform@example.com")
    seed.index.commit("shop", author=actor, committer=actor)
    seed.remotes.origin.push("HEAD:refs/heads/main")
    return bare


@pytest.fixture
def agent(origin, kubesim):
    with GitOpsAgent(origin, "apps/shop", kubesim.kubeconfig) as a:
        yield a
        assert not a.errors, a.errors


@pytest.fixture
def strategy(kube, kubesim, origin, tmp_path):
    cfg = dataclasses.replace(
        make_config(ready_grace=5.0), kubernetes=KubernetesConfig(kubeconfig=str(kubesim.kubeconfig)),
        code=CodeConfig(strategy=CodeStrategy.GITOPS, gitops=GitOpsConfig(
            repo=str(origin), path=PATH, kind=GitOpsKind.KUSTOMIZE_IMAGES)))
    s = GitOpsStrategy(kube, cfg, release_id="r0002",
                       kubectl=Kubectl(cfg.kubernetes, env={"KUBECACHEDIR": str(tmp_path / "kubecache")}))
    yield s
    s.close()


def web(kube) -> dict:
    return kube.get_json(kube.apps.read_namespaced_deployment, "web", "default")


def image(obj: dict) -> str:
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]


def deployed(kube, tag: str) -> bool:
    try:
        d = web(kube)
    except Exception:
        return False
    return image(d) == f"{APP_IMAGE}:{tag}" and (d.get("status") or {}).get("availableReplicas") == 2


def test_the_tag_is_committed_pushed_applied_by_the_agent_and_watched(kube, origin, agent, strategy):
    wait_for(lambda: deployed(kube, "v1"), timeout=60, what="the agent's first sync")
    applied = strategy.apply(f"{APP_IMAGE}:v2")
    head = git.Repo(origin).commit("main")
    assert applied.revision == head.hexsha and head.message == "shipit: shop v2 (release r0002)"
    text = head.tree[PATH].data_stream.read().decode()
    assert text == KUSTOMIZATION.replace("newTag: v1", "newTag: v2")  # one value changed, comments kept
    outcome = strategy.watch(applied, timeout=60)
    assert outcome.succeeded, [f.render() for f in outcome.failures]
    assert image(web(kube)) == f"{APP_IMAGE}:v2" and TRACKING in web(kube)["metadata"]["annotations"]
    cj = kube.get_json(kube.batch.read_namespaced_cron_job, "nightly", "default")
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == f"{APP_IMAGE}:v2"
    assert head.hexsha in agent.applied


def test_a_crashing_image_fails_fast_and_is_reverted_by_a_pushed_revert_commit(kube, origin, agent, strategy):
    wait_for(lambda: deployed(kube, "v1"), timeout=60, what="the agent's first sync")
    applied = strategy.apply(f"{APP_IMAGE}:v2-crash")
    outcome = strategy.watch(applied, timeout=60)
    assert not outcome.succeeded
    assert outcome.failures[0].what.startswith("Deployment web: pod web-")
    assert outcome.failures[0].state == PodState.CRASH_LOOP.value
    reverted = strategy.revert(applied, timeout=60)
    assert reverted.succeeded, [f.render() for f in reverted.failures]
    head = git.Repo(origin).commit("main")
    assert head.message.startswith('Revert "shipit: shop v2-crash') and head.parents[0].hexsha == applied.revision
    assert head.tree[PATH].data_stream.read().decode() == KUSTOMIZATION
    assert image(web(kube)) == f"{APP_IMAGE}:v1" and head.hexsha in agent.applied


def test_without_the_agent_the_watch_waits_for_the_image_and_says_so(kube, kubesim, origin, strategy):
    with GitOpsAgent(origin, "apps/shop", kubesim.kubeconfig) as a:
        wait_for(lambda: deployed(kube, "v1"), timeout=60, what="the agent's first sync")
    assert not a.errors
    applied = strategy.apply(f"{APP_IMAGE}:v2")
    outcome = strategy.watch(applied, timeout=2)
    assert not outcome.succeeded
    assert any(f.what == "Deployment web not rolled out within 2s" and
               f.why == f"container web runs {APP_IMAGE}:v1, waiting for {APP_IMAGE}:v2" for f in outcome.failures)


VALUES = f"""\
image:
  repository: {APP_IMAGE}
  tag: v1   # written by shipit
"""
CHART_APP = APP[0] | {"spec": APP[0]["spec"] | {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {
    "containers": [{"name": "web", "image": "{{ .Values.image.repository }}:{{ .Values.image.tag }}"}]}}}}


def test_a_values_key_release_waits_for_the_configured_deployments_to_run_the_tag(kube, kubesim, tmp_path):
    bare = tmp_path / "chart.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    seed = git.Repo.clone_from(str(bare), tmp_path / "chart-seed")
    (tmp_path / "chart-seed" / "shop").mkdir()
    (tmp_path / "chart-seed" / "shop" / "values.yaml").write_text(VALUES)
    (tmp_path / "chart-seed" / "shop" / "web.yaml").write_text(yaml.safe_dump(CHART_APP))
    seed.index.add(["shop/values.yaml", "shop/web.yaml"])
    actor = git.Actor("platform", "platform@example.com")
    seed.index.commit("chart", author=actor, committer=actor)
    seed.remotes.origin.push("HEAD:refs/heads/main")
    cfg = dataclasses.replace(
        make_config(ready_grace=5.0), kubernetes=KubernetesConfig(kubeconfig=str(kubesim.kubeconfig)),
        code=CodeConfig(strategy=CodeStrategy.GITOPS, gitops=GitOpsConfig(
            repo=str(bare), path="shop/values.yaml", kind=GitOpsKind.VALUES_KEY, key="image.tag")))
    s = GitOpsStrategy(kube, cfg, release_id="r0003",
                       kubectl=Kubectl(cfg.kubernetes, env={"KUBECACHEDIR": str(tmp_path / "kubecache")}))
    try:
        with GitOpsAgent(bare, "shop", kubesim.kubeconfig, values="values.yaml") as agent:
            wait_for(lambda: deployed(kube, "v1"), timeout=60, what="the agent's first sync")
            applied = s.apply(f"{APP_IMAGE}:v2")
            text = git.Repo(bare).commit("main").tree["shop/values.yaml"].data_stream.read().decode()
            assert text == VALUES.replace("tag: v1", "tag: v2")
            assert [image(o) for o in applied.objects] == [f"{APP_IMAGE}:v2"]
            outcome = s.watch(applied, timeout=60)
            assert outcome.succeeded, [f.render() for f in outcome.failures]
            assert deployed(kube, "v2")
        assert not agent.errors, agent.errors
    finally:
        s.close()


def test_preflight_fails_on_an_unreachable_repository_or_a_missing_key_before_any_commit(kube, kubesim, origin, tmp_path):
    def make(**gitops):
        cfg = dataclasses.replace(make_config(), kubernetes=KubernetesConfig(kubeconfig=str(kubesim.kubeconfig)),
                                  code=CodeConfig(strategy=CodeStrategy.GITOPS, gitops=GitOpsConfig(**gitops)))
        return GitOpsStrategy(kube, cfg, release_id="r0004")
    head = git.Repo(origin).commit("main").hexsha
    for gitops, message in [
        (dict(repo=str(tmp_path / "nowhere.git"), path=PATH, kind=GitOpsKind.KUSTOMIZE_IMAGES),
         "code.gitops.repo: cannot fetch branch main"),
        (dict(repo=str(origin), path="apps/shop/missing.yaml", kind=GitOpsKind.KUSTOMIZE_IMAGES),
         "code.gitops.path: apps/shop/missing.yaml is not a file"),
        (dict(repo=str(origin), path=PATH, kind=GitOpsKind.VALUES_KEY, key="image.tag"),
         "key image.tag not found"),
    ]:
        s = make(**gitops)
        try:
            with pytest.raises(BadInput, match=message):
                s.preflight(f"{APP_IMAGE}:v2")
        finally:
            s.close()
    assert git.Repo(origin).commit("main").hexsha == head
