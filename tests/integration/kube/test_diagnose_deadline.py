"""`shipit diagnose` when its sources do not answer: a Kubernetes API that accepts connections and never replies, and
a database port that refuses them. Every source has a deadline; what did not answer is skipped with a note, never
reported as fine, and the command still answers (exit 1, one JSON object)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shipit.core import config as config_mod
from shipit.report.diagnose.run import diagnose

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def silent_api():
    """A TCP server that accepts and then says nothing (a hung API server or a black-holed proxy)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield server.getsockname()[1]
    stop.set()
    t.join(2)
    for c in held:
        c.close()
    server.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _config(tmp_path: Path, api_port: int) -> Path:
    repo = tmp_path / "app"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{api_port}"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t0ken-not-shown"}}],
    }))
    path = tmp_path / "shipit.yaml"
    path.write_text("\n".join([
        "app: shop", f"repo: {repo}", "kubernetes:", f"  kubeconfig: {kubeconfig}", "image:",
        "  repository: registry.local/shop", "deployments:", "  - name: web", "migration:", "  from_deployment: web",
        "  container: web", "database:", f"  url: mysql://root:s3cret-pw@127.0.0.1:{_closed_port()}/shop", "",
    ]))
    return path


def test_sources_that_do_not_answer_are_skipped_within_the_budget(tmp_path, silent_api):
    cfg = config_mod.load(_config(tmp_path, silent_api))
    report = diagnose(cfg, since=3600, budget=5.0)  # 2.5 s for the sources after the start-up margin
    assert report.elapsed_s < 5.0
    skipped = {s.section.value: s.note for s in report.unchecked}
    assert set(skipped) == {"release", "kubernetes", "database", "schema_drift"}, skipped
    assert skipped["release"] == "Kubernetes: no answer within 2.5s"
    assert "unreachable" in skipped["database"] and "s3cret-pw" not in skipped["database"]
    assert "serving commit is unknown" in skipped["schema_drift"]
    assert not report.ok and report.findings == () and report.causes == ()
    assert "nothing wrong found; not checked: Release, Kubernetes, Database, Schema drift" in report.render_text()


def test_the_command_exits_1_with_one_json_object_and_no_secret(tmp_path, silent_api):
    path = _config(tmp_path, silent_api)
    begun = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "shipit.cli", "diagnose", "--config", str(path), "--output", "json"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60, env={**os.environ, "CI": "true"})
    wall = time.monotonic() - begun
    assert r.returncode == 1, r.stdout + r.stderr
    assert wall < 10.0, f"the whole process took {wall:.1f}s with every source silent"
    out = json.loads(r.stdout)
    assert out["ok"] is False and set(out["unchecked"]) == {"release", "kubernetes", "database", "schema_drift"}
    assert out["sections"]["http"]["state"] == "ok"
    assert "not everything could be checked" in r.stderr and "Traceback" not in r.stderr
    assert "s3cret-pw" not in r.stdout + r.stderr and "t0ken-not-shown" not in r.stdout + r.stderr


def test_a_since_that_is_not_a_duration_is_bad_input_with_one_json_object(tmp_path, silent_api):
    path = _config(tmp_path, silent_api)
    r = subprocess.run([sys.executable, "-m", "shipit.cli", "diagnose", "--config", str(path), "--since", "yesterday",
                        "--output", "json"], capture_output=True, text=True, cwd=ROOT, timeout=60,
                       env={**os.environ, "CI": "true"})
    assert r.returncode == 3, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["exit_code"] == 3 and out["error"].startswith("--since: ")
    assert "Traceback" not in r.stderr


def test_an_error_tracker_that_does_not_answer_is_skipped_with_why_within_the_budget(tmp_path, silent_api, monkeypatch):
    monkeypatch.setenv("SENTRY_TOKEN", "sntrys-not-shown")
    path = _config(tmp_path, silent_api)
    path.write_text(path.read_text() + "gates:\n  errors: {provider: sentry, token: '${SENTRY_TOKEN}', "
                    f"organization: acme, project: shop, api_url: 'http://127.0.0.1:{silent_api}'}}\n")
    report = diagnose(config_mod.load(path), since=3600, budget=5.0)
    skipped = {s.section.value: s.note for s in report.unchecked}
    assert "error_tracker" in skipped and skipped["error_tracker"].startswith("sentry: "), skipped
    assert "sntrys-not-shown" not in json.dumps(report.to_json()) + report.render_text()
    assert "not checked: Release, Kubernetes, Database, Schema drift, Error tracker" in report.render_text()
