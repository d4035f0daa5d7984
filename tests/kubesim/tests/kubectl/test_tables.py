"""`kubectl get` asks for meta.k8s.io Table; kubesim answers with the upstream printers' columns for lists,
single objects and watch events, so human output looks like a cluster's."""

from __future__ import annotations

import re

from tests.kubesim.tables import human_duration
from tests.kubesim.tests.kubectl.conftest import KubectlStream, deployment_yaml, wait_for

JOB = """apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: app:v1}]
"""


def rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def test_get_pods_deployments_and_replicasets_columns(cluster):
    cluster.kubectl("create", "-f", "-", input=deployment_yaml(replicas=2))
    cluster.kubectl("rollout", "status", "deploy/web", "--timeout=60s")
    deploy = rows(cluster.kubectl("get", "deploy").stdout)
    assert deploy[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] and deploy[1][:4] == ["web", "2/2", "2", "2"]
    rs = rows(cluster.kubectl("get", "rs", "-o", "wide").stdout)
    assert rs[0] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert rs[1][1:4] == ["2", "2", "2"] and rs[1][5:7] == ["web", "web:v1"]
    assert rs[1][7].startswith("app=web,pod-template-hash=")
    pods = rows(cluster.kubectl("get", "pods").stdout)
    assert pods[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [p[1:4] for p in pods[1:]] == [["1/1", "Running", "0"]] * 2
    labels = cluster.kubectl("get", "pods", "--show-labels").stdout
    assert "app=web,pod-template-hash=" in labels
    one = rows(cluster.kubectl("get", "deploy", "web").stdout)
    assert len(one) == 2 and one[1][0] == "web"


def test_get_pod_status_column_for_failures(cluster, api):
    for name, image in (("crash", "web:v1-crash"), ("pull", "web:v1-missing")):
        api.core.create_namespaced_pod("default", {"metadata": {"name": name}, "spec": {"containers": [
            {"name": "web", "image": image}]}})
    wait_for(lambda: "CrashLoopBackOff" in cluster.kubectl("get", "pod", "crash").stdout, timeout=60)
    crash = rows(cluster.kubectl("get", "pod", "crash").stdout)[1]
    assert crash[1] == "0/1" and re.fullmatch(r"\d+ \(\d+s ago\)", crash[3])
    wait_for(lambda: rows(cluster.kubectl("get", "pod", "pull").stdout)[1][2] in ("ErrImagePull", "ImagePullBackOff"))


def test_get_jobs_columns_per_version(cluster, k8s_version):
    cluster.kubectl("create", "-f", "-", input=JOB)
    cluster.kubectl("wait", "--for=condition=complete", "job/migrate", "--timeout=60s")
    job = rows(cluster.kubectl("get", "jobs").stdout)
    if k8s_version != "1.29":          # the Status column exists from 1.30
        assert job[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"] and job[1][:3] == ["migrate", "Complete",
                                                                                                 "1/1"]
    else:
        assert job[0] == ["NAME", "COMPLETIONS", "DURATION", "AGE"] and job[1][:2] == ["migrate", "1/1"]


def test_get_pods_watch_prints_table_rows(cluster, api):
    api.core.create_namespaced_pod("default", {"metadata": {"name": "marker"}, "spec": {"containers": [
        {"name": "web", "image": "web:v1-unready"}]}})
    stream = KubectlStream(cluster, "get", "pods", "-w")
    try:
        stream.wait_for("marker")
        api.core.create_namespaced_pod("default", {"metadata": {"name": "web"}, "spec": {"containers": [
            {"name": "web", "image": "web:v1"}]}})
        wait_for(lambda: re.search(r"^web +1/1 +Running", stream.output, re.M), what="web Running")
    finally:
        out = stream.stop()
    lines = rows(out)
    assert lines[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    statuses = [line[2] for line in lines[1:] if line[0] == "web"]
    assert statuses[0] == "Pending" and "ContainerCreating" in statuses and statuses[-1] == "Running"


def test_human_duration_matches_apimachinery():
    assert [human_duration(s) for s in (0, 59, 119, 120, 125, 600, 3600 * 3, 3600 * 7 + 60, 3600 * 30,
                                        3600 * 24 * 3 + 3600, 3600 * 24 * 30)] == \
        ["0s", "59s", "119s", "2m", "2m5s", "10m", "3h", "7h1m", "30h", "3d1h", "30d"]
