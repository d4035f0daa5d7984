"""Section 14 items 6-7 and the issue's Job acceptance: success, BackoffLimitExceeded, DeadlineExceeded with
`kubectl wait`, per-version condition sequences, delete propagation and `--exec` Jobs whose
output `kubectl logs job/..` prints."""

from __future__ import annotations

import pytest
import yaml

from tests.kubesim.tests.kubectl.conftest import REAL, SPEED, KubectlStream, get_json, raw_watch, wait_for

SUCCESS = ("CompletionsReached", "Reached expected number of succeeded pods")
BACKOFF = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")


def job_yaml(name: str = "migrate", image: str = "app:v1", *, spec: dict | None = None,
             container: dict | None = None) -> str:
    c = {"name": "migrate", "image": image, **(container or {})}
    doc = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
           "spec": {**(spec or {}), "template": {"spec": {"restartPolicy": "Never", "containers": [c]}}}}
    return yaml.safe_dump(doc)


def condition_history(cluster, since_rv: str, name: str = "migrate") -> list[list[tuple[str, str]]]:
    """Every distinct conditions list the Job went through, in order, from its watch events."""
    _, events = raw_watch(cluster, f"/apis/batch/v1/namespaces/default/jobs?watch=1&resourceVersion={since_rv}"
                                   f"&fieldSelector=metadata.name%3D{name}&timeoutSeconds=1")
    seen: list[list[tuple[str, str]]] = []
    for e in events:
        conds = [(c["type"], c.get("reason", "")) for c in e["object"].get("status", {}).get("conditions") or []]
        if conds and (not seen or seen[-1] != conds):
            seen.append(conds)
    return seen


def list_rv(api) -> str:
    return api.batch.list_namespaced_job("default").metadata.resource_version


def test_J3_success_with_kubectl_wait_complete(cluster, api, k8s_version):
    rv = list_rv(api)
    cluster.kubectl("create", "-f", "-", input=job_yaml())
    done = cluster.kubectl("wait", "--for=condition=complete", "job/migrate", "--timeout=60s")
    assert done.stdout.strip() == "job.batch/migrate condition met"
    job = get_json(cluster, "job", "migrate")
    st = job["status"]
    assert st["succeeded"] == 1 and "active" not in st and "failed" not in st          # zero counters are omitted
    assert st["ready"] == 0 and st["terminating"] == 0 and st["uncountedTerminatedPods"] == {}
    assert st["startTime"] <= st["completionTime"]
    history = condition_history(cluster, rv)
    if k8s_version != "1.29":
        assert history == [[("SuccessCriteriaMet", SUCCESS[0])],
                           [("SuccessCriteriaMet", SUCCESS[0]), ("Complete", SUCCESS[0])]]
        assert st["conditions"][1]["message"] == SUCCESS[1]
    else:
        assert history == [[("Complete", "")]]
        assert "message" not in st["conditions"][0]
    pods = api.core.list_namespaced_pod("default", label_selector="batch.kubernetes.io/job-name=migrate").items
    assert len(pods) == 1 and pods[0].status.phase == "Succeeded"
    assert not pods[0].metadata.finalizers, "the tracking finalizer is removed once counted"
    assert pods[0].metadata.labels["batch.kubernetes.io/controller-uid"] == job["metadata"]["uid"]
    assert pods[0].metadata.owner_references[0].kind == "Job" and pods[0].metadata.owner_references[0].controller
    reasons = [e.reason for e in api.core.list_namespaced_event(
        "default", field_selector="involvedObject.name=migrate,involvedObject.kind=Job").items]
    assert reasons == ["SuccessfulCreate", "Completed"]


def test_J2_backoff_limit_exceeded_with_kubectl_wait_failed(cluster, api, k8s_version):
    rv = list_rv(api)
    cluster.kubectl("create", "-f", "-", input=job_yaml(image="app:v1-fail", spec={"backoffLimit": 1}))
    done = cluster.kubectl("wait", "--for=condition=failed", "job/migrate", "--timeout=60s")
    assert done.stdout.strip() == "job.batch/migrate condition met"
    st = get_json(cluster, "job", "migrate")["status"]
    assert st["failed"] == 2, "backoffLimit 1: the Job fails when the 2nd pod fails (strictly greater)"
    assert "succeeded" not in st and "completionTime" not in st
    failed = [c for c in st["conditions"] if c["type"] == "Failed"][0]
    assert (failed["reason"], failed["message"]) == BACKOFF
    history = condition_history(cluster, rv)
    if k8s_version != "1.29":
        assert history == [[("FailureTarget", BACKOFF[0])], [("FailureTarget", BACKOFF[0]), ("Failed", BACKOFF[0])]]
    else:
        assert history == [[("Failed", BACKOFF[0])]]
    pods = api.core.list_namespaced_pod("default", label_selector="job-name=migrate").items
    assert sorted(p.status.phase for p in pods) == ["Failed", "Failed"]
    warning = api.core.list_namespaced_event("default", field_selector="involvedObject.name=migrate,type=Warning")
    assert [(e.reason, e.message) for e in warning.items] == [BACKOFF]


def test_J5_replacement_pods_back_off(kubesim_factory, k8s_version, api_for):
    """The replacement pod comes 10 s (cluster time) after the first failure: 2.5 s real at speed 4."""
    cluster = kubesim_factory(k8s_version=k8s_version, speed=4.0)
    api = api_for(cluster)
    cluster.kubectl("create", "-f", "-", input=job_yaml(image="app:v1-fail", spec={"backoffLimit": 1}))
    cluster.kubectl("wait", "--for=condition=failed", "job/migrate", "--timeout=60s")
    pods = sorted(api.core.list_namespaced_pod("default", label_selector="job-name=migrate").items,
                  key=lambda p: p.metadata.creation_timestamp)
    gap = (pods[1].metadata.creation_timestamp - pods[0].metadata.creation_timestamp).total_seconds()
    assert 2 <= gap < 8, gap     # whole-second timestamps around 2.5 s + the first pod's 0.15 s run


def test_J2_active_deadline_exceeded_deletes_active_pods(cluster, api, k8s_version):
    rv = list_rv(api)
    cluster.kubectl("create", "-f", "-", input=job_yaml(image="app:v1-unready", spec={"activeDeadlineSeconds": 20}))
    cluster.kubectl("wait", "--for=condition=failed", "job/migrate", "--timeout=60s")
    st = get_json(cluster, "job", "migrate")["status"]
    failed = [c for c in st["conditions"] if c["type"] == "Failed"][0]
    assert (failed["reason"], failed["message"]) == DEADLINE
    assert st["failed"] == 1 and "active" not in st
    first = condition_history(cluster, rv)[0]
    assert first == ([("FailureTarget", DEADLINE[0])] if k8s_version != "1.29" else [("Failed", DEADLINE[0])])
    wait_for(lambda: not api.core.list_namespaced_pod("default", label_selector="job-name=migrate").items,
             what="the running pod is deleted")


def test_wait_for_complete_on_failed_job_times_out(cluster):
    cluster.kubectl("create", "-f", "-", input=job_yaml(image="app:v1-fail", spec={"backoffLimit": 0}))
    cluster.kubectl("wait", "--for=condition=failed", "job/migrate", "--timeout=60s")
    late = cluster.kubectl("wait", "--for=condition=complete", "job/migrate", "--timeout=1s", check=False)
    assert late.returncode == 1 and "timed out waiting for the condition on jobs/migrate" in late.stderr


def test_J9_ttl_after_finished_deletes_job_and_pods(cluster, api):
    cluster.kubectl("create", "-f", "-", input=job_yaml(spec={"ttlSecondsAfterFinished": 2}))
    wait_for(lambda: not api.batch.list_namespaced_job("default").items, what="Job deleted by TTL")
    wait_for(lambda: not api.core.list_namespaced_pod("default").items, what="pods deleted with the Job")


def test_X4_kubectl_delete_job_is_background_and_removes_pods(cluster, api):
    cluster.kubectl("create", "-f", "-", input=job_yaml(image="app:v1-unready"))
    wait_for(lambda: api.core.list_namespaced_pod("default", label_selector="job-name=migrate").items)
    out = cluster.kubectl("delete", "job", "migrate")
    assert out.stdout.strip() == 'job.batch "migrate" deleted' and "Warning" not in out.stderr
    wait_for(lambda: not api.core.list_namespaced_pod("default").items, what="pods garbage-collected")


def test_X4_python_delete_job_without_policy_orphans_pods_with_a_warning(cluster, api):
    cluster.kubectl("create", "-f", "-", input=job_yaml(image="app:v1-unready"))
    pod = wait_for(lambda: [p for p in api.core.list_namespaced_pod("default", label_selector="job-name=migrate").items
                            if p.status.phase == "Running"])[0]
    resp = api.batch.delete_namespaced_job("migrate", "default", _preload_content=False)
    assert resp.status == 200
    assert "child pods are preserved by default when jobs are deleted" in resp.headers["Warning"]
    assert resp.headers["Warning"].startswith('299 - "')
    wait_for(lambda: not api.batch.list_namespaced_job("default").items, what="Job gone")
    orphan = wait_for(lambda: (p := api.core.read_namespaced_pod(pod.metadata.name, "default"))
                      and not p.metadata.owner_references and p)
    assert orphan.status.phase == "Running", "orphaned migration pods keep running"


def test_X4_python_delete_job_with_background_policy_has_no_warning(cluster, api):
    from kubernetes import client
    cluster.kubectl("create", "-f", "-", input=job_yaml(image="app:v1-unready"))
    wait_for(lambda: api.core.list_namespaced_pod("default", label_selector="job-name=migrate").items)
    resp = api.batch.delete_namespaced_job("migrate", "default", body=client.V1DeleteOptions(
        propagation_policy="Background"), _preload_content=False)
    assert "Warning" not in resp.headers
    wait_for(lambda: not api.core.list_namespaced_pod("default").items, what="pods garbage-collected")


# --- --exec: real local processes ---------------------------------------------------------------------------

@pytest.fixture
def exec_cluster(request, kubesim_factory, k8s_version, tmp_path):
    if k8s_version == REAL:
        from tests.cluster.world import RealWorld
        world = RealWorld(request.getfixturevalue("real_cluster"), tmp_path / "real" / "kubeconfig", speed=SPEED)
        world.cluster.agent.runtime._exec_mode = True
        return world
    return kubesim_factory(k8s_version=k8s_version, exec_mode=True, speed=SPEED)


def test_G5_exec_job_logs_env_workdir_and_exit_code(exec_cluster, api_for, tmp_path):
    """Acceptance: `kubectl logs job/..` prints the exec'd command's output; env from Secret/ConfigMap refs and
    workingDir reach the process; its exit code becomes the terminated state."""
    cluster = exec_cluster
    api = api_for(cluster)
    (tmp_path / "VERSION").write_text("v42\n")
    api.core.create_namespaced_secret("default", {"metadata": {"name": "db"}, "stringData": {"password": "s3cret"}})
    api.core.create_namespaced_config_map("default", {"metadata": {"name": "cfg"}, "data": {"RAILS_ENV": "staging"}})
    script = 'echo hi; echo "env=$RAILS_ENV pw=$DB_PASSWORD plain=$PLAIN"; echo "version $(cat VERSION)"; exit 3'
    container = {"command": ["sh", "-c", script], "workingDir": str(tmp_path),
                 "env": [{"name": "PLAIN", "value": "x"},
                         {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                 "envFrom": [{"configMapRef": {"name": "cfg"}}]}
    cluster.kubectl("create", "-f", "-", input=job_yaml(spec={"backoffLimit": 0}, container=container))
    cluster.kubectl("wait", "--for=condition=failed", "job/migrate", "--timeout=60s")
    logs = cluster.kubectl("logs", "job/migrate")
    assert logs.stdout == "hi\nenv=staging pw=s3cret plain=x\nversion v42\n"
    pod = api.core.list_namespaced_pod("default", label_selector="job-name=migrate").items[0]
    term = pod.status.container_statuses[0].state.terminated
    assert (term.exit_code, term.reason) == (3, "Error") and pod.status.phase == "Failed"


def test_G4_kubectl_logs_follow_job_streams_until_exit(exec_cluster, api_for):
    cluster = exec_cluster
    api = api_for(cluster)
    script = "echo one; sleep 1; echo two"
    cluster.kubectl("create", "-f", "-", input=job_yaml(container={"command": ["sh", "-c", script]}))
    wait_for(lambda: any(p.status.phase == "Running" for p in
                         api.core.list_namespaced_pod("default", label_selector="job-name=migrate").items))
    stream = KubectlStream(cluster, "logs", "-f", "job/migrate")
    code, out, err = stream.finish(timeout=60)
    assert code == 0, err
    assert out == "one\ntwo\n"
    cluster.kubectl("wait", "--for=condition=complete", "job/migrate", "--timeout=60s")


def test_G5_exec_missing_secret_is_create_container_config_error(exec_cluster, api_for):
    cluster = exec_cluster
    api = api_for(cluster)
    container = {"command": ["sh", "-c", "echo $PW"],
                 "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "later", "key": "pw"}}}]}
    cluster.kubectl("create", "-f", "-", input=job_yaml(container=container))

    def waiting():
        pods = api.core.list_namespaced_pod("default", label_selector="job-name=migrate").items
        cs = pods and pods[0].status.container_statuses
        w = cs and cs[0].state.waiting
        return w if w and w.reason != "ContainerCreating" else None
    w = wait_for(waiting)
    assert (w.reason, w.message) == ("CreateContainerConfigError", 'secret "later" not found')
    api.core.create_namespaced_secret("default", {"metadata": {"name": "later"}, "stringData": {"pw": "ok"}})
    cluster.kubectl("wait", "--for=condition=complete", "job/migrate", "--timeout=60s")
    assert cluster.kubectl("logs", "job/migrate").stdout == "ok\n"


def test_job_command_without_exec_mode_uses_the_image_behaviour(cluster):
    """Without --exec a command is not run: the image decides (default image: a couple of log lines, exit 0)."""
    cluster.kubectl("create", "-f", "-", input=job_yaml(container={"command": ["sh", "-c", "exit 3"]}))
    cluster.kubectl("wait", "--for=condition=complete", "job/migrate", "--timeout=60s")
    assert cluster.kubectl("logs", "job/migrate").stdout == "starting app:v1\ndone\n"


def test_J7_on_failure_restarts_in_place_until_the_backoff_limit(cluster, api):
    """restartPolicy OnFailure: the same pod restarts (restartCount), and when the restarts reach backoffLimit the
    controller fails the Job and deletes the pod, so its logs are gone."""
    doc = yaml.safe_load(job_yaml(image="app:v1-fail", spec={"backoffLimit": 2}))
    doc["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(doc))
    pod_names = set()

    def failed():
        pod_names.update(p.metadata.name for p in api.core.list_namespaced_pod("default").items)
        return any(c.type == "Failed" for c in api.batch.read_namespaced_job("migrate", "default").status.conditions
                   or [])
    wait_for(failed, timeout=90, interval=0.02, what="Job Failed")
    job = api.batch.read_namespaced_job("migrate", "default")
    cond = next(c for c in job.status.conditions if c.type == "Failed")
    assert (cond.reason, cond.message) == BACKOFF
    assert len(pod_names) == 1, "OnFailure restarts the container in the same pod"
    wait_for(lambda: not api.core.list_namespaced_pod("default").items, what="the restarting pod is deleted")


def test_PW6_python_watch_streams_log_lines_of_an_exec_job(exec_cluster, api_for):
    from kubernetes import watch
    cluster = exec_cluster
    api = api_for(cluster)
    cluster.kubectl("create", "-f", "-", input=job_yaml(container={"command": ["sh", "-c",
                                                                               "echo a; sleep 0.5; echo b"]}))
    pod = wait_for(lambda: [p for p in api.core.list_namespaced_pod("default").items
                            if p.status.phase == "Running"])[0].metadata.name
    lines = list(watch.Watch().stream(api.core.read_namespaced_pod_log, pod, "default", follow=True))
    assert lines == ["a", "b"]


def test_J2_J9_deadline_and_ttl_take_their_scaled_time(kubesim_factory, api_for):
    """At speed 4: activeDeadlineSeconds 12 fails the Job about 3 s after it started, ttlSecondsAfterFinished 8
    deletes it about 2 s after that; neither fires early."""
    import time
    cluster = kubesim_factory(k8s_version="1.33", speed=4.0)
    api = api_for(cluster)
    start = time.monotonic()
    cluster.kubectl("create", "-f", "-", input=job_yaml(image="app:v1-unready", spec={
        "activeDeadlineSeconds": 12, "ttlSecondsAfterFinished": 8}))
    # Timed by polling in-process: a kubectl process start-up under load would shift the TTL's measured start.
    wait_for(lambda: any(c.type == "Failed" and c.status == "True"
                         for c in (api.batch.read_namespaced_job("migrate", "default").status.conditions or [])),
             timeout=60, interval=0.02, what="the Failed condition")
    failed_after = time.monotonic() - start
    assert 2.7 <= failed_after < 20, failed_after
    assert api.batch.list_namespaced_job("default").items, "the TTL has not elapsed yet"
    wait_for(lambda: not api.batch.list_namespaced_job("default").items, what="TTL deletion")
    deleted_after = time.monotonic() - start - failed_after
    assert 1.5 <= deleted_after < 20, deleted_after
