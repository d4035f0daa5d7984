"""The real control plane and the node agent together behave like a one-node cluster: the node is Ready with a fresh
Lease, Deployments roll out, a crashing image crash-loops, Job processes run with readable logs, init containers and
sidecars run in order, and deleted pods go away."""

from __future__ import annotations

import json
import time

import pytest

from tests.kubesim.events import NODE

pytestmark = pytest.mark.real_cluster


def wait_for(fn, *, timeout: float = 90.0, what: str = ""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: last value {last!r}")


def get(cluster, *args: str) -> dict:
    r = cluster.kubectl("get", *args, "-o", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def pod_of(cluster, ns: str, selector: str) -> dict | None:
    items = get(cluster, "pods", "-n", ns, "-l", selector)["items"]
    return items[0] if items else None


def test_the_node_is_ready_schedulable_and_renews_its_lease(real_cluster):
    node = get(real_cluster, "node", NODE)
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions["Ready"] == "True"
    assert not node["spec"].get("taints"), "node-lifecycle left a taint on a Ready node"
    lease = get(real_cluster, "lease", "-n", "kube-node-lease", NODE)
    assert lease["spec"]["holderIdentity"] == NODE
    assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
    first = lease["spec"]["renewTime"]
    wait_for(lambda: get(real_cluster, "lease", "-n", "kube-node-lease", NODE)["spec"]["renewTime"] != first,
             timeout=30, what="a lease renewal")


def test_a_deployment_rolls_out_and_rolls_to_a_new_image(real_cluster, cluster_namespace):
    ns = cluster_namespace
    r = real_cluster.kubectl("create", "deployment", "web", "--image=web:v1", "--replicas=2", "-n", ns)
    assert r.returncode == 0, r.stderr
    r = real_cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=120s", timeout=130)
    assert r.returncode == 0 and "successfully rolled out" in r.stdout, r.stdout + r.stderr
    assert real_cluster.kubectl("set", "image", "deployment/web", "web=web:v2", "-n", ns).returncode == 0
    r = real_cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=120s", timeout=130)
    assert r.returncode == 0, r.stdout + r.stderr
    pods = get(real_cluster, "pods", "-n", ns, "-l", "app=web")["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert {p["spec"]["containers"][0]["image"] for p in live} == {"web:v2"}
    assert all(p["status"]["phase"] == "Running" for p in live)
    assert len(get(real_cluster, "replicasets", "-n", ns)["items"]) == 2


def test_a_crashing_image_crash_loops_with_back_off(real_cluster, cluster_namespace):
    ns = cluster_namespace
    assert real_cluster.kubectl("create", "deployment", "api", "--image=api:1-crash", "-n", ns).returncode == 0

    def looping():
        pod = pod_of(real_cluster, ns, "app=api")
        cs = ((pod or {}).get("status", {}).get("containerStatuses") or [{}])[0]
        waiting = cs.get("state", {}).get("waiting", {})
        return cs if waiting.get("reason") == "CrashLoopBackOff" else None
    cs = wait_for(looping, what="CrashLoopBackOff")
    assert cs["restartCount"] >= 1
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert "back-off" in cs["state"]["waiting"]["message"]
    pod = pod_of(real_cluster, ns, "app=api")
    r = real_cluster.kubectl("logs", pod["metadata"]["name"], "-n", ns, "--previous")
    assert r.returncode == 0 and "panic: cannot connect to database" in r.stdout, r.stderr


def test_a_job_runs_its_command_as_a_process_and_kubectl_logs_reads_it(real_cluster, cluster_namespace):
    ns = cluster_namespace
    real_cluster.agent.runtime._exec_mode = True
    r = real_cluster.kubectl("create", "job", "hello", "--image=busybox:1.36", "-n", ns, "--",
                             "sh", "-c", "echo hello from $0; echo second line")
    assert r.returncode == 0, r.stderr
    r = real_cluster.kubectl("wait", "--for=condition=complete", "job/hello", "-n", ns, "--timeout=120s", timeout=130)
    assert r.returncode == 0, r.stdout + r.stderr
    r = real_cluster.kubectl("logs", "job/hello", "-n", ns)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["hello from sh", "second line"]


def test_a_failing_job_process_reports_its_exit_code(real_cluster, cluster_namespace):
    ns = cluster_namespace
    real_cluster.agent.runtime._exec_mode = True
    manifest = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "boom"},
                "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
                    {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", "echo broken >&2; exit 3"]}]}}}}
    r = real_cluster.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(manifest))
    assert r.returncode == 0, r.stderr
    r = real_cluster.kubectl("wait", "--for=condition=failed", "job/boom", "-n", ns, "--timeout=120s", timeout=130)
    assert r.returncode == 0, r.stdout + r.stderr
    pod = pod_of(real_cluster, ns, "job-name=boom")
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (3, "Error")
    assert pod["status"]["phase"] == "Failed"
    assert real_cluster.kubectl("logs", "job/boom", "-n", ns).stdout == "broken\n"


def test_kubectl_logs_follow_streams_a_running_process_to_its_end(real_cluster, cluster_namespace):
    ns = cluster_namespace
    real_cluster.agent.runtime._exec_mode = True
    r = real_cluster.kubectl("create", "job", "slow", "--image=busybox:1.36", "-n", ns, "--",
                             "sh", "-c", "echo one; sleep 2; echo two")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: (pod_of(real_cluster, ns, "job-name=slow") or {}).get("status", {}).get("phase") == "Running",
             what="the job pod running")
    r = real_cluster.kubectl("logs", "-f", "job/slow", "-n", ns, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["one", "two"]


def test_the_python_client_reads_pod_logs_through_the_api_server(real_cluster, cluster_namespace):
    from kubernetes import client
    ns = cluster_namespace
    assert real_cluster.kubectl("create", "deployment", "web", "--image=web:v1", "-n", ns).returncode == 0
    pod = wait_for(lambda: (p := pod_of(real_cluster, ns, "app=web")) and p["status"].get("phase") == "Running" and p,
                   what="a running pod")
    api_client = real_cluster.api_client()
    try:
        text = client.CoreV1Api(api_client).read_namespaced_pod_log(pod["metadata"]["name"], ns)
    finally:
        api_client.close()
    assert text == "starting web:v1\nlistening on :8080\n"


def test_init_containers_run_in_order_and_a_sidecar_keeps_running(real_cluster, cluster_namespace):
    ns = cluster_namespace
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "initContainers": [{"name": "setup", "image": "tool:v1"},
                           {"name": "proxy", "image": "proxy:v1", "restartPolicy": "Always"}],
        "containers": [{"name": "app", "image": "app:v1"}]}}
    assert real_cluster.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(pod)).returncode == 0
    ready = wait_for(lambda: (p := get(real_cluster, "pod", "p", "-n", ns))["status"].get("phase") == "Running"
                     and all(c["ready"] for c in p["status"].get("containerStatuses", [])) and p, what="pod Running")
    init = {c["name"]: c for c in ready["status"]["initContainerStatuses"]}
    assert init["setup"]["state"]["terminated"]["reason"] == "Completed"
    assert "running" in init["proxy"]["state"] and init["proxy"]["started"]
    setup_done = init["setup"]["state"]["terminated"]["finishedAt"]
    assert init["proxy"]["state"]["running"]["startedAt"] >= setup_done
    conditions = {c["type"]: c["status"] for c in ready["status"]["conditions"]}
    assert conditions["Initialized"] == conditions["Ready"] == "True"


def test_a_job_with_a_sidecar_completes_and_the_sidecar_stops(real_cluster, cluster_namespace):
    ns = cluster_namespace
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "side"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never",
        "initContainers": [{"name": "proxy", "image": "proxy:v1", "restartPolicy": "Always"}],
        "containers": [{"name": "task", "image": "task:v1"}]}}}}
    assert real_cluster.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(job)).returncode == 0
    r = real_cluster.kubectl("wait", "--for=condition=complete", "job/side", "-n", ns, "--timeout=120s", timeout=130)
    assert r.returncode == 0, r.stdout + r.stderr
    pod = pod_of(real_cluster, ns, "job-name=side")
    assert pod["status"]["phase"] == "Succeeded"
    assert "terminated" in pod["status"]["initContainerStatuses"][0]["state"]


def test_a_deleted_pod_is_terminated_and_removed(real_cluster, cluster_namespace):
    ns = cluster_namespace
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gone"},
           "spec": {"containers": [{"name": "c", "image": "web:v1"}]}}
    assert real_cluster.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(pod)).returncode == 0
    wait_for(lambda: get(real_cluster, "pod", "gone", "-n", ns)["status"].get("phase") == "Running", what="Running")
    r = real_cluster.kubectl("delete", "pod", "gone", "-n", ns, "--timeout=60s", timeout=70)
    assert r.returncode == 0, r.stderr
    assert real_cluster.kubectl("get", "pod", "gone", "-n", ns).returncode != 0
    events = get(real_cluster, "events", "-n", ns, "--field-selector", "involvedObject.name=gone")["items"]
    assert {"Scheduled", "Pulling", "Started", "Killing"} <= {e["reason"] for e in events}
