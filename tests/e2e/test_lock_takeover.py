"""A run whose release lock is taken over stops changing the cluster (audit of issue 6): here during the bake, so
new code is serving and a person must decide (exit 2), no revert, and the new holder's lock is left alone."""

from __future__ import annotations

import time

from shipit.config import KubernetesConfig
from shipit.kube.client import Kube
from shipit.kube.lock import ReleaseLock
from shipit.kube.records import RecordStore
from tests.support.sandbox import APP, NAMESPACE


def _wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def test_lock_taken_over_during_the_bake_stops_without_revert_and_keeps_the_new_holders_lock(sandbox):
    sb = sandbox
    sb.bootstrap()
    target = sb.change_code()
    sb.write_config(lock={"duration": "3s"}, gates={"bake": "60s"})
    kube = Kube.from_config(KubernetesConfig(namespace=NAMESPACE, kubeconfig=str(sb.cluster.kubeconfig)))
    store = RecordStore(kube, APP)

    def baking() -> bool:
        r = store.latest()
        return r is not None and r.id == "r0002" and any(p.name == "verify" and p.status == "running" for p in r.phases)

    bob = ReleaseLock(kube, APP, duration=60, release_id="r0099", env={"USER": "bob"})
    proc = sb.spawn("release", "--output", "json")
    try:
        _wait_for(baking, timeout=120, what="the bake to start")
        bob.force_unlock()  # e.g. `shipit unlock --force` by someone who thought the run was dead, then a release
        bob.acquire()
        started = time.monotonic()
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    try:
        assert proc.returncode == 2, err
        assert took < 15, took  # the renewal (every 1s) finds the loss and the bake stops: not at its 60s end
        result = __import__("json").loads(out)
        assert result["status"] == "needs_attention", result
        what = result["diagnosis"]["what"]
        assert what.startswith("the release lock was taken over by bob on ") and "release r0099" in what, what
        assert what.endswith("this run stopped during verify (bake)"), what
        assert "without a revert" in result["diagnosis"]["did"], result["diagnosis"]
        assert "revert" not in {p["phase"] for p in result["phases"]}, result["phases"]
        assert set(sb.deployment_images().values()) == {sb.image(target)}  # the cluster left as it was
        assert bob.holder().identity == bob.identity  # the stopped run did not release bob's lock
    finally:
        bob.release()
        kube.api_client.close()
