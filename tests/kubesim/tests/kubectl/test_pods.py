"""The kubelet's image-driven behaviours (pull errors, crash loops, config errors, readiness, failed Job pods, graceful
deletion) and pod logs,
checked with kubectl and the python client."""

from __future__ import annotations

import time

import pytest
from kubernetes.client.exceptions import ApiException

from tests.kubesim.images import ImageRegistry
from tests.kubesim.tests.kubectl.conftest import raw_watch, status_body, wait_for


def pod(name: str, *images: str, restart: str = "Always", **spec) -> dict:
    names = ["web", "sidecar", "third"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": restart, **spec,
                     "containers": [{"name": names[i], "image": img} for i, img in enumerate(images)]}}


def container_status(api, name: str, index: int = 0):
    st = api.core.read_namespaced_pod(name, "default").status
    return st.container_statuses[index] if st.container_statuses else None


def waiting_reason(api, name: str) -> str | None:
    cs = container_status(api, name)
    return cs.state.waiting.reason if cs and cs.state.waiting else None


def events_for(api, name: str) -> list[tuple[str, str, str]]:
    return [(e.type, e.reason, e.message) for e in sorted(
        api.core.list_namespaced_event("default", field_selector=f"involvedObject.name={name}").items,
        key=lambda e: int(e.metadata.name.rsplit(".", 1)[1], 16))]      # names end in creation unix-nanos


def condition(api, name: str, type_: str):
    return next((c for c in api.core.read_namespaced_pod(name, "default").status.conditions or []
                 if c.type == type_), None)


def test_lifecycle_of_a_healthy_pod(cluster, api):
    """Pending -> scheduled -> ContainerCreating -> Running and Ready, with the kubelet's events."""
    api.core.create_namespaced_pod("default", pod("ok", "web:v1"))
    created = api.core.read_namespaced_pod("ok", "default")
    assert created.status.qos_class == "BestEffort"
    wait_for(lambda: (c := condition(api, "ok", "Ready")) and c.status == "True", what="Ready")
    p = api.core.read_namespaced_pod("ok", "default")
    assert p.spec.node_name == "node-1" and p.status.phase == "Running" and p.status.pod_ip and p.status.host_ip
    cs = p.status.container_statuses[0]
    assert cs.ready and cs.started and cs.restart_count == 0 and cs.state.running.started_at
    assert cs.container_id.startswith("containerd://") and len(cs.container_id) == len("containerd://") + 64
    assert cs.image == "docker.io/library/web:v1" and "@sha256:" in cs.image_id
    assert {c.type for c in p.status.conditions} >= {"PodScheduled", "Initialized", "ContainersReady", "Ready",
                                                    "PodReadyToStartContainers"}
    reasons = [r for _, r, _ in events_for(api, "ok")]
    assert reasons == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]


def test_F1_missing_image_err_image_pull_then_backoff(cluster, api):
    rv = api.core.list_namespaced_pod("default").metadata.resource_version
    api.core.create_namespaced_pod("default", pod("pull", "web:v1-missing"))
    wait_for(lambda: waiting_reason(api, "pull") == "ImagePullBackOff", what="ImagePullBackOff")
    jsonpath = cluster.kubectl("get", "pod", "pull", "-o", "jsonpath={.status.containerStatuses[0].state.waiting"
                                                           ".reason}").stdout
    assert jsonpath in ("ImagePullBackOff", "ErrImagePull")
    wait_for(lambda: len([e for e in events_for(api, "pull") if e[2] == "Error: ErrImagePull"]) and
             [e for e in api.core.list_namespaced_event("default", field_selector="reason=Pulling").items
              if e.count >= 2], what="a second pull attempt")
    _, history = raw_watch(cluster, f"/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}"
                                    f"&timeoutSeconds=1")
    reasons = [cs["state"]["waiting"]["reason"] for e in history
               for cs in e["object"]["status"].get("containerStatuses", []) if "waiting" in cs["state"]]
    compact = [r for i, r in enumerate(reasons) if i == 0 or reasons[i - 1] != r]
    assert compact[:4] == ["ContainerCreating", "ErrImagePull", "ImagePullBackOff", "ErrImagePull"], compact
    p = api.core.read_namespaced_pod("pull", "default")
    cs = p.status.container_statuses[0]
    assert p.status.phase == "Pending" and not cs.ready and not cs.started and cs.restart_count == 0
    messages = {cs["state"]["waiting"]["reason"]: cs["state"]["waiting"].get("message", "") for e in history
                for cs in e["object"]["status"].get("containerStatuses", []) if "waiting" in cs["state"]}
    assert messages["ErrImagePull"].endswith("docker.io/library/web:v1-missing: not found")
    assert messages["ImagePullBackOff"] == 'Back-off pulling image "web:v1-missing"'
    reasons = [(t, r, m.split(":")[0]) for t, r, m in events_for(api, "pull")]
    assert reasons[:6] == [("Normal", "Scheduled", "Successfully assigned default/pull to node-1"),
                           ("Normal", "Pulling", 'Pulling image "web'),
                           ("Warning", "Failed", 'Failed to pull image "web'), ("Warning", "Failed", "Error"),
                           ("Normal", "BackOff", 'Back-off pulling image "web'), ("Warning", "Failed", "Error")]


def test_F2_crash_loop_backoff_with_growing_restarts(cluster, api):
    api.core.create_namespaced_pod("default", pod("crash", "web:v1-crash"))
    wait_for(lambda: (cs := container_status(api, "crash")) and cs.restart_count >= 3, timeout=60,
             what="three restarts")
    seen = wait_for(lambda: (cs := container_status(api, "crash")) and cs.state.waiting and
                    cs.state.waiting.reason == "CrashLoopBackOff" and cs)
    assert api.core.read_namespaced_pod("crash", "default").status.phase == "Running"
    last = seen.last_state.terminated
    assert (last.exit_code, last.reason) == (1, "Error") and last.container_id and last.finished_at
    assert seen.state.waiting.message.startswith("back-off ") and \
        seen.state.waiting.message.endswith(f"restarting failed container=web pod=crash_default("
                                            f"{api.core.read_namespaced_pod('crash', 'default').metadata.uid})")
    backoff = [e for e in api.core.list_namespaced_event("default", field_selector="involvedObject.name=crash,"
                                                                                   "reason=BackOff").items]
    assert backoff and backoff[0].type == "Warning"
    assert backoff[0].message.startswith("Back-off restarting failed container web in pod crash_default(")
    # kubectl logs of a crash-looping container shows the last terminated instance, --previous too
    out = cluster.kubectl("logs", "crash").stdout
    assert out == "starting web:v1-crash\npanic: cannot connect to database\n"
    assert cluster.kubectl("logs", "crash", "--previous").stdout == out


def test_F2_back_off_doubles(cluster, api):
    api.core.create_namespaced_pod("default", pod("crash", "web:v1-crash"))
    messages = set()

    def collect():
        cs = container_status(api, "crash")
        if cs and cs.state.waiting and cs.state.waiting.reason == "CrashLoopBackOff":
            messages.add(cs.state.waiting.message.split()[1])
        return {"10s", "20s"} <= messages
    wait_for(collect, timeout=60, interval=0.01, what="back-off 10s then 20s")


def test_F2_oom_killed(cluster, api):
    api.core.create_namespaced_pod("default", pod("oom", "web:v1-oom"))
    cs = wait_for(lambda: (cs := container_status(api, "oom")) and cs.last_state.terminated and cs)
    assert (cs.last_state.terminated.exit_code, cs.last_state.terminated.reason) == (137, "OOMKilled")


def test_F5_unready_never_passes_readiness(cluster, api):
    api.core.create_namespaced_pod("default", pod("unready", "web:v1-unready"))
    wait_for(lambda: [e for e in events_for(api, "unready") if e[1] == "Unhealthy"], what="Unhealthy event")
    p = api.core.read_namespaced_pod("unready", "default")
    cs = p.status.container_statuses[0]
    assert p.status.phase == "Running" and cs.state.running and cs.started and not cs.ready and cs.restart_count == 0
    ready = condition(api, "unready", "Ready")
    assert (ready.status, ready.reason, ready.message) == ("False", "ContainersNotReady",
                                                           "containers with unready status: [web]")
    assert condition(api, "unready", "ContainersReady").status == "False"
    assert ("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503") in \
        events_for(api, "unready")


def test_slow_image_becomes_ready_after_five_cluster_seconds(kubesim_factory, k8s_version, api_for):
    cluster = kubesim_factory(k8s_version=k8s_version, speed=2.0)   # 5 cluster seconds = 2.5 s real
    api = api_for(cluster)
    rv = api.core.list_namespaced_pod("default").metadata.resource_version
    api.core.create_namespaced_pod("default", pod("slow", "web:v1-slow"))
    wait_for(lambda: (c := condition(api, "slow", "Ready")) and c.status == "True", what="Ready")
    _, events = raw_watch(cluster, f"/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    states = [(("running" in cs["state"]), cs["ready"]) for e in events
              for cs in e["object"]["status"].get("containerStatuses", [])]
    assert (True, False) in states and states[-1] == (True, True)
    cs = events[-1]["object"]["status"]["containerStatuses"][0]
    started = cs["state"]["running"]["startedAt"]
    ready_at = next(c for c in events[-1]["object"]["status"]["conditions"] if c["type"] == "Ready")
    from tests.kubesim.clock import parse_time
    assert parse_time(ready_at["lastTransitionTime"]) - parse_time(started) >= 2.0 - 1.0   # whole-second stamps


def test_F7_failing_job_image_prints_lines_and_exits_1(cluster, api):
    api.core.create_namespaced_pod("default", pod("task", "task:v1-fail", restart="Never"))
    wait_for(lambda: api.core.read_namespaced_pod("task", "default").status.phase == "Failed")
    cs = container_status(api, "task")
    assert (cs.state.terminated.exit_code, cs.state.terminated.reason) == (1, "Error")
    ready = condition(api, "task", "Ready")
    assert (ready.status, ready.reason) == ("False", "PodFailed")
    assert cluster.kubectl("logs", "task").stdout == "starting task:v1-fail\nrunning task\nerror: task failed\n"


@pytest.mark.parametrize("ref,message", [
    ({"secretKeyRef": {"name": "db-creds", "key": "password"}}, 'secret "db-creds" not found'),
    ({"configMapKeyRef": {"name": "app-config", "key": "x"}}, 'configmap "app-config" not found'),
], ids=["secret", "configmap"])
def test_F3_missing_reference_is_create_container_config_error_and_recovers(cluster, api, ref, message):
    body = pod("cfg", "web:v1")
    body["spec"]["containers"][0]["env"] = [{"name": "X", "valueFrom": ref}]
    api.core.create_namespaced_pod("default", body)
    wait_for(lambda: waiting_reason(api, "cfg") == "CreateContainerConfigError")
    cs = container_status(api, "cfg")
    assert cs.state.waiting.message == message and cs.restart_count == 0
    assert api.core.read_namespaced_pod("cfg", "default").status.phase == "Pending"
    assert ("Warning", "Failed", f"Error: {message}") in events_for(api, "cfg")
    logs = cluster.kubectl("logs", "cfg", check=False)
    assert logs.returncode == 1 and logs.stderr.strip() == \
        'Error from server (BadRequest): container "web" in pod "cfg" is waiting to start: CreateContainerConfigError'
    if "secretKeyRef" in ref:
        api.core.create_namespaced_secret("default", {"metadata": {"name": "db-creds"}, "stringData": {"other": "1"}})
        wait_for(lambda: (cs := container_status(api, "cfg")) and cs.state.waiting and
                 cs.state.waiting.message == "couldn't find key password in Secret default/db-creds")
        api.core.patch_namespaced_secret("db-creds", "default", {"stringData": {"password": "pw"}})
    else:
        api.core.create_namespaced_config_map("default", {"metadata": {"name": "app-config"}, "data": {"x": "1"}})
    wait_for(lambda: (c := condition(api, "cfg", "Ready")) and c.status == "True", what="recovered")


@pytest.mark.diverges_on_real("an unbound pod's log is an empty body that the python client returns as None")
def test_F4_unmatched_node_selector_is_unschedulable(cluster, api):
    api.core.create_namespaced_pod("default", pod("nowhere", "web:v1", nodeSelector={"disk": "ssd"}))
    cond = wait_for(lambda: condition(api, "nowhere", "PodScheduled"))
    p = api.core.read_namespaced_pod("nowhere", "default")
    assert (cond.status, cond.reason) == ("False", "Unschedulable") and cond.message.startswith("0/1 nodes are")
    assert p.status.phase == "Pending" and not p.spec.node_name and not p.status.container_statuses
    assert p.status.qos_class == "BestEffort"
    ev = wait_for(lambda: api.core.list_namespaced_event("default", field_selector="involvedObject.name=nowhere").items)
    assert (ev[0].type, ev[0].reason, ev[0].reporting_component) == ("Warning", "FailedScheduling",
                                                                     "default-scheduler")
    # A pod not bound to a node has no log location: 200 with an empty body
    assert api.core.read_namespaced_pod_log("nowhere", "default") == ""


def test_X6_graceful_pod_deletion(cluster, api):
    api.core.create_namespaced_pod("default", pod("bye", "web:v1"))
    wait_for(lambda: (c := condition(api, "bye", "Ready")) and c.status == "True")
    deleted = api.core.delete_namespaced_pod("bye", "default")
    assert deleted.metadata.deletion_timestamp and deleted.metadata.deletion_grace_period_seconds == 30
    wait_for(lambda: not api.core.list_namespaced_pod("default").items, what="pod gone after the kubelet killed it")
    assert ("Normal", "Killing", "Stopping container web") in events_for(api, "bye")


# --- logs ---------------------------------------------------------------------------------------------------

def test_G3_waiting_container_logs_are_400(kubesim_factory, k8s_version, api_for):
    cluster = kubesim_factory(k8s_version=k8s_version, images=ImageRegistry(start_delay=3600))
    api = api_for(cluster)
    api.core.create_namespaced_pod("default", pod("creating", "web:v1"))
    wait_for(lambda: waiting_reason(api, "creating") == "ContainerCreating")
    out = cluster.kubectl("logs", "creating", check=False)
    assert out.returncode == 1
    assert out.stderr.strip() == 'Error from server (BadRequest): container "web" in pod "creating" is waiting to ' \
                                 'start: ContainerCreating'
    with pytest.raises(ApiException) as failed:
        api.core.read_namespaced_pod_log("creating", "default")
    assert failed.value.status == 400 and failed.value.reason == "Bad Request"
    assert status_body(failed.value)["message"] == 'container "web" in pod "creating" is waiting to start: ' \
                                                   'ContainerCreating'


def test_G3_image_pull_waiting_messages(kubesim_factory, k8s_version, api_for):
    cluster = kubesim_factory(k8s_version=k8s_version, speed=4.0)    # ErrImagePull lasts 0.25 s, back-off 2.5 s
    api = api_for(cluster)
    api.core.create_namespaced_pod("default", pod("pull", "web:v1-missing"))
    messages = set()

    def collect():
        try:
            api.core.read_namespaced_pod_log("pull", "default")
        except ApiException as e:
            messages.add(status_body(e)["message"])
        return len(messages & expected) == 2
    expected = {'container "web" in pod "pull" is waiting to start: image can\'t be pulled',
                'container "web" in pod "pull" is waiting to start: trying and failing to pull image'}
    wait_for(collect, timeout=60, interval=0.02, what="both image pull messages")
    assert messages - expected <= {'container "web" in pod "pull" is waiting to start: ContainerCreating',
                                   'container "web" in pod "pull" is not available'}   # before the first status
    assert messages >= {'container "web" in pod "pull" is waiting to start: image can\'t be pulled',
                        'container "web" in pod "pull" is waiting to start: trying and failing to pull image'}


def test_G3_previous_without_a_restart_is_400(cluster, api):
    api.core.create_namespaced_pod("default", pod("ok", "web:v1"))
    wait_for(lambda: (cs := container_status(api, "ok")) and cs.state.running)
    out = cluster.kubectl("logs", "ok", "--previous", check=False)
    assert out.returncode == 1
    assert 'previous terminated container "web" in pod "ok" not found' in out.stderr


def test_G2_multi_container_selection(cluster, api):
    api.core.create_namespaced_pod("default", pod("multi", "web:v1", "proxy:v1"))
    wait_for(lambda: (c := condition(api, "multi", "Ready")) and c.status == "True")
    with pytest.raises(ApiException) as failed:
        api.core.read_namespaced_pod_log("multi", "default")
    assert status_body(failed.value)["message"] == \
        "a container name must be specified for pod multi, choose one of: [web sidecar]"
    assert api.core.read_namespaced_pod_log("multi", "default", container="sidecar") == \
        "starting proxy:v1\nlistening on :8080\n"
    with pytest.raises(ApiException) as unknown:
        api.core.read_namespaced_pod_log("multi", "default", container="nope")
    assert status_body(unknown.value)["message"] == "container nope is not valid for pod multi"
    defaulted = cluster.kubectl("logs", "multi")        # kubectl picks the first container itself
    assert defaulted.stdout == "starting web:v1\nlistening on :8080\n"
    assert 'Defaulted container "web" out of: web, sidecar' in defaulted.stderr
    assert cluster.kubectl("logs", "multi", "-c", "sidecar").stdout == "starting proxy:v1\nlistening on :8080\n"
    both = cluster.kubectl("logs", "multi", "--all-containers", "--prefix").stdout.splitlines()
    assert "[pod/multi/sidecar] listening on :8080" in both and "[pod/multi/web] starting web:v1" in both


def test_G1_tail_since_timestamps_limit(cluster, api):
    api.core.create_namespaced_pod("default", pod("task", "task:v1-fail", restart="Never"))
    wait_for(lambda: api.core.read_namespaced_pod("task", "default").status.phase == "Failed")
    read = api.core.read_namespaced_pod_log
    assert read("task", "default", tail_lines=1) == "error: task failed\n"
    assert cluster.kubectl("logs", "task", "--tail=2").stdout == "running task\nerror: task failed\n"
    assert read("task", "default", limit_bytes=5) == "start"
    stamped = read("task", "default", timestamps=True).splitlines()
    assert len(stamped) == 3 and stamped[0].endswith("Z starting task:v1-fail")
    assert len(stamped[0].split(" ")[0]) == len("2025-01-01T00:00:00.123456789Z")
    assert read("task", "default", since_seconds=3600).count("\n") == 3
    time.sleep(2.2)
    assert read("task", "default", since_seconds=1) == ""
    both = cluster.kubectl("logs", "task", "--since=1s", "--since-time=2025-01-01T00:00:00Z", check=False)
    assert both.returncode != 0


def test_G1_follow_ends_when_the_pod_is_deleted(cluster, api):
    api.core.create_namespaced_pod("default", pod("srv", "web:v1"))
    wait_for(lambda: (cs := container_status(api, "srv")) and cs.state.running)
    resp = api.core.read_namespaced_pod_log("srv", "default", follow=True, _preload_content=False)
    first = resp.readline() if hasattr(resp, "readline") else None
    assert first in (b"starting web:v1\n", None)
    api.core.delete_namespaced_pod("srv", "default", grace_period_seconds=0)
    rest = resp.read()
    assert (first or b"") + rest == b"starting web:v1\nlistening on :8080\n"


def test_F2_restart_back_off_takes_its_scaled_time(kubesim_factory, api_for):
    """At speed 4: the first restart follows the crash at once, the second waits the 10 s back-off (2.5 s)."""
    cluster = kubesim_factory(k8s_version="1.33", speed=4.0)
    api = api_for(cluster)
    api.core.create_namespaced_pod("default", pod("crash", "web:v1-crash"))
    wait_for(lambda: (cs := container_status(api, "crash")) and cs.restart_count == 1, interval=0.02)
    first = time.monotonic()
    wait_for(lambda: (cs := container_status(api, "crash")) and cs.restart_count == 2, interval=0.02)
    assert time.monotonic() - first >= 2.3
