"""Release records: a record survives the round trip through its ConfigMap."""

import json

from shipit.kube.records import ReleaseRecord, ReleaseStatus, record_from_configmap, record_to_configmap
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
