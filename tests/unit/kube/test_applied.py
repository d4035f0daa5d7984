"""The verdict over everything a release applied, the record's packed render and the objects a render dropped."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shipit.adapters.code.manifests import recorded_secrets_skipped, with_image
from shipit.core.errors import BadInput
from shipit.kube.applied import Ref, decide_object, dropped, pack, unpack
from shipit.kube.workloads import Verdict, blocked_statefulset_pods

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def cronjob(image: str) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "task", "image": image}]}}}}}}


def decide(applied, live):
    return decide_object(applied, live, [], [], now=NOW, ready_grace=30)


def test_an_object_is_complete_only_once_the_live_one_carries_the_applied_images():
    assert decide(cronjob("shop:v2"), None).message == "not found in the cluster yet"
    stale = decide(cronjob("shop:v2"), cronjob("shop:v1"))
    assert stale.verdict is Verdict.PROGRESSING and stale.message == "container task runs shop:v1, waiting for shop:v2"
    assert decide(cronjob("shop:v2"), cronjob("shop:v2")).verdict is Verdict.COMPLETE


def test_deployments_use_the_rollout_rule():
    dep = {"kind": "Deployment", "metadata": {"name": "web", "generation": 2, "uid": "u"},
           "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "shop:v2"}]}}},
           "status": {"observedGeneration": 2, "updatedReplicas": 1, "replicas": 2, "availableReplicas": 2}}
    v = decide(dep, dep)
    assert v.verdict is Verdict.PROGRESSING and v.message == "1 out of 2 new replicas have been updated"


def test_dropped_objects_are_those_of_the_previous_render_only():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
    assert dropped([cm, cronjob("a")], [cronjob("b")]) == (Ref("ConfigMap", "settings"),)
    assert dropped([cronjob("a")], [cronjob("b")]) == ()


def test_the_packed_render_round_trips_without_secret_values_and_those_secrets_are_not_reapplied():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keys"}, "data": {"KEY": "c2VjcmV0"}}
    objects = (cronjob("shop:v1"), secret)
    packed = pack(objects)
    assert "c2VjcmV0" not in packed and len(packed) < len(str(objects)) * 2
    restored = unpack(packed)
    assert restored[0] == cronjob("shop:v1") and "data" not in restored[1]
    keep, skipped = recorded_secrets_skipped(restored)
    assert keep == (cronjob("shop:v1"),) and skipped == (Ref("Secret", "keys"),)
    assert recorded_secrets_skipped(objects) == (objects, ())


def test_with_image_sets_the_image_on_copies_and_refuses_a_render_without_the_app():
    original = cronjob("reg/shop:ci")
    (out,) = with_image([original], "reg/shop", "reg/shop:v2")
    assert out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/shop:v2"
    assert original["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/shop:ci"
    with pytest.raises(BadInput, match="no rendered container runs image.repository other/app"):
        with_image([original], "other/app", "other/app:v2")


def test_a_statefulset_after_a_revert_is_blocked_by_its_unready_pods_of_other_revisions():
    sts = {"kind": "StatefulSet", "metadata": {"name": "worker", "generation": 3},
           "spec": {"updateStrategy": {"type": "RollingUpdate"}},
           "status": {"observedGeneration": 3, "updateRevision": "worker-old"}}

    def pod(name, revision, ready):
        return {"metadata": {"name": name, "labels": {"controller-revision-hash": revision},
                             "ownerReferences": [{"kind": "StatefulSet", "name": "worker"}]},
                "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    pods = [pod("worker-0", "worker-old", True), pod("worker-1", "worker-bad", False), pod("worker-2", "worker-bad", True)]
    assert blocked_statefulset_pods(sts, pods) == ("worker-1",)
    assert blocked_statefulset_pods({**sts, "status": {**sts["status"], "observedGeneration": 2}}, pods) == ()
    assert blocked_statefulset_pods({**sts, "spec": {"podManagementPolicy": "Parallel"}}, pods) == ()
