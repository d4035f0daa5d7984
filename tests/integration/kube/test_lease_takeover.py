"""A run whose release lease is taken over, with the real lease and records on kubesim: the run hears the loss,
stops, and leaves the new holder's lease and records alone."""

from __future__ import annotations

import copy
import dataclasses
import threading
import time

from shipit.adapters.cluster import KubeCluster
from shipit.adapters.lease import KubeLease
from shipit.adapters.records import KubeRecords
from shipit.core.errors import ExitCode
from shipit.kube.lock import ReleaseLock
from shipit.kube.rollout import DeploymentTemplate, Rollout
from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus
from shipit.release.ports import Ports
from shipit.release.rollback import Rollback
from shipit.release.state import ReleaseState
from shipit.report.live import PlainView
from tests.integration.kube.conftest import APP_IMAGE, create_deployment, deployment_manifest
from tests.support.kube_snapshots import make_config


def with_lock(cfg, duration: float):
    return dataclasses.replace(cfg, lock=dataclasses.replace(cfg.lock, duration=duration))


def test_lease_relays_a_loss_and_never_releases_the_new_holders(kube):
    """The renewal finds the lease taken, the run hears it, its release leaves the new holder's lease alone."""
    lease = KubeLease(kube, make_config())
    lost = threading.Event()
    lease.acquire_lock("r0001", on_lost=lost.set)
    assert lease.lock_lost() is None
    ReleaseLock(kube, "shop", duration=30, env={"USER": "ops"}).force_unlock()
    bob = ReleaseLock(kube, "shop", duration=30, release_id="r0002", env={"USER": "bob"})
    bob.acquire()
    try:
        assert not lost.wait(1)  # the background renewal (every duration/3 = 20s) has not looked yet
        lease._confirmed -= 3600  # as after a long pause (laptop asleep): the next check confirms the lease
        assert lease.lock_lost() is not None
        assert lost.wait(5)
        loss = lease.lock_lost()
        assert loss.holder.startswith("bob on ") and "release r0002" in loss.holder and loss.release_id == "r0002"
        lease.release_lock()
        assert bob.holder().identity == bob.identity
    finally:
        bob.release()


def recorded(records: KubeRecords, n: int, templates_before: tuple) -> ReleaseState:
    state = ReleaseState(
        id=f"r000{n}", sequence=n, app="shop", status=ReleaseStatus.SUCCEEDED, from_sha=f"{n - 1}" * 40,
        to_sha=f"{n}" * 40, image_after=f"{APP_IMAGE}:v{n}", user="alice", started=1_700_000_000.0 + n,
        ended=1_700_000_010.0 + n, templates_before=templates_before,
        phases=(PhaseResult(Phase.CODE, PhaseStatus.SUCCEEDED, 1_700_000_001.0, 1_700_000_002.0),),
    )
    records.save(state)
    return state


def test_rollback_whose_lease_is_taken_over_stops_and_leaves_the_new_holders_records_alone(kube):
    """Someone presumed the rollback dead, forced the lock and resumed its record: the rollback stops during the
    restore (exit 2, no record written over bob's, the replaced release not marked), long before its watch ends."""
    create_deployment(kube, deployment_manifest("web", replicas=1, sidecar=False))
    cfg = with_lock(make_config(ready_grace=60.0), 3.0)  # renewal every second
    (serving,) = Rollout(kube, cfg).current_templates()
    never_ready = copy.deepcopy(serving.template)
    never_ready["spec"]["containers"][0]["image"] = f"{APP_IMAGE}:v2-unready"
    left_by_r0002 = DeploymentTemplate("web", never_ready, {"web": f"{APP_IMAGE}:v2-unready"})
    records = KubeRecords(kube, "shop", keep=20)
    recorded(records, 1, ())
    recorded(records, 2, (serving,))
    r0003 = recorded(records, 3, (left_by_r0002,))

    store = records.store
    bob = ReleaseLock(kube, "shop", duration=60, release_id="r0004", env={"USER": "bob"})

    def take_over_during_the_restore() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = store.get("r0004")
            if r is not None and any(p.name == "code" and p.status == "running" for p in r.phases):
                break
            time.sleep(0.05)
        bob.force_unlock()
        bob.acquire()
        store.save(store.get("r0004").with_status(ReleaseStatus.FAILED, "bob's resume finished this record"))

    taker = threading.Thread(target=take_over_during_the_restore, daemon=True)
    ports = Ports(records=records, lease=KubeLease(kube, cfg), planner=None, database=None,
                  cluster=KubeCluster(cfg, kube, PlainView(), database=None), gates=None, git=None)
    taker.start()
    started = time.monotonic()
    try:
        state = Rollback(cfg, ports, user="alice").run()
        took = time.monotonic() - started
        taker.join(5)
        assert state.id == "r0004" and state.exit_code == ExitCode.NEEDS_PERSON, state.diagnosis
        assert state.status is ReleaseStatus.NEEDS_ATTENTION
        assert state.diagnosis.what.startswith("the release lock was taken over by bob on ")
        assert state.diagnosis.what.endswith("this rollback stopped during code rollout")
        assert "without a revert" in state.diagnosis.did
        assert took < 30, took  # the loss cut the restore's watch short (it waits up to rollout.timeout, 60 s)
        r0004 = store.get("r0004")
        assert (r0004.status, r0004.message) == (ReleaseStatus.FAILED, "bob's resume finished this record")
        assert store.get("r0003").status is ReleaseStatus.SUCCEEDED and r0003.status is ReleaseStatus.SUCCEEDED
        assert bob.holder().identity == bob.identity  # the stopped rollback did not release bob's lock
    finally:
        bob.release()
