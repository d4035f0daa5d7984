"""`python -m tests.kubesim` as a separate process, and fault injection over HTTP (/kubesim/faults) as clients see
it: kubectl's Retry-After handling, Status errors from injected 5xx, cut watch streams and expired resourceVersions."""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from tests.kubesim.faults import FaultClient
from tests.kubesim.fixture import start_process
from tests.kubesim.tests.kubectl.conftest import REAL, status_body, wait_for


class Process:
    def __init__(self, kubeconfig: Path, *args: str):
        self.kubeconfig = kubeconfig
        self.proc, self.url = start_process(kubeconfig, *args)
        self.cache = kubeconfig.parent / "kubecache"

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        import os
        env = {**os.environ, "KUBECACHEDIR": str(self.cache), "KUBECONFIG": str(self.kubeconfig)}
        proc = subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=60, env=env, input=input)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)


@pytest.fixture
def process(tmp_path, k8s_version):
    if k8s_version == REAL:
        pytest.skip("runs kubesim as a process and injects faults: kubesim only")
    p = Process(tmp_path / "kubeconfig", "--k8s-version", k8s_version, "--speed", "20", "--exec")
    yield p
    if p.proc.poll() is None:
        p.proc.kill()
        p.proc.wait(5)


@pytest.fixture
def core(process):
    api_client = config.new_client_from_config(str(process.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


def test_process_serves_kubectl_and_python_and_stops_on_sigterm(process, core, k8s_version):
    assert process.url.startswith("http://127.0.0.1:")
    kc = yaml.safe_load(Path(process.kubeconfig).read_text())
    assert kc["clusters"][0]["cluster"]["server"] == process.url and kc["current-context"] == "kubesim"
    version = json.loads(process.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["minor"] == k8s_version.split(".")[1]
    core.create_namespaced_config_map("default", {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    assert process.kubectl("get", "cm", "cfg", "-o", "jsonpath={.data.a}").stdout == "1"
    assert process.stop() == 0


def test_process_exec_mode_runs_job_commands(process):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
           "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "migrate", "image": "app:v1", "command": ["sh", "-c", "echo migrated; echo err >&2"]}]}}}}
    process.kubectl("create", "-f", "-", input=json.dumps(job))
    process.kubectl("wait", "--for=condition=complete", "job/migrate", "--timeout=60s")
    assert process.kubectl("logs", "job/migrate").stdout == "migrated\nerr\n"


def test_process_rejects_an_unknown_version(tmp_path):
    with pytest.raises(RuntimeError, match="invalid choice: '1.20'"):
        start_process(tmp_path / "kc", "--k8s-version", "1.20")


def test_faults_429_with_retry_after_is_retried_by_kubectl(process):
    faults = FaultClient(process.url)
    faults.add(method="GET", path_regex="/configmaps", status=429, count=2, retry_after=1)
    out = process.kubectl("get", "cm", "-v=6")
    assert out.stderr.count("429 Too Many Requests") == 2 and "200 OK" in out.stderr.splitlines()[-2]
    assert "No resources found" in out.stderr


def test_faults_500_is_a_status_error_for_kubectl_and_python(process, core):
    faults = FaultClient(process.url)
    faults.add(method="GET", path_regex="/api/v1/namespaces/default/configmaps", status=500, count=1)
    out = process.kubectl("get", "cm", check=False)
    assert out.returncode == 1
    assert "Error from server (InternalError): Internal error occurred: injected by kubesim faults" in out.stderr
    faults.add(method="POST", path_regex="/configmaps", status=503, count=1)
    with pytest.raises(ApiException) as failed:
        core.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    assert failed.value.status == 503 and status_body(failed.value)["reason"] == "ServiceUnavailable"
    assert core.create_namespaced_config_map("default", {"metadata": {"name": "x"}}).metadata.name == "x"
    # urllib3 (the python client's transport) honours Retry-After itself for idempotent requests only, so a
    # rate-limited POST reaches the caller with the header and the Status details.
    faults.add(method="POST", path_regex="/configmaps", status=429, count=1, retry_after=7)
    with pytest.raises(ApiException) as limited:
        core.create_namespaced_config_map("default", {"metadata": {"name": "y"}})
    assert limited.value.status == 429 and limited.value.headers["Retry-After"] == "7"
    assert status_body(limited.value)["details"]["retryAfterSeconds"] == 7


def test_faults_403_stands_in_for_an_rbac_refusal_of_one_object(process, core):
    core.create_namespaced_secret("default", {"metadata": {"name": "db"}, "stringData": {"pw": "s3cret-pw"}})
    core.create_namespaced_secret("default", {"metadata": {"name": "other"}, "stringData": {"pw": "0ther-pw"}})
    FaultClient(process.url).add(method="GET", path_regex="/secrets/db$", status=403, count=1)
    with pytest.raises(ApiException) as refused:
        core.read_namespaced_secret("db", "default")
    assert refused.value.status == 403 and status_body(refused.value)["reason"] == "Forbidden"
    assert core.read_namespaced_secret("other", "default").metadata.name == "other"
    assert core.read_namespaced_secret("db", "default").metadata.name == "db"  # count=1: the next read is allowed


def test_faults_cleared_and_bad_specs_rejected(process, core):
    faults = FaultClient(process.url)
    faults.add(status=500, count=5)
    faults.clear()
    assert core.list_namespaced_config_map("default").items == []
    req = urllib.request.Request(process.url + "/kubesim/faults", data=b'{"action": "explode"}', method="POST",
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(req, timeout=10)
    assert bad.value.code == 400 and json.loads(bad.value.read())["reason"] == "BadRequest"


def test_faults_dropped_watch_is_resumed_by_python_watch(process, core):
    """A stream closed by the server is re-opened from the last seen resourceVersion."""
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    FaultClient(process.url).drop_watches(after_seconds=0.5, count=1)
    calls = []

    @functools.wraps(core.list_namespaced_config_map)
    def lister(*args, **kwargs):
        calls.append(kwargs.get("resource_version"))
        return core.list_namespaced_config_map(*args, **kwargs)
    def create_after_reconnect():
        wait_for(lambda: len(calls) >= 2, what="the watch to reconnect")
        core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    creator = threading.Thread(target=create_after_reconnect, daemon=True)
    creator.start()
    names = []
    w = watch.Watch()
    for event in w.stream(lister, "default", _request_timeout=60):
        names.append((event["type"], event["object"].metadata.name))
        if len(names) == 2:
            w.stop()
    creator.join(5)
    assert names == [("ADDED", "a"), ("ADDED", "b")]
    assert calls[0] is None and calls[1] is not None, "the second request resumes from the last resourceVersion"


def test_faults_expired_resource_versions_over_http(process, core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})     # rv is now behind
    FaultClient(process.url).expire_resource_versions()
    with pytest.raises(ApiException) as failed:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=rv):
            pass
    assert failed.value.status == 410 and "Expired" in failed.value.reason
