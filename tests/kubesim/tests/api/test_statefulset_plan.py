"""The StatefulSet controller's one-sync plan (pure): ordered creation, partition, OnDelete, Parallel, scale-down and
the status counters."""

from __future__ import annotations

from tests.kubesim.controllers.statefulset import plan_statefulset


def sts(replicas=3, *, partition=0, strategy="RollingUpdate", policy="OrderedReady"):
    update = {"type": strategy} | ({"rollingUpdate": {"partition": partition}} if strategy == "RollingUpdate" else {})
    return {"metadata": {"name": "db", "generation": 2},
            "spec": {"replicas": replicas, "podManagementPolicy": policy, "updateStrategy": update}}


def pod(ordinal, revision="new", *, ready=True, phase="Running", deleting=False):
    meta = {"name": f"db-{ordinal}", "labels": {"controller-revision-hash": revision}}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-05T12:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def plan(s, pods, current="old", update="new"):
    return plan_statefulset(s, pods, current=current, update=update)


def test_ordered_ready_creates_one_pod_at_a_time_and_waits_for_it():
    assert plan(sts(), []).create == ((0, "new"),)
    assert plan(sts(), [pod(0, ready=False)]).create == ()
    assert plan(sts(), [pod(0)]).create == ((1, "new"),)
    assert plan(sts(policy="Parallel"), []).create == ((0, "new"), (1, "new"), (2, "new"))


def test_rolling_update_deletes_the_highest_old_ordinal_down_to_the_partition():
    old = [pod(0, "old"), pod(1, "old"), pod(2, "old")]
    assert plan(sts(), old).delete == ("db-2",)
    assert plan(sts(), [pod(0, "old"), pod(1, "old"), pod(2)]).delete == ("db-1",)
    assert plan(sts(partition=2), [pod(0, "old"), pod(1, "old"), pod(2)]).delete == ()
    assert plan(sts(partition=2), []).create == ((0, "old"),)  # below the partition: the current revision


def test_on_delete_and_an_unready_pod_replace_nothing():
    assert plan(sts(strategy="OnDelete"), [pod(0, "old"), pod(1, "old"), pod(2, "old")]).delete == ()
    stuck = plan(sts(), [pod(0, "old"), pod(1, "old"), pod(2, ready=False)], current="old")
    assert stuck.delete == () and stuck.create == ()


def test_failed_pods_are_deleted_and_extra_ordinals_scaled_down_from_the_top():
    assert plan(sts(), [pod(0, phase="Failed", ready=False)]).delete == ("db-0",)
    assert plan(sts(replicas=1), [pod(0), pod(1), pod(2)]).delete == ("db-2",)


def test_status_switches_the_current_revision_only_when_every_pod_is_updated_and_ready():
    s = plan(sts(), [pod(0), pod(1), pod(2)]).status
    assert (s["currentRevision"], s["updatedReplicas"], s["readyReplicas"]) == ("new", 3, 3)
    s = plan(sts(), [pod(0, "old"), pod(1), pod(2)]).status
    assert (s["currentRevision"], s["updatedReplicas"], s["currentReplicas"]) == ("old", 2, 1)
    assert plan(sts(), [pod(0), pod(1), pod(2, deleting=True)]).status["replicas"] == 2
