"""Rollout decisions over Deployment, ReplicaSet and pod snapshots: kubectl's success rule, failing fast on new pods."""

from shipit.kube.pods import PodState
from shipit.kube.rollout import RolloutState, decide_rollout, image_repository
from tests.support.kube_snapshots import NOW, cond, cstatus, deployment, pod, replicaset, running, terminated, waiting


def test_rollout_complete_only_by_kubectls_rule():
    dep = deployment()
    new = replicaset(dep, uid="rs2", revision="2", image="shop:v2")
    assert decide_rollout(dep, [new], [], now=NOW, ready_grace=60).state is RolloutState.COMPLETE
    for kw, fragment in [
        (dict(generation=3, observed=2), "spec update"),
        (dict(updated=2, total=3), "2 out of 3 new replicas"),
        (dict(updated=3, total=4), "1 old replicas"),
        (dict(available=2), "2 of 3 updated replicas are available"),
    ]:
        d = decide_rollout(deployment(**kw), [new], [], now=NOW, ready_grace=60)
        assert d.state is RolloutState.PROGRESSING and fragment in d.message, kw


def test_rollout_with_zero_counters_omitted():
    dep = deployment(updated=0, total=0, available=0, ready=0)
    d = decide_rollout(dep, [], [], now=NOW, ready_grace=60)
    assert d.state is RolloutState.PROGRESSING and d.progress.updated == 0


def test_rollout_progress_deadline_exceeded_fails():
    c = cond("Progressing", "False", "ProgressDeadlineExceeded", 'ReplicaSet "web-h" has timed out progressing.')
    d = decide_rollout(deployment(updated=1, available=2, conditions=[c]), [], [], now=NOW, ready_grace=60)
    assert d.state is RolloutState.FAILED


def test_rollout_fails_fast_on_new_pods_only():
    dep = deployment(updated=1, total=4, available=3)
    old = replicaset(dep, uid="rs1", revision="1", image="shop:v1")
    new = replicaset(dep, uid="rs2", revision="2", image="shop:v2")
    crashing_old = pod("web-old", owner_uid="rs1", containers=[cstatus(state=waiting("CrashLoopBackOff"), last=terminated(1), restarts=4)])
    healthy_new = pod("web-new-1", owner_uid="rs2", containers=[cstatus(state=running(), ready=True)], conditions=[cond("Ready", "True")])
    assert decide_rollout(dep, [old, new], [crashing_old, healthy_new], now=NOW, ready_grace=60).state is RolloutState.PROGRESSING
    crashing_new = pod("web-new-2", owner_uid="rs2", containers=[cstatus(state=waiting("CrashLoopBackOff"), last=terminated(1), restarts=1)])
    d = decide_rollout(dep, [old, new], [crashing_old, healthy_new, crashing_new], now=NOW, ready_grace=60)
    assert d.state is RolloutState.FAILED
    assert [name for name, _ in d.failing] == ["web-new-2"]


def test_rollout_not_ready_after_grace():
    dep = deployment(updated=1, total=4, available=3)
    new = replicaset(dep, uid="rs2", revision="2", image="shop:v2")
    p = pod("web-new", owner_uid="rs2", containers=[cstatus(state=running(ago=30))], conditions=[cond("Ready", "False", "ContainersNotReady")])
    assert decide_rollout(dep, [new], [p], now=NOW, ready_grace=60).state is RolloutState.PROGRESSING
    d = decide_rollout(dep, [new], [p], now=NOW, ready_grace=20)
    assert d.state is RolloutState.FAILED and d.failing[0][1].state is PodState.NOT_READY


def test_image_repository():
    assert image_repository("registry:5000/shop:abc") == "registry:5000/shop"
    assert image_repository("registry:5000/shop") == "registry:5000/shop"
    assert image_repository("shop@sha256:" + "a" * 64) == "shop"


def test_label_selector_query_string():
    from shipit.kube.rollout import label_selector

    assert label_selector({"matchLabels": {"app": "web", "tier": "front"}}) == "app=web,tier=front"
    assert label_selector({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "track", "operator": "In", "values": ["stable", "canary"]},
        {"key": "env", "operator": "NotIn", "values": ["dev"]},
        {"key": "team", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"},
    ]}) == "app=web,track in (stable,canary),env notin (dev),team,!legacy"
