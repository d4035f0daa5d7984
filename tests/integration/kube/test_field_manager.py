"""Every write shipit makes is made as field manager `shipit`: an object's managedFields say which fields shipit set
(a Deployment's image, its Lease, its records), where a person or another tool looks when fields change hands."""

from __future__ import annotations

import json

import pytest

from shipit.kube.lock import ReleaseLock
from shipit.kube.records import RecordStore, ReleaseRecord, ReleaseStatus
from shipit.kube.rollout import Rollout
from tests.integration.kube.conftest import APP_IMAGE, WORLD, create_deployment, deployment_manifest
from tests.support.kube_snapshots import make_config

pytestmark = pytest.mark.skipif(WORLD != "real", reason="kubesim keeps no managedFields")


def managers(obj: dict) -> set[tuple[str, str]]:
    return {(m["manager"], m["operation"]) for m in obj["metadata"].get("managedFields") or ()}


def image_owners(deployment: dict, container: str) -> list[str]:
    key = "k:" + json.dumps({"name": container}, separators=(",", ":"))
    return [m["manager"] for m in deployment["metadata"]["managedFields"]
            if "f:image" in (m.get("fieldsV1") or {}).get("f:spec", {}).get("f:template", {}).get("f:spec", {})
            .get("f:containers", {}).get(key, {})]


def test_the_image_patch_the_lease_and_the_record_are_shipits(kube):
    before = create_deployment(kube, deployment_manifest("web"))
    assert "shipit" not in {m for m, _ in managers(before)}
    Rollout(kube, make_config(deployments=(("web", ("web",)),), ready_grace=1.5)).apply(f"{APP_IMAGE}:v2")
    web = kube.get_json(kube.apps.read_namespaced_deployment, "web", "default")
    assert image_owners(web, "web") == ["shipit"]  # taken over from `tests` by the patch
    assert image_owners(web, "nginx") == ["tests"]  # the sidecar shipit never touches

    lock = ReleaseLock(kube, "shop", duration=30, release_id="r0001", env={"USER": "alice"})
    lock.acquire()
    try:
        lease = kube.request_json("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/shipit-shop")
        assert ("shipit", "Update") in managers(lease) and all(m == "shipit" for m, _ in managers(lease))
    finally:
        lock.release()

    RecordStore(kube, "shop", keep=5).save(ReleaseRecord(id="r0001", sequence=1, app="shop",
                                                         status=ReleaseStatus.SUCCEEDED))
    (cm,) = kube.get_json(kube.core.list_namespaced_config_map, "default",
                          label_selector="app.kubernetes.io/managed-by=shipit")["items"]
    assert managers(cm) == {("shipit", "Update")}
