"""The commands' Kubernetes-backed defaults on kubesim: `--from` from the last successful release record (plan and
release) and `shipit release --lock-wait` against a held Lease."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from shipit.cli.app import main
from shipit.kube.lock import ReleaseLock
from shipit.kube.records import RecordStore, ReleaseStatus


def git(repo, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture
def app(tmp_path, kubesim):
    """A two-commit app repository and a configuration pointing at the kubesim cluster; returns (config, shas)."""
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas = []
    for name in ("a", "b"):
        (repo / f"{name}.rb").write_text(f"{name}\n")
        git(repo, "add", f"{name}.rb")
        git(repo, "commit", "-q", "-m", name)
        shas.append(git(repo, "rev-parse", "HEAD"))
    cfg = tmp_path / "shipit.yaml"
    cfg.write_text(
        f"""app: shop
repo: {repo}
kubernetes: {{namespace: default, kubeconfig: {kubesim.kubeconfig}}}
image: {{repository: registry.example.com/shop}}
deployments: [{{name: web}}]
migration: {{from_deployment: web, container: web}}
database: {{url: "mysql://root@127.0.0.1:3306/shop"}}
"""
    )
    # the configured Deployment exists: a release reads it (boot commands, GitOps marks) before it takes the lock
    kubesim.kubectl("apply", "-f", "-", input=WEB)
    return cfg, shas


WEB = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.example.com/shop:a}]}
"""


def record(kube, to_sha: str, status: ReleaseStatus) -> None:
    store = RecordStore(kube, "shop")
    store.save(store.new(from_sha="0" * 40, to_sha=to_sha).with_status(status))


def test_plan_defaults_from_to_the_last_successful_release(app, kube, capsys):
    cfg, (first, second) = app
    record(kube, first, ReleaseStatus.SUCCEEDED)
    record(kube, second, ReleaseStatus.FAILED)  # newer, but not successful: not the default
    assert main(["plan", "--config", str(cfg), "-o", "json"]) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert (out["from_sha"], out["to_sha"], out["changed_files"]) == (first, second, ["b.rb"])


def test_plan_without_records_or_config_asks_for_from(app, capsys):
    cfg, _ = app
    assert main(["plan", "--config", str(cfg)]) == 3
    assert "no successful release is recorded yet: pass --from" in capsys.readouterr().err
    assert main(["plan", "--repo", str(cfg.parent / "app")]) == 3
    assert "--from is required without a configuration" in capsys.readouterr().err


def test_release_lock_wait_gives_up_with_the_holder_named(app, kube, capsys):
    """--from defaults from the record (else exit 3 before the lock); --lock-wait waits, then exit 4."""
    cfg, (first, _) = app
    record(kube, first, ReleaseStatus.SUCCEEDED)
    holder = ReleaseLock(kube, "shop", duration=30, release_id="r0042", env={"USER": "alice"})
    holder.acquire()
    try:
        t0 = time.monotonic()
        assert main(["release", "--config", str(cfg), "--lock-wait", "1.5s"]) == 4
        waited = time.monotonic() - t0
        err = capsys.readouterr().err
        assert waited >= 1.5, waited
        assert "alice" in err and "r0042" in err
        t0 = time.monotonic()
        assert main(["release", "--config", str(cfg)]) == 4  # lock.wait defaults to 0: refused at once
        assert time.monotonic() - t0 < 1.5
    finally:
        holder.release()


def test_release_with_a_deployment_that_does_not_exist_is_bad_input_before_the_lock(app, kubesim, kube, capsys):
    cfg, (first, _) = app
    record(kube, first, ReleaseStatus.SUCCEEDED)
    kubesim.kubectl("delete", "deployment", "web")
    assert main(["release", "--config", str(cfg)]) == 3
    err = capsys.readouterr().err
    assert "no Deployment 'web' in namespace 'default'" in err and "Traceback" not in err


def test_release_bad_lock_wait_and_no_record(app, capsys):
    cfg, _ = app
    assert main(["release", "--config", str(cfg), "--lock-wait", "soon"]) == 3
    assert "--lock-wait: 'soon' is not a duration" in capsys.readouterr().err
    assert main(["release", "--config", str(cfg)]) == 3
    assert "no successful release is recorded yet" in capsys.readouterr().err
