"""Release records: a record survives the round trip through its ConfigMap."""

import json

from shipit.kube.records import (
    DATA_KEY,
    PhaseRecord,
    ReleaseRecord,
    ReleaseStatus,
    configmap_name,
    record_from_configmap,
    record_to_configmap,
    release_id,
)
from shipit.kube.rollout import DeploymentTemplate
from tests.support.kube_snapshots import ts


def test_record_round_trip_through_configmap():
    template = DeploymentTemplate("web", {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "a:1"}]}}, {"web": "a:1"})
    r = ReleaseRecord(id="r0002", sequence=2, app="shop", from_sha="a" * 40, to_sha="b" * 40, image_before="a:1", image_after="a:2",
                      templates_before=(template,), plan_summary={"migrations": 2}, started=ts(), user="alice")
    r = r.with_phase("migrate", "running", started=ts(5)).with_phase("migrate", "succeeded", ended=ts(1), message="2 migrations")
    r = r.with_status(ReleaseStatus.SUCCEEDED)
    cm = record_to_configmap(r, "default")
    assert cm["metadata"]["name"] == "shipit-shop-r0002"
    assert cm["metadata"]["labels"]["shipit.dev/status"] == "succeeded"
    assert cm["metadata"]["labels"]["shipit.dev/sequence"] == "2"
    back = record_from_configmap(json.loads(json.dumps(cm)))
    assert back == r
    assert back.phase("migrate").started == ts(5) and back.phase("migrate").ended == ts(1)


def test_a_phase_keeps_its_first_start_and_its_message_until_replaced():
    r = ReleaseRecord(id="r0001", sequence=1, app="shop")
    r = r.with_phase("code", "running", started="t1", message="rolling out")
    r = r.with_phase("code", "running", started="t2")
    assert (r.phase("code").started, r.phase("code").message) == ("t1", "rolling out")
    r = r.with_phase("code", "failed", ended="t3", message="CrashLoopBackOff")
    assert r.phase("code") == PhaseRecord("code", "failed", "t1", "t3", "CrashLoopBackOff")
    assert r.phase("verify") is None and len(r.phases) == 1


def test_finishing_stamps_the_end_and_running_does_not():
    r = ReleaseRecord(id="r0001", sequence=1, app="shop")
    assert r.with_status(ReleaseStatus.RUNNING).ended is None
    assert r.with_status(ReleaseStatus.FAILED, "boom", ended="t9").ended == "t9"
    assert r.with_status(ReleaseStatus.FAILED, "boom").ended is not None


def test_unreadable_or_foreign_configmaps_are_not_records():
    assert record_from_configmap({"metadata": {"name": "other"}, "data": {"x": "1"}}) is None
    assert record_from_configmap({"metadata": {"name": "shipit-shop-r1"}, "data": {DATA_KEY: "{not json"}}) is None
    assert record_from_configmap({"metadata": {"name": "shipit-shop-r1"}, "data": {DATA_KEY: '{"id": "r1"}'}}) is None


def test_configmap_names_are_lowercase_dns_names():
    assert configmap_name("Shop_App", "r0001") == "shipit-shop-app-r0001"
    assert release_id(7) == "r0007" and release_id(12345) == "r12345"
