"""StatefulSets and CronJobs on kubesim, driven by real kubectl: ordered creation, ControllerRevisions and
controller-revision-hash labels, rolling update by descending ordinal down to the partition, `kubectl rollout status`
reading the same counters as on a cluster, and the OrderedReady block a broken updated pod causes."""

from __future__ import annotations

import pytest

from tests.kubesim.tests.kubectl.conftest import SPEED, get_json, wait_for


@pytest.fixture
def cluster(kubesim_factory):
    return kubesim_factory(k8s_version="1.33", speed=SPEED)


def sts_yaml(image: str = "db:v1", *, replicas: int = 3, partition: int = 0) -> str:
    return f"""apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  serviceName: db
  replicas: {replicas}
  selector: {{matchLabels: {{app: db}}}}
  updateStrategy: {{type: RollingUpdate, rollingUpdate: {{partition: {partition}}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers: [{{name: db, image: "{image}"}}]
"""


def pods(cluster) -> dict[str, tuple[str, str]]:
    """pod -> (image, revision) of the set's live pods."""
    items = get_json(cluster, "pods", "-l", "app=db")["items"]
    return {p["metadata"]["name"]: (p["spec"]["containers"][0]["image"],
                                    p["metadata"]["labels"]["controller-revision-hash"])
            for p in items if not p["metadata"].get("deletionTimestamp")}


def rolled_out(cluster, timeout: float = 60) -> str:
    return cluster.kubectl("rollout", "status", "statefulset/db", f"--timeout={timeout:.0f}s", timeout=timeout + 10).stdout


def test_pods_are_created_in_order_with_a_revision_and_rollout_status_agrees(cluster):
    cluster.kubectl("apply", "-f", "-", input=sts_yaml())
    assert "roll out complete: 3 new pods have been updated" in rolled_out(cluster)
    sts = get_json(cluster, "statefulset", "db")
    revision = sts["status"]["updateRevision"]
    assert revision.startswith("db-") and sts["status"]["currentRevision"] == revision
    assert pods(cluster) == {f"db-{i}": ("db:v1", revision) for i in range(3)}
    created = [e["message"] for e in get_json(cluster, "events", "--field-selector", "involvedObject.name=db")["items"]
               if e["reason"] == "SuccessfulCreate"]
    assert created == [f"create Pod db-{i} in StatefulSet db successful" for i in range(3)]
    assert [r["revision"] for r in get_json(cluster, "controllerrevisions")["items"]] == [1]


def test_rolling_update_replaces_pods_from_the_highest_ordinal_and_switches_the_revision(cluster):
    cluster.kubectl("apply", "-f", "-", input=sts_yaml())
    rolled_out(cluster)
    old = get_json(cluster, "statefulset", "db")["status"]["currentRevision"]
    cluster.kubectl("set", "image", "statefulset/db", "db=db:v2")
    out = rolled_out(cluster)
    assert "3 new pods have been updated" in out  # partition defaults to 0: kubectl says "partitioned" as on a cluster
    status = get_json(cluster, "statefulset", "db")["status"]
    new = status["updateRevision"]
    assert new != old and status["currentRevision"] == new and status["updatedReplicas"] == 3
    assert pods(cluster) == {f"db-{i}": ("db:v2", new) for i in range(3)}
    deleted = [e["message"] for e in get_json(cluster, "events", "--field-selector", "involvedObject.name=db")["items"]
               if e["reason"] == "SuccessfulDelete"]
    assert deleted == [f"delete Pod db-{i} in StatefulSet db successful" for i in (2, 1, 0)]
    assert sorted(r["revision"] for r in get_json(cluster, "controllerrevisions")["items"]) == [1, 2]


def test_a_partition_updates_only_the_ordinals_at_or_above_it(cluster):
    cluster.kubectl("apply", "-f", "-", input=sts_yaml(partition=2))
    rolled_out(cluster)
    cluster.kubectl("apply", "-f", "-", input=sts_yaml("db:v2", partition=2))
    assert "partitioned roll out complete: 1 new pods have been updated" in rolled_out(cluster)
    status = get_json(cluster, "statefulset", "db")["status"]
    assert status["currentRevision"] != status["updateRevision"] and status["updatedReplicas"] == 1
    images = {name: image for name, (image, _) in pods(cluster).items()}
    assert images == {"db-0": "db:v1", "db-1": "db:v1", "db-2": "db:v2"}


def test_an_updated_pod_that_never_gets_ready_blocks_the_set_until_it_is_deleted_even_after_a_revert(cluster):
    cluster.kubectl("apply", "-f", "-", input=sts_yaml())
    rolled_out(cluster)
    cluster.kubectl("apply", "-f", "-", input=sts_yaml("db:v2-missing"))

    def pulling_fails():
        p = get_json(cluster, "pod", "db-2", "--ignore-not-found")
        waiting = [(cs.get("state") or {}).get("waiting", {}).get("reason") for cs in
                   (p.get("status") or {}).get("containerStatuses") or []] if p else []
        return "ImagePullBackOff" in waiting or "ErrImagePull" in waiting
    wait_for(pulling_fails, what="db-2 failing to pull its image")
    cluster.kubectl("apply", "-f", "-", input=sts_yaml("db:v1"))  # the template back: the set stays blocked
    blocked = cluster.kubectl("rollout", "status", "statefulset/db", "--timeout=2s", check=False, timeout=20)
    assert blocked.returncode != 0
    assert {name: image for name, (image, _) in pods(cluster).items()} == {
        "db-0": "db:v1", "db-1": "db:v1", "db-2": "db:v2-missing"}
    cluster.kubectl("delete", "pod", "db-2")
    rolled_out(cluster)
    assert {image for image, _ in pods(cluster).values()} == {"db:v1"}


def test_cronjobs_are_stored_with_defaults_and_their_template_can_be_changed(cluster):
    cluster.kubectl("apply", "-f", "-", input="""apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: task, image: "shop:v1"}]
""")
    cluster.kubectl("set", "image", "cronjob/nightly", "task=shop:v2")
    cj = get_json(cluster, "cronjob", "nightly")
    assert cj["spec"]["concurrencyPolicy"] == "Allow" and cj["spec"]["suspend"] is False
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == "shop:v2"
    assert cj["metadata"]["generation"] == 2
    assert get_json(cluster, "jobs")["items"] == []  # no scheduling: storage only
