"""`kill -9` while the automatic revert runs; `--resume` must finish
the revert (not crash on the REVERT phase, not roll the crashing image out again)."""

from __future__ import annotations

from shipit.core.config import KubernetesConfig
from shipit.kube.client import Kube
from shipit.kube.records import RecordStore
from tests.support.sandbox import APP, NAMESPACE
from tests.support.waiting import wait_for


def test_kill_9_during_the_automatic_revert_then_resume_finishes_the_revert(sandbox):
    sb = sandbox
    sb.write_config(lock={"duration": "5s"})
    base = sb.bootstrap()
    target = sb.change_code()
    sb.crash_image(target)
    kube = Kube.from_config(KubernetesConfig(namespace=NAMESPACE, kubeconfig=str(sb.cluster.kubeconfig)))
    store = RecordStore(kube, APP)

    def reverting() -> bool:  # read in-process: a `shipit status` subprocess per poll could miss the revert
        r = store.latest()
        return r is not None and r.id == "r0002" and any(p.name == "revert" and p.status == "running" for p in r.phases)

    sb.kill_9("release", when=lambda _: wait_for(reverting, timeout=120, what="the automatic revert to start",
                                                interval=0.02))
    crashed = sb.status()["release"]
    assert crashed["status"] == "running", crashed
    assert [p["status"] for p in crashed["phases"] if p["phase"] == "revert"] == ["running"], crashed

    r = sb.resume()
    assert r.code == 1, r.text
    assert "finishing the failure of code rollout" in r.stdout and "rolled the workloads back" in r.stdout, r.text
    latest = sb.status()["release"]
    assert (latest["release"], latest["status"], latest["exit_code"]) == ("r0002", "reverted", 1), latest
    phases = {p["phase"]: p["status"] for p in latest["phases"]}
    assert phases["code"] == "failed" and phases["revert"] == "succeeded", phases
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    sb.wait_deployments_ready()
    assert sb.serving_images() == {"web": {sb.image(base)}, "worker": {sb.image(base)}}
    assert sb.status()["lock"] is None
    kube.api_client.close()
