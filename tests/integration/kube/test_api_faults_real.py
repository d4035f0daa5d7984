"""The real control plane behind tests/cluster/faultproxy.py: watches of the migration Job and of a rollout cut
mid-way (after a number of events, so certainly while the outcome is still open), a re-watch from an expired
resourceVersion, retried writes. The proxy's request log is the evidence of what shipit did: resumed from the last
resourceVersion, re-listed after 410, retried after the Retry-After it was given."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from shipit.kube.pods import PodState
from shipit.kube.rollout import Rollout
from tests.integration.kube.conftest import APP_IMAGE, WORLD, create_deployment, deployment_manifest
from tests.integration.kube.test_migration_job import run_job
from tests.kubesim.images import ImageBehaviour
from tests.support.kube_snapshots import make_config

pytestmark = [pytest.mark.real_cluster,
              pytest.mark.skipif(WORLD != "real", reason="SHIPIT_TEST_CLUSTER selects kubesim")]


@pytest.fixture
def kubesim(real_cluster, tmp_path):
    from tests.cluster.world import RealWorld

    world = RealWorld(real_cluster, tmp_path / "kubeconfig", fault_proxy=True)
    yield world
    world.close()


@pytest.fixture
def proxy(kubesim):
    return kubesim.proxy


def rv(seen) -> int:
    return int((parse_qs(urlsplit(seen.target).query).get("resourceVersion") or ["0"])[0] or 0)


def collection(proxy, path: str):
    """(watch?, status, fault, rv) of every request on one collection, in order."""
    return [(s.watch, s.status, s.fault, rv(s)) for s in proxy.requests("GET", path)]


def test_migration_watches_cut_mid_way_resume_from_the_last_resource_version(kubesim, kube, proxy):
    kubesim.images.add(f"{APP_IMAGE}:cut", ImageBehaviour(exit_code=1, run_seconds=2.0, log_lines=("step 1", "boom")))
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    jobs = proxy.cut_watch(r"/jobs\?", after_events=1, how="reset")
    pods = proxy.cut_watch(r"/pods\?", after_events=2, how="reset")
    _, outcome, lines = run_job(kube, tag="cut", release="r0021")
    assert outcome.failure is not None and outcome.failure.exit_code == 1
    assert outcome.failure.log_tail[-2:] == ("step 1", "boom") and lines == ["step 1", "boom"]
    assert (jobs.hits, pods.hits) == (1, 1), "both watches were cut"
    for path in (r"/jobs\?", r"/pods\?"):
        seq = collection(proxy, path)
        lists = [s for s in seq if not s[0]]
        watches = [s for s in seq if s[0]]
        assert len(lists) == 1, f"resumed, not re-listed: {seq}"
        assert watches[0][2] == "cut" and len(watches) >= 2, seq
        assert watches[1][3] > watches[0][3], f"the resumed watch starts from the last event's resourceVersion: {seq}"


def test_migration_rewatch_from_an_expired_resource_version_relists(kubesim, kube, proxy):
    """The pod watch ends (as on a server timeout) after its first event; the re-watch is answered ERROR 410
    Expired: shipit lists again, watches from the new resourceVersion and still sees the exit code."""
    kubesim.images.add(f"{APP_IMAGE}:exp", ImageBehaviour(exit_code=3, run_seconds=1.5, log_lines=("step 1", "bad")))
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    proxy.cut_watch(r"/pods\?", after_events=1, how="end")
    expired = proxy.expire_watch(r"/pods\?", nth=2)
    _, outcome, _ = run_job(kube, tag="exp", release="r0022")
    assert outcome.failure is not None and outcome.failure.exit_code == 3 and "bad" in outcome.failure.log_tail
    assert expired.hits == 1
    seq = collection(proxy, r"/pods\?")
    assert [(w, st, f) for w, st, f, _ in seq[:4]] == [
        (False, 200, ""), (True, 200, "cut"), (True, 410, "expire"), (False, 200, "")], seq
    assert len(seq) >= 5 and seq[4][0] and seq[4][3] > seq[1][3], f"watch again from the re-list: {seq}"


def test_migration_job_watch_answered_410_status_relists(kubesim, kube, proxy):
    """A watch refused with HTTP 410 (not an ERROR event): the same re-list."""
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    expired = proxy.expire_watch(r"/jobs\?", form="status")
    _, outcome, _ = run_job(kube, tag="abc-fail", release="r0023")
    assert outcome.failure is not None and outcome.failure.exit_code == 1
    assert expired.hits == 1
    seq = collection(proxy, r"/jobs\?")
    assert [(w, st) for w, st, _, _ in seq[:4]] == [(False, 200), (True, 410), (False, 200), (True, 200)], seq


@pytest.fixture
def two_deployments(kube):
    create_deployment(kube, deployment_manifest("web"))
    create_deployment(kube, deployment_manifest("worker", replicas=1, sidecar=False))
    return make_config(deployments=(("web", ("web",)), ("worker", ())), ready_grace=1.5)


def test_rollout_watches_cut_mid_way_still_see_success(kube, proxy, two_deployments):
    rules = [proxy.cut_watch(r"/deployments\?", after_events=2), proxy.cut_watch(r"/replicasets\?", after_events=2),
             proxy.cut_watch(r"/pods\?", after_events=3)]
    rollout = Rollout(kube, two_deployments)
    rollout.apply(f"{APP_IMAGE}:v2")
    outcome = rollout.watch(timeout=60)
    assert outcome.succeeded, [f.render() for f in outcome.failures]
    assert all(r.hits == 1 for r in rules), [(r.path, r.hits) for r in rules]
    for path in (r"/deployments\?", r"/replicasets\?", r"/pods\?"):
        watches = [s for s in collection(proxy, path) if s[0]]
        assert len(watches) >= 2 and watches[1][3] > 0, f"{path}: resumed with a resourceVersion: {watches}"
    d = kube.get_json(kube.apps.read_namespaced_deployment, "web", "default")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == f"{APP_IMAGE}:v2"
    assert d["status"].get("updatedReplicas") == d["status"].get("availableReplicas") == 2


def test_rollout_rewatch_expired_relists_and_still_sees_the_crash(kube, proxy, two_deployments):
    proxy.cut_watch(r"/pods\?", after_events=1, how="end")
    expired = proxy.expire_watch(r"/pods\?", nth=2)
    rollout = Rollout(kube, two_deployments)
    rollout.apply(f"{APP_IMAGE}:v2-crash")
    outcome = rollout.watch(timeout=60)
    assert not outcome.succeeded and outcome.failures[0].state == PodState.CRASH_LOOP.value
    assert expired.hits == 1
    statuses = [(w, st) for w, st, _, _ in collection(proxy, r"/pods\?")]
    i = statuses.index((True, 410))
    assert statuses[i + 1] == (False, 200), f"a re-list follows the 410: {statuses}"


def test_429_retry_after_is_waited_for_on_a_write(kube, proxy):
    rule = proxy.answer("POST", r"/configmaps(\?|$)", 429, count=1, retry_after=2)
    kube.send(kube.core.create_namespaced_config_map, "default",
              {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after-429"}, "data": {"v": "1"}})
    assert rule.hits == 1
    posts = proxy.requests("POST", r"/configmaps(\?|$)")
    assert [s.status for s in posts] == [429, 201]
    assert posts[1].at - posts[0].at >= 2.0, "the retry waited the Retry-After the server asked for"
    assert kube.get_json(kube.core.read_namespaced_config_map, "after-429", "default")["data"] == {"v": "1"}


def test_migration_job_created_but_its_answer_lost_is_adopted(kubesim, kube, proxy):
    """The create reaches the server, the answer is a 503: the retry is told AlreadyExists, and shipit watches the
    Job it made instead of failing or making a second one."""
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    lost = proxy.answer("POST", r"/jobs(\?|$)", 503, applied=True)
    job, outcome, _ = run_job(kube, tag="abc-fail", release="r0024")
    assert lost.hits == 1
    assert outcome.failure is not None and outcome.failure.exit_code == 1
    assert "error: task failed" in outcome.failure.log_tail
    assert [s.status for s in proxy.requests("POST", r"/jobs(\?|$)")][:2] == [503, 409]
    items, _ = kube.list_json(kube.batch.list_namespaced_job, "default", label_selector="shipit.dev/release=r0024")
    assert [j["metadata"]["name"] for j in items] == [job.name]
