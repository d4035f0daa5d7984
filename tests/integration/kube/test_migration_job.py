"""The migration Job on kubesim over real HTTP: success with live logs, and every failure mode failing fast."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes.client.exceptions import ApiException

from shipit.kube.migration_job import MigrationJob
from shipit.kube.pods import PodState
from tests.integration.kube.conftest import APP_IMAGE, create_deployment, deployment_manifest
from tests.support.kube_snapshots import make_config


def run_job(kube, *, tag: str, cfg=None, release="r0001", cancel=None, **kw):
    cfg = cfg or make_config()
    lines: list[str] = []
    job = MigrationJob(kube, cfg, image=f"{APP_IMAGE}:{tag}", release_id=release, on_log=lines.append, **kw)
    outcome = job.run(cancel=cancel)
    return job, outcome, lines


def test_success_streams_logs_and_creates_the_job_as_specified(kube):
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    job, outcome, lines = run_job(kube, tag="abc")
    assert outcome.succeeded and outcome.failure is None, outcome.failure and outcome.failure.render()
    assert any("starting" in line for line in lines) and lines[-1] == "done"
    assert outcome.log_tail[-1] == "done"
    stored = kube.get_json(kube.batch.read_namespaced_job, job.name, "default")
    spec = stored["spec"]
    assert (spec["backoffLimit"], spec["template"]["spec"]["restartPolicy"]) == (0, "Never")
    assert [c["name"] for c in spec["template"]["spec"]["containers"]] == ["web"]
    assert stored["metadata"]["labels"]["shipit.dev/release"] == "r0001"


def test_non_zero_exit_shows_log_tail_and_events(kube):
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    _, outcome, lines = run_job(kube, tag="abc-fail")
    f = outcome.failure
    assert not outcome.succeeded and f is not None
    assert (f.state, f.exit_code, f.container) == (PodState.FAILED.value, 1, "web")
    assert "error: task failed" in f.log_tail
    assert f.events, "the pod's events are part of the diagnosis"
    assert "error: task failed" in f.render() and "exit code 1" in f.render()


def test_missing_image_fails_within_a_second_of_the_pod_status(kube):
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    _, outcome, _ = run_job(kube, tag="abc-missing")
    f = outcome.failure
    assert f.state == PodState.IMAGE_PULL.value and "ErrImagePull" in f.why
    assert outcome.duration < 3.0  # pull failure after the kubelet's start delay, not a back-off cycle
    assert any("Failed" in e for e in f.events)
    assert "pushed" in f.hint


def test_missing_secret_is_a_config_error(kube):
    create_deployment(kube, deployment_manifest(env_from_secret="shop-db"), wait_ready=False)
    _, outcome, _ = run_job(kube, tag="abc")
    f = outcome.failure
    assert f.state == PodState.CONFIG_ERROR.value and "shop-db" in f.why


def test_oom_killed(kube):
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    _, outcome, _ = run_job(kube, tag="abc-oom")
    assert outcome.failure.state == PodState.OOM_KILLED.value and outcome.failure.exit_code == 137


def test_unschedulable_beyond_grace(kube):
    manifest = deployment_manifest()
    manifest["spec"]["template"]["spec"]["nodeSelector"] = {"pool": "gpu"}
    create_deployment(kube, manifest, wait_ready=False)
    _, outcome, _ = run_job(kube, tag="abc", unschedulable_grace=0.5)
    f = outcome.failure
    assert f.state == PodState.UNSCHEDULABLE.value
    assert outcome.duration < 5.0


def test_evicted_pod(kubesim, kube):
    from tests.kubesim.images import ImageBehaviour
    from tests.kubesim.resources import PODS

    kubesim.images.add(f"{APP_IMAGE}:forever", ImageBehaviour(exit_code=None, log_lines=("migrating",)))
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    cfg = make_config()
    job = MigrationJob(kube, cfg, image=f"{APP_IMAGE}:forever", release_id="r0009")
    result: list = []
    t = threading.Thread(target=lambda: result.append(job.run()))
    t.start()
    pod = None
    deadline = time.monotonic() + 10
    while pod is None and time.monotonic() < deadline:
        items, _ = kube.list_json(kube.core.list_namespaced_pod, "default", label_selector=f"batch.kubernetes.io/job-name={job.name}")
        running = [p for p in items if (p.get("status") or {}).get("phase") == "Running"]
        pod = running[0] if running else None
        time.sleep(0.05)
    assert pod is not None

    def evict(p: dict) -> None:
        p["status"].update(phase="Failed", reason="Evicted", message="The node was low on resource: memory. ")

    kubesim.store.mutate(PODS, "default", pod["metadata"]["name"], evict, subresource="status")
    t.join(10)
    f = result[0].failure
    assert f.state == PodState.EVICTED.value and "low on resource" in f.why


def test_deadline_exceeded(kubesim, kube):
    from tests.kubesim.images import ImageBehaviour

    kubesim.images.add(f"{APP_IMAGE}:slow", ImageBehaviour(exit_code=None, log_lines=("migrating big table",)))
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    _, outcome, lines = run_job(kube, tag="slow", cfg=make_config(timeout=1))
    f = outcome.failure
    assert "DeadlineExceeded" in f.why
    assert "migration.timeout" in f.hint
    assert "migrating big table" in lines


def test_cancel_deletes_the_job_with_background_propagation(kubesim, kube):
    from tests.kubesim.images import ImageBehaviour

    kubesim.images.add(f"{APP_IMAGE}:forever", ImageBehaviour(exit_code=None, log_lines=("migrating",)))
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    cancel = threading.Event()
    seen: list[str] = []

    def on_log(line: str) -> None:
        seen.append(line)
        cancel.set()

    job = MigrationJob(kube, make_config(), image=f"{APP_IMAGE}:forever", release_id="r0003", on_log=on_log)
    outcome = job.run(cancel=cancel)
    assert not outcome.succeeded and "deleted Job" in outcome.failure.why and "Background" in outcome.failure.why
    with pytest.raises(ApiException) as e:
        kube.get_json(kube.batch.read_namespaced_job, job.name, "default")
    assert e.value.status == 404
    deadline = time.monotonic() + 10
    while True:  # the pod goes too (deleted with the Job, not orphaned)
        items, _ = kube.list_json(kube.core.list_namespaced_pod, "default", label_selector=f"batch.kubernetes.io/job-name={job.name}")
        if all(p["metadata"].get("deletionTimestamp") for p in items):
            break
        assert time.monotonic() < deadline, items
        time.sleep(0.05)


def test_rerun_of_the_same_release_adopts_its_job(kube):
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    _, first, _ = run_job(kube, tag="abc", release="r0005")
    _, second, _ = run_job(kube, tag="abc", release="r0005")
    assert first.succeeded and second.succeeded


@pytest.mark.api_faults
@pytest.mark.parametrize(
    "fault",
    [
        dict(method="GET", path_regex=r"/api/v1/namespaces/default/pods$", status=429, count=2, retry_after=1),
        dict(method="GET", path_regex=r"/apis/batch/v1/namespaces/default/jobs$", status=500, count=2),
    ],
    ids=["429-retry-after", "500"],
)
def test_api_faults_are_retried(kubesim, kube, fault):
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    kubesim.faults.add(**fault)
    _, outcome, _ = run_job(kube, tag="abc-fail")
    assert outcome.failure.exit_code == 1 and "error: task failed" in outcome.failure.log_tail


@pytest.mark.api_faults
def test_dropped_watches_and_expired_resource_versions_mid_watch(kubesim, kube):
    """A dropped stream resumes from the last RV; a 410 makes the watch re-list; the outcome is unchanged."""
    from tests.kubesim.images import ImageBehaviour

    kubesim.images.add(f"{APP_IMAGE}:twosec", ImageBehaviour(exit_code=1, run_seconds=1.5, log_lines=("step 1", "boom")))
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    kubesim.faults.drop_watches(after_seconds=0.3, count=2)
    job = MigrationJob(kube, make_config(), image=f"{APP_IMAGE}:twosec", release_id="r0011")
    timer = threading.Timer(0.8, kubesim.faults.expire_resource_versions)
    timer.start()
    outcome = job.run()
    timer.cancel()
    assert outcome.failure.exit_code == 1 and "boom" in outcome.failure.log_tail


@pytest.mark.api_faults
def test_faults_injected_once_the_migration_runs(kubesim, kube):
    """429 and 500 on the resumed watch requests, dropped streams and a 410, all after the pod has started: the
    watch retries, resumes and re-lists, and the outcome is the pod's real one."""
    from tests.kubesim.images import ImageBehaviour

    kubesim.images.add(f"{APP_IMAGE}:midway", ImageBehaviour(exit_code=1, run_seconds=4.0, log_lines=("step 1", "boom")))
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    kubesim.faults.drop_watches(after_seconds=1.0, count=2)  # the job and pod watches, cut while the pod runs

    def on_log(line: str) -> None:
        if line == "step 1":
            kubesim.faults.add(method="GET", path_regex=r"/pods\?.*watch=", status=429, count=1, retry_after=1)
            kubesim.faults.add(method="GET", path_regex=r"/jobs\?.*watch=", status=500, count=2)
            kubesim.faults.expire_resource_versions()

    job = MigrationJob(kube, make_config(), image=f"{APP_IMAGE}:midway", release_id="r0012", on_log=on_log)
    outcome = job.run()
    assert outcome.failure.exit_code == 1 and outcome.failure.log_tail[-2:] == ("step 1", "boom")
    assert outcome.duration >= 4.0  # not cut short by the faults
    assert kubesim.faults.pending() == 0, "every injected fault was hit mid-watch"


def test_failure_shows_the_last_25_log_lines(kubesim, kube):
    from tests.kubesim.images import ImageBehaviour

    lines = tuple(f"line {i}" for i in range(1, 41))
    kubesim.images.add(f"{APP_IMAGE}:chatty", ImageBehaviour(exit_code=2, run_seconds=0.3, log_lines=lines))
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    _, outcome, streamed = run_job(kube, tag="chatty")
    assert streamed == list(lines)  # all of it live
    assert outcome.failure.log_tail == lines[-25:] and outcome.failure.exit_code == 2
    assert "last 25 log lines" in outcome.failure.render()


def test_timeout_deletes_the_job_and_says_so(kubesim, kube):
    from tests.kubesim.images import ImageBehaviour

    kubesim.images.add(f"{APP_IMAGE}:forever", ImageBehaviour(exit_code=None, log_lines=("migrating",)))
    create_deployment(kube, deployment_manifest(), wait_ready=False)
    job = MigrationJob(kube, make_config(), image=f"{APP_IMAGE}:forever", release_id="r0013")
    outcome = job.run(timeout=1.0)
    f = outcome.failure
    assert not outcome.succeeded and f.why.startswith("Timeout")
    assert f"shipit deleted Job {job.name} (Background propagation)" in f.why
    assert "schema_migrations" in f.hint
    with pytest.raises(ApiException) as e:
        kube.get_json(kube.batch.read_namespaced_job, job.name, "default")
    assert e.value.status == 404


def test_log_stream_cut_mid_migration_resumes_without_repeats():
    """The follow stream is cut (mid-chunk, then cleanly) while the container runs: it is resumed with timestamps
    and sinceSeconds, every line is shown once, and it stops once the container has finished."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from kubernetes import client

    from shipit.kube.client import Kube
    from shipit.kube.job_logs import LogFollower

    lines = ["2026-01-01T00:00:01.5Z one", "2026-01-01T00:00:02.123456789Z two", "2026-01-01T00:00:02.123456789Z two-b",
             "2026-01-01T00:00:03Z three", "2026-01-01T00:00:04.1Z four"]
    plan = [(lines[:2], "cut"), (lines[:4], "end"), (lines, "end"), (lines, "end"), (lines, "end")]
    paths: list[str] = []
    finished = threading.Event()

    class Logs(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            paths.append(self.path)
            send, how = plan[min(len(paths), len(plan)) - 1]
            if len(paths) >= 3:
                finished.set()  # the pod watch has seen the container terminate
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in send:
                data = (line + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.write(b"40\r\npartial" if how == "cut" else b"0\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Logs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        conf = client.Configuration()
        conf.host = f"http://127.0.0.1:{server.server_port}"
        shown: list[str] = []
        follower = LogFollower(Kube(client.ApiClient(conf), "shop"), "p", "web", shown.append, finished.is_set)
        assert follower.done.wait(10)
        assert shown == ["one", "two", "two-b", "three", "four"] and list(follower.lines) == shown
        assert not follower.failed and len(paths) == 4
        assert all("follow=true" in p and "timestamps=true" in p and "container=web" in p for p in paths)
        assert "sinceSeconds" not in paths[0] and all("sinceSeconds=" in p for p in paths[1:])
    finally:
        server.shutdown()
