"""Server-side printing as pure functions: the pod STATUS/READY/RESTARTS logic of the upstream printer, Job
columns per version, and the Accept negotiation."""

from __future__ import annotations

import pytest

from tests.kubesim import resources as R
from tests.kubesim.tables import table, wants_table

NOW = 1_700_000_100.0
CREATED = "2023-11-14T22:13:20Z"      # NOW - 100 s


def pod(*statuses: dict, phase: str = "Running", deleting: bool = False, conditions=()) -> dict:
    meta = {"name": "p", "creationTimestamp": CREATED}
    if deleting:
        meta["deletionTimestamp"] = CREATED
    return {"metadata": meta, "spec": {"containers": [{"name": f"c{i}"} for i in range(len(statuses))],
                                       "nodeName": "node-1"},
            "status": {"phase": phase, "containerStatuses": list(statuses), "conditions": list(conditions)}}


def cells(obj: dict, res=R.PODS, minor: int = 33) -> list:
    return table(res, [obj], now=NOW, minor=minor)["rows"][0]["cells"]


@pytest.mark.parametrize("statuses,phase,deleting,want", [
    ([{"state": {"running": {}}, "ready": True, "restartCount": 0}], "Running", False, ["1/1", "Running", "0"]),
    ([{"state": {"waiting": {"reason": "CrashLoopBackOff"}}, "ready": False, "restartCount": 4,
       "lastState": {"terminated": {"finishedAt": "2023-11-14T22:14:40Z"}}}], "Running", False,
     ["0/1", "CrashLoopBackOff", "4 (20s ago)"]),
    ([{"state": {"terminated": {"reason": "Completed", "exitCode": 0}}, "ready": False, "restartCount": 0}],
     "Succeeded", False, ["0/1", "Completed", "0"]),
    ([{"state": {"terminated": {"exitCode": 2}}, "ready": False, "restartCount": 0}], "Failed", False,
     ["0/1", "ExitCode:2", "0"]),
    ([{"state": {"running": {}}, "ready": True, "restartCount": 1}], "Running", True, ["1/1", "Terminating", "1"]),
    ([], "Pending", False, ["0/0", "Pending", "0"]),
], ids=["running", "crashloop", "completed", "exitcode", "terminating", "pending"])
def test_pod_ready_status_restarts(statuses, phase, deleting, want):
    got = cells(pod(*statuses, phase=phase, deleting=deleting))
    assert got[:5] == ["p", *want, "100s"]


def test_completed_sidecar_with_a_running_container_is_running_or_not_ready():
    done = {"state": {"terminated": {"reason": "Completed"}}, "ready": False, "restartCount": 0}
    up = {"state": {"running": {}}, "ready": True, "restartCount": 0}
    assert cells(pod(up, done))[2] == "NotReady"
    assert cells(pod(up, done, conditions=[{"type": "Ready", "status": "True"}]))[2] == "Running"


def test_job_status_column_from_1_30():
    job = {"metadata": {"name": "j", "creationTimestamp": CREATED},
           "spec": {"completions": 1, "template": {"spec": {"containers": [{"name": "m", "image": "a:1"}]}},
                    "selector": {"matchLabels": {"job-name": "j"}}},
           "status": {"succeeded": 1, "startTime": CREATED, "completionTime": "2023-11-14T22:13:30Z",
                      "conditions": [{"type": "Complete", "status": "True"}]}}
    assert cells(job, R.JOBS, 33)[:5] == ["j", "Complete", "1/1", "10s", "100s"]
    assert cells(job, R.JOBS, 29)[:4] == ["j", "1/1", "10s", "100s"]
    assert [c["name"] for c in table(R.JOBS, [], now=NOW, minor=29)["columnDefinitions"]][:4] == \
        ["Name", "Completions", "Duration", "Age"]


def test_rows_carry_partial_object_metadata():
    t = table(R.CONFIGMAPS, [{"metadata": {"name": "c", "labels": {"a": "b"}, "creationTimestamp": CREATED},
                              "data": {"x": "1"}}], now=NOW, minor=33, list_meta={"resourceVersion": "7"})
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1" and t["metadata"] == {"resourceVersion": "7"}
    assert t["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                      "metadata": {"name": "c", "labels": {"a": "b"}, "creationTimestamp": CREATED}}
    assert t["rows"][0]["cells"] == ["c", 1, "100s"]


def test_wants_table_only_for_meta_k8s_io_tables():
    kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io," \
              "application/json"
    assert wants_table(kubectl)
    assert not wants_table("application/json")
    assert not wants_table(None)
    assert not wants_table("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
