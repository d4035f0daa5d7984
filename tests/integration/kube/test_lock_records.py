"""The release lock (a Lease with MicroTime renewals) and release records (ConfigMaps) on kubesim."""

from __future__ import annotations

import threading
import time

import pytest

from shipit.core.errors import ExitCode
from shipit.kube.lock import LockHeld, ReleaseLock
from shipit.kube.records import RecordStore, ReleaseStatus
from shipit.kube.rollout import DeploymentTemplate

CI = {"USER": "alice", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "7"}


def lease(kube):
    return kube.request_json("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/shipit-shop")


def test_contention_refuses_with_holder_details(kube):
    first = ReleaseLock(kube, "shop", duration=30, release_id="r0001", env=CI)
    second = ReleaseLock(kube, "shop", duration=30, release_id="r0002", env={"USER": "bob"})
    first.acquire()
    try:
        with pytest.raises(LockHeld) as e:
            second.acquire()
        assert e.value.exit_code is ExitCode.LOCKED
        h = e.value.holder
        assert (h.user, h.release_id, h.ci_url) == ("alice", "r0001", "https://github.com/acme/shop/actions/runs/7")
        assert "alice" in str(e.value) and "r0001" in str(e.value) and "actions/runs/7" in str(e.value)
        spec = lease(kube)["spec"]
        assert spec["renewTime"].endswith("Z") and len(spec["renewTime"].split(".")[1]) == 7  # six digits + Z
    finally:
        first.release()
    second.acquire()
    assert second.holder().user == "bob"
    second.release()
    assert second.holder() is None


def test_background_renewal_keeps_the_lock(kube):
    holder = ReleaseLock(kube, "shop", duration=1, env=CI)
    other = ReleaseLock(kube, "shop", duration=1, env={"USER": "bob"})
    with holder:
        renewed = lease(kube)["spec"]["renewTime"]
        time.sleep(1.5)
        assert lease(kube)["spec"]["renewTime"] != renewed
        with pytest.raises(LockHeld):
            other.acquire()
    assert not holder.lost.is_set()


def test_expired_lease_is_taken_over(kube):
    dead = ReleaseLock(kube, "shop", duration=1, env=CI)
    dead.acquire()
    dead._stop.set()  # the holder's process died: no more renewals
    taker = ReleaseLock(kube, "shop", duration=30, env={"USER": "bob"})
    with pytest.raises(LockHeld):
        taker.acquire()
    time.sleep(1.1)
    taker.acquire()
    spec = lease(kube)["spec"]
    assert spec["holderIdentity"] == taker.identity and spec["leaseTransitions"] == 1
    dead.renew()
    assert dead.lost.is_set()
    taker.release()


def test_wait_for_the_holder_to_finish(kube):
    first = ReleaseLock(kube, "shop", duration=30, env=CI)
    first.acquire()
    threading.Timer(0.5, first.release).start()
    second = ReleaseLock(kube, "shop", duration=30, env={"USER": "bob"})
    t0 = time.monotonic()
    second.acquire(wait=5)
    assert 0.4 < time.monotonic() - t0 < 3
    second.release()


def test_force_unlock(kube):
    first = ReleaseLock(kube, "shop", duration=30, release_id="r0004", env=CI)
    first.acquire()
    first._stop.set()
    previous = ReleaseLock(kube, "shop", duration=30, env={"USER": "ops"}).force_unlock()
    assert previous.user == "alice" and previous.release_id == "r0004"
    ReleaseLock(kube, "shop", duration=30, env={"USER": "ops"}).acquire()


def test_records_save_list_prune_last_successful(kube):
    store = RecordStore(kube, "shop", keep=3)
    assert store.latest() is None and store.last_successful() is None and store.next_sequence() == 1
    template = DeploymentTemplate("web", {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "a:1"}]}}, {"web": "a:1"})
    statuses = [ReleaseStatus.SUCCEEDED, ReleaseStatus.SUCCEEDED, ReleaseStatus.FAILED, ReleaseStatus.SUCCEEDED, ReleaseStatus.REVERTED]
    for i, status in enumerate(statuses, start=1):
        r = store.new(from_sha=f"{i - 1}" * 40, to_sha=f"{i}" * 40, image_before=f"a:{i - 1}", image_after=f"a:{i}", templates_before=(template,))
        assert r.sequence == i and r.id == f"r{i:04d}"
        store.save(r)
        r = r.with_phase("migrate", "succeeded", ended="2026-01-01T00:00:00Z")
        store.save(r)  # phase transition: replaced in place
        store.save(r.with_status(status))
    listed = store.list()
    # newest first, pruned to keep=3 but never the two latest successful ones (r0004, and r0002 for rollback)
    assert [r.id for r in listed] == ["r0005", "r0004", "r0003", "r0002"]
    assert store.get("r0001") is None and store.get("r0004").status is ReleaseStatus.SUCCEEDED
    assert store.last_successful().id == "r0004"
    latest = store.latest()
    assert latest.id == "r0005" and latest.status is ReleaseStatus.REVERTED
    assert latest.phase("migrate").status == "succeeded" and latest.templates_before == (template,)
    assert store.list(limit=1)[0].id == "r0005"
    items, _ = kube.list_json(kube.core.list_namespaced_config_map, "default", label_selector="shipit.dev/app=shop,shipit.dev/status=reverted")
    assert [i["metadata"]["name"] for i in items] == ["shipit-shop-r0005"]


def test_a_record_deleted_while_its_release_runs_is_written_again_and_another_process_replaces_it(kube):
    store = RecordStore(kube, "shop", keep=3)
    r = store.new(from_sha="0" * 40, to_sha="1" * 40, image_before="a:0", image_after="a:1", templates_before=())
    store.save(r)
    kube.send(kube.core.delete_namespaced_config_map, "shipit-shop-r0001", "default")  # by hand, mid-release
    store.save(r.with_phase("migrate", "running"))
    assert store.get("r0001").phase("migrate").status == "running"
    resumed = RecordStore(kube, "shop", keep=3)  # a --resume in another process: the ConfigMap exists already
    resumed.save(r.with_phase("migrate", "succeeded", ended="2026-01-01T00:00:00Z"))
    assert store.get("r0001").phase("migrate").status == "succeeded"
    store.save(r.with_status(ReleaseStatus.SUCCEEDED))
    assert [x.status for x in store.list()] == [ReleaseStatus.SUCCEEDED]


def test_missing_namespace_is_bad_input_not_a_hang(kubesim):
    """A Lease create answered 404 means the namespace does not exist: say so at once, never spin."""
    from shipit.core.config import KubernetesConfig
    from shipit.core.errors import BadInput
    from shipit.kube.client import Kube

    kube = Kube.from_config(KubernetesConfig(namespace="no-such-ns", kubeconfig=str(kubesim.kubeconfig)))
    try:
        with pytest.raises(BadInput, match="namespace no-such-ns does not exist"):
            ReleaseLock(kube, "shop", duration=30).acquire()
    finally:
        kube.api_client.close()
