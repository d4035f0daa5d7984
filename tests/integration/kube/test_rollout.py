"""Rollouts on kubesim: kubectl's success rule, fast failure on the new pods, restore and undo."""

from __future__ import annotations

import threading

import pytest

from shipit.adapters.code.image import ImageRollout
from shipit.core.errors import BadInput
from shipit.kube.pods import PodState
from shipit.kube.rollout import Rollout
from tests.integration.kube.conftest import APP_IMAGE, create_deployment, deployment_manifest
from tests.support.kube_snapshots import make_config


def images_of(kube, name: str) -> dict[str, str]:
    d = kube.get_json(kube.apps.read_namespaced_deployment, name, "default")
    return {c["name"]: c["image"] for c in d["spec"]["template"]["spec"]["containers"]}


def assert_back_on_v1(kube) -> None:
    """Both Deployments run the v1 image again, and the sidecar shipit never touches is unchanged."""
    assert images_of(kube, "web") == {"web": f"{APP_IMAGE}:v1", "nginx": "nginx:1.27"}
    assert images_of(kube, "worker") == {"web": f"{APP_IMAGE}:v1"}


@pytest.fixture
def two_deployments(kube):
    create_deployment(kube, deployment_manifest("web"))
    create_deployment(kube, deployment_manifest("worker", replicas=1, sidecar=False))
    return make_config(deployments=(("web", ("web",)), ("worker", ())), ready_grace=1.5)


def test_apply_only_touches_app_containers_and_watches_to_success(kube, two_deployments):
    progress = []
    rollout = Rollout(kube, two_deployments, on_progress=progress.append)
    before = rollout.current_templates()
    assert [t.images for t in before] == [{"web": f"{APP_IMAGE}:v1", "nginx": "nginx:1.27"}, {"web": f"{APP_IMAGE}:v1"}]
    assert rollout.current_image() == f"{APP_IMAGE}:v1"
    rollout.apply(f"{APP_IMAGE}:v2")
    outcome = rollout.watch(timeout=30)
    assert outcome.succeeded, [f.render() for f in outcome.failures]
    assert images_of(kube, "web") == {"web": f"{APP_IMAGE}:v2", "nginx": "nginx:1.27"}
    assert images_of(kube, "worker") == {"web": f"{APP_IMAGE}:v2"}
    assert {p.deployment for p in progress} == {"web", "worker"}
    assert rollout.current_image() == f"{APP_IMAGE}:v2"


@pytest.mark.parametrize(
    "tag,state,detail",
    [("v2-crash", PodState.CRASH_LOOP, "panic: cannot connect to database"), ("v2-missing", PodState.IMAGE_PULL, None),
     ("v2-unready", PodState.NOT_READY, "warming up"), ("v2-oom", PodState.OOM_KILLED, None)],
    ids=["crash", "missing-image", "never-ready", "oom"],
)
def test_failing_new_pods_fail_fast_with_diagnosis(kube, two_deployments, tag, state, detail):
    rollout = Rollout(kube, two_deployments)
    rollout.apply(f"{APP_IMAGE}:{tag}")
    outcome = rollout.watch(timeout=30)
    assert not outcome.succeeded
    assert outcome.duration < 6.0  # long before the 600 s progress deadline kubectl waits for
    f = outcome.failures[0]
    assert f.state == state.value and f.pod and f.container == "web"
    assert f.events
    if detail:
        assert detail in "\n".join(f.log_tail)
    assert f.pod in f.render()


def test_restore_recorded_templates_and_watch_to_healthy(kube, two_deployments):
    rollout = Rollout(kube, two_deployments)
    before = rollout.current_templates()
    rollout.apply(f"{APP_IMAGE}:v2-crash")
    assert not rollout.watch(timeout=30).succeeded
    rollout.restore(before)
    outcome = rollout.watch(timeout=30)
    assert outcome.succeeded, [f.render() for f in outcome.failures]
    assert_back_on_v1(kube)


def test_undo_without_record_uses_the_previous_revision(kube, two_deployments):
    rollout = Rollout(kube, two_deployments)
    rollout.apply(f"{APP_IMAGE}:v2-missing")
    assert not rollout.watch(timeout=30).succeeded
    ImageRollout(kube, two_deployments).undo()
    assert rollout.watch(timeout=30).succeeded
    assert images_of(kube, "web")["web"] == f"{APP_IMAGE}:v1"


def test_cancel_and_timeout_report_where_each_deployment_stands(kube, two_deployments):
    # A grace longer than the test, so the slow pods are still merely starting when cancel and timeout come.
    rollout = Rollout(kube, make_config(deployments=(("web", ("web",)), ("worker", ())), ready_grace=30))
    rollout.apply(f"{APP_IMAGE}:v2-slow")
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    outcome = rollout.watch(timeout=30, cancel=cancel)
    assert not outcome.succeeded and "cancelled" in outcome.failures[0].what
    timed = rollout.watch(timeout=0.5)
    assert not timed.succeeded and "not rolled out within" in timed.failures[0].what
    assert "desired" in timed.failures[0].why


def test_unknown_container_or_repository_is_bad_input(kube):
    create_deployment(kube, deployment_manifest("web"), wait_ready=False)
    with pytest.raises(BadInput, match="app not in Deployment web"):
        Rollout(kube, make_config(deployments=(("web", ("app",)),))).apply(f"{APP_IMAGE}:v2")
    with pytest.raises(BadInput, match="no container uses image repository other/repo"):
        Rollout(kube, make_config(repository="other/repo")).apply("other/repo:v2")
    with pytest.raises(BadInput, match="Deployment api not found"):
        Rollout(kube, make_config(deployments=(("api", ()),))).current_templates()


@pytest.mark.api_faults
def test_watch_survives_api_faults_mid_rollout(kubesim, kube, two_deployments):
    rollout = Rollout(kube, two_deployments)
    rollout.apply(f"{APP_IMAGE}:v2-crash")
    kubesim.faults.add(method="GET", path_regex=r"/api/v1/namespaces/default/pods\?", status=429, count=1, retry_after=1)
    kubesim.faults.add(method="GET", path_regex=r"/apis/apps/v1/namespaces/default/replicasets\?", status=500, count=2)
    kubesim.faults.drop_watches(after_seconds=0.3, count=3)
    threading.Timer(1.2, kubesim.faults.expire_resource_versions).start()
    outcome = rollout.watch(timeout=30)
    assert not outcome.succeeded and outcome.failures[0].state == PodState.CRASH_LOOP.value


def test_missing_secret_in_the_new_template_is_a_config_error(kube, two_deployments):
    rollout = Rollout(kube, two_deployments)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "envFrom": [{"secretRef": {"name": "shop-db-v2"}}]}]}}}}
    kube.send(kube.apps.patch_namespaced_deployment, "web", "default", patch)
    rollout.apply(f"{APP_IMAGE}:v2")
    outcome = rollout.watch(timeout=30)
    assert not outcome.succeeded and outcome.duration < 6.0
    f = outcome.failures[0]
    assert f.what.startswith("Deployment web:") and f.state == PodState.CONFIG_ERROR.value
    assert "shop-db-v2" in f.why and f.events and "Secret/ConfigMap" in f.hint


def test_every_failing_deployment_is_summarised(kube, two_deployments):
    rollout = Rollout(kube, two_deployments)
    rollout.apply(f"{APP_IMAGE}:v2-missing")
    outcome = rollout.watch(timeout=30)
    assert not outcome.succeeded
    by_deployment = {f.what.split()[1].rstrip(":") for f in outcome.failures}
    assert by_deployment == {"web", "worker"}, [f.what for f in outcome.failures]
    worker = next(f for f in outcome.failures if f.what.startswith("Deployment worker"))
    assert worker.state == PodState.IMAGE_PULL.value or ("not rolled out when web failed" in worker.what and "desired 1" in worker.why)


def test_restore_ignores_a_revision_annotation_moved_by_someone_else(kube, two_deployments):
    """Another actor rolls web forward again and rewrites the revision annotation; `rollout undo` would now pick the
    wrong template, the recorded one is still exact."""
    rollout = Rollout(kube, two_deployments)
    before = rollout.current_templates()
    rollout.apply(f"{APP_IMAGE}:v2-crash")
    assert not rollout.watch(timeout=30).succeeded
    kube.send(kube.apps.patch_namespaced_deployment, "web", "default",
              {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": f"{APP_IMAGE}:v3-crash"}]}}}})
    kube.send(kube.apps.patch_namespaced_deployment, "web", "default",
              {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}}})
    rollout.restore(before)
    outcome = rollout.watch(timeout=30)
    assert outcome.succeeded, [f.render() for f in outcome.failures]
    assert_back_on_v1(kube)


def test_release_revert_without_recorded_templates_uses_rollout_undo(kube, two_deployments):
    from shipit.adapters.cluster import KubeCluster
    from shipit.release.diagnosis import PhaseFailed
    from shipit.report.live import PlainView

    cluster = KubeCluster(two_deployments, kube, PlainView(), database=None)
    with pytest.raises(PhaseFailed):
        cluster.rollout(f"{APP_IMAGE}:v2-crash", cancel=threading.Event())
    cluster.restore(())  # healthy again, or it raises
    assert_back_on_v1(kube)


def test_watch_is_scoped_by_a_set_based_selector(kube):
    """Pods and ReplicaSets are watched through the Deployment's own selector, matchExpressions included; another
    app crash-looping in the same namespace is not this rollout's failure."""
    create_deployment(kube, deployment_manifest("other", image=f"{APP_IMAGE}:v1-crash", replicas=1, sidecar=False), wait_ready=False)
    manifest = deployment_manifest("web", replicas=1, sidecar=False)
    manifest["spec"]["selector"] = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}
    create_deployment(kube, manifest)
    cfg = make_config(deployments=(("web", ()),), ready_grace=1.5)
    rollout = Rollout(kube, cfg)
    rollout.apply(f"{APP_IMAGE}:v2")
    assert rollout.watch(timeout=30).succeeded
    rollout.apply(f"{APP_IMAGE}:v3-missing")
    outcome = rollout.watch(timeout=30)
    assert not outcome.succeeded and outcome.failures[0].pod.startswith("web-")
    assert outcome.failures[0].state == PodState.IMAGE_PULL.value
