"""The Job controller's decision over a snapshot as a pure function."""

from __future__ import annotations

from tests.kubesim.controllers.job import TRACKING_FINALIZER, plan_job

T0 = 1_700_000_000.0


def job(**spec) -> dict:
    return {"metadata": {"name": "m", "namespace": "default", "uid": "u"},
            "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1,
                     "template": {"spec": {"restartPolicy": "Never"}}, **spec},
            "status": {"startTime": "2023-11-14T22:13:20Z"}}


def failed_pod(name: str, counted: bool) -> dict:
    meta = {"name": name}
    if not counted:
        meta["finalizers"] = [TRACKING_FINALIZER]
    return {"metadata": meta, "status": {"phase": "Failed"}}


def test_J5_a_failure_counted_now_delays_the_replacement_by_ten_seconds():
    plan = plan_job(job(), [failed_pod("m-1", counted=False)], minor=33, now=T0, speed=1.0, started_at=T0 - 5,
                    last_failure_at=None)
    assert plan.create == 0 and plan.count == ("m-1",) and plan.requeue_after == 10.0
    assert plan.status["failed"] == 1


def test_J5_back_off_doubles_and_elapses():
    j = job()
    j["status"]["failed"] = 2
    pods = [failed_pod("m-1", True), failed_pod("m-2", True)]
    waiting = plan_job(j, pods, minor=33, now=T0 + 5, speed=1.0, started_at=T0 - 60, last_failure_at=T0)
    assert waiting.create == 0 and waiting.requeue_after == 15.0          # 20 s after the second failure
    due = plan_job(j, pods, minor=33, now=T0 + 20, speed=1.0, started_at=T0 - 60, last_failure_at=T0)
    assert due.create == 1 and due.status["active"] == 1


def test_J2_J3_backoff_limit_exceeded_per_version():
    pods = [failed_pod("m-1", counted=False)]
    new = plan_job(job(backoffLimit=0), pods, minor=33, now=T0, speed=1.0, started_at=T0, last_failure_at=None)
    assert [c["type"] for c in new.status["conditions"]] == ["FailureTarget"] and new.create == 0
    old = plan_job(job(backoffLimit=0), pods, minor=29, now=T0, speed=1.0, started_at=T0, last_failure_at=None)
    assert [(c["type"], c["reason"]) for c in old.status["conditions"]] == [("Failed", "BackoffLimitExceeded")]
    assert old.events == (("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),)
