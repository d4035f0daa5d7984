"""One vocabulary per concept: the release status as records store it (old spellings still read), one failure type
converted from the Kubernetes layer's by field, and one table of pod hints."""

from __future__ import annotations

import pytest

from shipit.adapters.records import record_to_state, state_to_record
from shipit.db.health import UsualLoad
from shipit.kube.failure import Failure
from shipit.kube.pods import PodState
from shipit.kube.records import ReleaseRecord
from shipit.release.diagnosis import Diagnosis, from_failures
from shipit.release.phases import ReleaseStatus
from shipit.release.state import ReleaseState, release_id


@pytest.mark.parametrize("stored,status", [
    ("rolled-back", ReleaseStatus.ROLLED_BACK), ("needs-attention", ReleaseStatus.NEEDS_ATTENTION),
    ("rolled_back", ReleaseStatus.ROLLED_BACK), ("needs_attention", ReleaseStatus.NEEDS_ATTENTION),
    ("reverted", ReleaseStatus.REVERTED),
])
def test_records_with_either_spelling_read_as_the_one_status(stored, status):
    record = ReleaseRecord.from_json({"id": "r0003", "sequence": 3, "app": "shop", "status": stored})
    assert record_to_state(record).status is status


def test_unknown_status_is_still_an_error():
    with pytest.raises(ValueError):
        ReleaseStatus("rolled back")


def test_a_state_round_trips_through_its_record_with_the_one_spelling():
    diagnosis = Diagnosis("web: crash", "exit 1", details=("line",), did="reverted", next="fix")
    state = ReleaseState(release_id(12), 12, "shop", ReleaseStatus.ROLLED_BACK, "a" * 40, "b" * 40, "img:b", "t",
                         1_700_000_000.25, diagnosis=diagnosis, notes=("n",), exit_code=1,
                         usual_load=(UsualLoad("primary", 3.0, 5.0, 5, 1_700_000_001.0),))
    record = state_to_record(state)
    assert record.id == "r0012" and record.to_json()["status"] == "rolled_back"
    assert record_to_state(ReleaseRecord.from_json(record.to_json())) == state


def test_a_kube_failure_becomes_a_diagnosis_field_by_field():
    pod = Failure("Deployment web: pod web-1 is CrashLoopBackOff", "BackOff: restarting", pod="web-1",
                  container="web", state="CrashLoopBackOff", exit_code=1, log_tail=("boom: a:b",),
                  events=("Warning BackOff",), hint="read the log")
    other = Failure("Deployment worker not rolled out", "stalled")
    d = from_failures((pod, other), "the rollout failed")
    assert d.what == "the rollout failed: Deployment web: pod web-1 is CrashLoopBackOff"
    assert d.why == "BackOff: restarting"
    assert d.details == ("  pod web-1, container web, state CrashLoopBackOff, exit code 1", "  last 1 log lines:",
                         "    | boom: a:b", "  events:", "    Warning BackOff", "  next: read the log")
    assert pod.render().splitlines() == [f"{pod.what}: {pod.why}", *pod.evidence()]
    assert from_failures((), "the revert did not become healthy").why == "no failure details were reported"


def test_each_pod_state_knows_its_hint_for_app_pods_and_the_migration_job():
    context = {"image": "shop:v2", "deployment": "web", "container": "app"}
    assert "shop:v2" in PodState.IMAGE_PULL.hint(**context)
    assert PodState.OOM_KILLED.hint(**context) == "raise the memory limit of container app in Deployment web"
    assert "Deployment web" in PodState.CONFIG_ERROR.hint(**context)
    assert "schema_migrations" in PodState.FAILED.hint(**context)
    assert PodState.RUNNING.hint(**context) is None  # nothing to do about a healthy pod
