"""The migration container's Secret-backed env values are masked though nothing in the printed line looks like a
credential, and a Secret shipit may not read is noted, not fatal. kubesim (exec mode; the refusal is a 403 request
fault) or the real control plane (shipit runs as its ServiceAccount with config/rbac.yaml: it may get Secret
`shop-db` and nothing else)."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from shipit.core.config import KubernetesConfig
from shipit.core.redact import redact, redact_value
from shipit.kube.client import Kube
from shipit.kube.migration_job import MigrationJob
from tests.integration.kube.conftest import APP_IMAGE, WORLD, deployment_manifest
from tests.support.kube_snapshots import make_config

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "Zq8-unusual-" + secrets.token_hex(6)   # no keyword, no URL, nothing a pattern would catch
TOKEN = "tk9-unread-" + secrets.token_hex(6)       # in Secret shop-api, which shipit may not read
SCRIPT = 'echo "connecting with $DATABASE_PASSWORD"; echo "calling api with $API_TOKEN"; exit 1'


@pytest.fixture
def world(request, kubesim_factory, tmp_path):
    if WORLD == "real":
        from tests.cluster.world import RealWorld
        w = RealWorld(request.getfixturevalue("real_cluster"), tmp_path / "admin.kubeconfig", exec_mode=True,
                      shipit_identity=True)
        w.write_kubeconfig(tmp_path / "shipit.kubeconfig")  # config/rbac.yaml applied; shipit holds the SA's token
        return w
    return kubesim_factory(k8s_version="1.33", exec_mode=True)


def apply(world, obj: dict) -> None:
    world.kubectl("apply", "-n", "default", "-f", "-", input=json.dumps(obj))


def secret(name: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def test_secret_values_are_masked_everywhere_and_an_unreadable_secret_is_noted(world):
    apply(world, secret("shop-db", {"DATABASE_PASSWORD": PASSWORD, "unused": "not-used-by-the-container"}))
    apply(world, secret("shop-api", {"API_TOKEN": TOKEN}))
    manifest = deployment_manifest(replicas=0, sidecar=False)
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] += [
        {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "DATABASE_PASSWORD"}}}]
    manifest["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [{"secretRef": {"name": "shop-api"}}]
    apply(world, manifest)
    if WORLD != "real":  # kubesim has no RBAC: shipit's read of shop-api is refused by a request fault
        world.faults.add(method="GET", path_regex=r"/secrets/shop-api$", status=403, count=1000)

    kube = Kube.from_config(KubernetesConfig(namespace="default", kubeconfig=str(world.kubeconfig)))
    lines, progress = [], []
    try:
        job = MigrationJob(kube, make_config(command=("sh", "-c", SCRIPT)), image=f"{APP_IMAGE}:abc", release_id="r0001",
                           on_log=lines.append, on_progress=progress.append)
        outcome = job.run()
        stored = kube.get_json(kube.batch.read_namespaced_job, job.name, "default")
    finally:
        kube.api_client.close()

    f = outcome.failure
    assert not outcome.succeeded and f is not None and f.exit_code == 1, f and f.render()
    assert f"connecting with {PASSWORD}" in f.log_tail, "the migration printed the value (the test can fail)"
    shown = [redact(line) for line in (*lines, *f.log_tail)] + [f.render()]
    assert "connecting with ***" in shown[-1]
    assert not [s for s in shown if PASSWORD in s]
    assert PASSWORD not in json.dumps(redact_value(stored["metadata"]))

    note = [p for p in progress if "Secret shop-api" in p]
    assert len(note) == 1 and "masked only by pattern" in note[0] and "resourceNames [shop-api]" in note[0]
    assert outcome.notes == tuple(note), "the note travels to the release's migrate phase"
    assert not [p for p in progress if "Secret shop-db" in p], "shop-db was readable: nothing to note"
    assert f"calling api with {TOKEN}" in f.render(), "shop-api's value is not known: only patterns could mask it"

    # `shipit diagnose` is another process: it reads the Secrets of the Job's container itself before showing its log
    probe = (
        "import json, sys\n"
        "from shipit.core.config import KubernetesConfig\n"
        "from shipit.core.redact import redact_value\n"
        "from shipit.kube.client import Kube\n"
        "from shipit.kube.pods import utcnow\n"
        "from shipit.report.diagnose.kubernetes import probe\n"
        "from tests.support.kube_snapshots import make_config\n"
        "kube = Kube.from_config(KubernetesConfig(namespace='default', kubeconfig=sys.argv[1]))\n"
        "pods, _ = kube.list_json(kube.core.list_namespaced_pod, 'default')\n"
        "facts = probe(kube, make_config(), tuple(pods), since=3600, now=utcnow())\n"
        "print(json.dumps(redact_value(facts.logs)))\n"
    )
    r = subprocess.run([sys.executable, "-c", probe, str(world.kubeconfig)], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    logs = json.loads(r.stdout)
    assert any("connecting with ***" in line for tail in logs.values() for line in tail), logs
    assert PASSWORD not in r.stdout + r.stderr
