"""A run whose release lock is taken over stops changing the cluster: here during the bake, so
new code is serving and a person must decide (exit 2), no revert, and the new holder's lock is left alone."""

from __future__ import annotations

import time

from shipit.core.config import KubernetesConfig
from shipit.kube.client import Kube
from shipit.kube.lock import ReleaseLock
from shipit.kube.records import RecordStore
from tests.support.sandbox import APP, NAMESPACE
from tests.support.waiting import wait_for


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
        wait_for(baking, timeout=120, what="the bake to start")
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


def test_a_paused_run_whose_release_was_resumed_meanwhile_stops_and_leaves_the_record_alone(sandbox):
    """A run paused past its lease (laptop asleep; SIGSTOP here), resumed meanwhile with --resume by someone else:
    once it wakes it must not delete the Job, roll anything out, or overwrite the finished release's record."""
    import json
    import signal

    sb = sandbox
    sb.write_config(lock={"duration": "3s"})
    sb.bootstrap()
    sb.add_slow_migration("20240115000001", seconds=6)
    target = sb.change_code()
    paused = sb.spawn("release", "--yes", "--output", "json")  # the SLEEP is raw SQL: manual
    try:
        sb.wait_migration_job_running()
        paused.send_signal(signal.SIGSTOP)
        r = sb.resume()
        assert r.code == 0, r.text
        finished = sb.status()["release"]
        assert finished["status"] == "succeeded" and any("resumed" in n for n in finished["notes"]), finished
        paused.send_signal(signal.SIGCONT)
        out, err = paused.communicate(timeout=60)
    finally:
        if paused.poll() is None:
            paused.send_signal(signal.SIGCONT)
            paused.kill()
    assert paused.returncode in (1, 2), err
    result = json.loads(out)
    assert result["diagnosis"]["what"].startswith("the release lock was taken over by "), result["diagnosis"]
    assert "not recording" in err, err
    assert sb.status()["release"] == finished  # the resumed release's record, untouched
    assert [j for j in sb.job_names() if "r0002" in j] and "20240115000001" in sb.schema_versions()
    assert set(sb.deployment_images().values()) == {sb.image(target)}
