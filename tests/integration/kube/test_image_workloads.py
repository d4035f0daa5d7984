"""The image strategy on a Deployment, a StatefulSet and a CronJob: each template patched, each watched by its kind's
rule, a crashing StatefulSet failing fast and put back from the recorded templates; refusals before any change; the
preflight's health rule of each kind; without a recorded template, each kind's undo rule (a CronJob refuses)."""

from __future__ import annotations

import copy
import dataclasses
import threading
import time

import pytest

from shipit.adapters.cluster import KubeCluster
from shipit.adapters.code.guard import refuse_image_patch
from shipit.adapters.code.image import ImageRollout
from shipit.core.config_code import WorkloadConfig, WorkloadKind
from shipit.core.errors import BadInput
from shipit.kube.pods import PodState
from shipit.kube.undo import NoHistory
from shipit.release.diagnosis import PhaseFailed
from shipit.report.live import PlainView
from tests.integration.kube.conftest import APP_IMAGE, create_deployment, deployment_manifest
from tests.support.kube_snapshots import make_config

V1, V2 = f"{APP_IMAGE}:v1", f"{APP_IMAGE}:v2"


def statefulset_manifest(name: str = "worker", *, strategy: str = "RollingUpdate") -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 2, "serviceName": name, "selector": {"matchLabels": labels},
                     "updateStrategy": {"type": strategy},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": V1},
                                                          {"name": "exporter", "image": "prom/exporter:1"}]}}}}


def cronjob_manifest(name: str = "nightly") -> dict:
    pod = {"spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": V1}]}}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": pod}}}}


def images(kube) -> dict[str, dict[str, str]]:
    ns = "default"
    d = kube.get_json(kube.apps.read_namespaced_deployment, "web", ns)["spec"]["template"]
    s = kube.get_json(kube.apps.read_namespaced_stateful_set, "worker", ns)["spec"]["template"]
    c = kube.get_json(kube.batch.read_namespaced_cron_job, "nightly", ns)["spec"]["jobTemplate"]["spec"]["template"]
    return {kind: {x["name"]: x["image"] for x in t["spec"]["containers"]}
            for kind, t in (("Deployment", d), ("StatefulSet", s), ("CronJob", c))}


def wait_statefulset_ready(kube, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        st = kube.get_json(kube.apps.read_namespaced_stateful_set, name, "default").get("status") or {}
        if st.get("readyReplicas", 0) == 2 and st.get("currentRevision") == st.get("updateRevision"):
            return
        assert time.monotonic() < deadline, f"StatefulSet {name} never became ready: {st}"
        time.sleep(0.1)


def config(*workloads: tuple[WorkloadKind, str, tuple[str, ...]]):
    base = make_config(deployments=(("web", ("web",)),), ready_grace=5.0)
    return dataclasses.replace(base, workloads=tuple(WorkloadConfig(k, n, c) for k, n, c in workloads))


@pytest.fixture
def three_kinds(kube):
    create_deployment(kube, deployment_manifest("web", replicas=1))
    kube.send(kube.apps.create_namespaced_stateful_set, "default", statefulset_manifest())
    kube.send(kube.batch.create_namespaced_cron_job, "default", cronjob_manifest())
    wait_statefulset_ready(kube, "worker")
    return config((WorkloadKind.STATEFULSET, "worker", ()), (WorkloadKind.CRONJOB, "nightly", ()))


def test_every_kind_gets_the_image_and_is_watched_to_success(kube, three_kinds):
    said = []
    rollout = ImageRollout(kube, three_kinds, on_text=said.append)
    before = rollout.current_templates()
    assert [(t.kind, t.name) for t in before] == [("Deployment", "web"), ("StatefulSet", "worker"),
                                                  ("CronJob", "nightly")]
    rollout.apply(V2)
    outcome = rollout.watch(timeout=60)
    assert outcome.succeeded, [f.render() for f in outcome.failures]
    assert images(kube) == {"Deployment": {"web": V2, "nginx": "nginx:1.27"},
                            "StatefulSet": {"app": V2, "exporter": "prom/exporter:1"}, "CronJob": {"job": V2}}
    assert "CronJob/nightly: template updated; the next run uses it" in said
    sts = kube.get_json(kube.apps.read_namespaced_stateful_set, "worker", "default")["status"]
    assert sts["updatedReplicas"] == 2 and sts["currentRevision"] == sts["updateRevision"]


def test_a_crashing_statefulset_fails_fast_and_the_recorded_templates_come_back(kube, three_kinds):
    rollout = ImageRollout(kube, three_kinds)
    before = rollout.current_templates()
    rollout.apply(f"{APP_IMAGE}:v2-crash")
    outcome = rollout.watch(timeout=60)
    assert not outcome.succeeded
    # every workload runs the crashing image: whichever fails first, the StatefulSet is named with the failures
    assert any(f.state == PodState.CRASH_LOOP.value for f in outcome.failures)
    assert any(f.what.startswith("StatefulSet worker") for f in outcome.failures), [f.what for f in outcome.failures]
    rollout.restore(before)
    back = rollout.watch(timeout=60, reverting=True)
    assert back.succeeded, [f.render() for f in back.failures]
    assert images(kube) == {"Deployment": {"web": V1, "nginx": "nginx:1.27"},
                            "StatefulSet": {"app": V1, "exporter": "prom/exporter:1"}, "CronJob": {"job": V1}}
    wait_statefulset_ready(kube, "worker")


def test_an_ondelete_statefulset_is_refused_before_anything_changes(kube):
    create_deployment(kube, deployment_manifest("web", replicas=1))
    kube.send(kube.apps.create_namespaced_stateful_set, "default", statefulset_manifest(strategy="OnDelete"))
    cfg = config((WorkloadKind.STATEFULSET, "worker", ()))
    with pytest.raises(BadInput, match="StatefulSet worker has updateStrategy OnDelete.*Nothing was changed"):
        refuse_image_patch(kube, cfg)
    with pytest.raises(BadInput, match="OnDelete"):
        ImageRollout(kube, cfg).apply(V2)
    d = kube.get_json(kube.apps.read_namespaced_deployment, "web", "default")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == V1


@pytest.mark.parametrize("workload, words", [
    ((WorkloadKind.CRONJOB, "hourly", ()), "workloads: no CronJob 'hourly' in namespace 'default'"),
    ((WorkloadKind.CRONJOB, "nightly", ("app",)), "workloads[nightly].containers: app not in CronJob nightly"),
    ((WorkloadKind.STATEFULSET, "nightly", ()), "workloads: no StatefulSet 'nightly'"),
])
def test_missing_workloads_and_containers_are_bad_input_named(kube, workload, words):
    create_deployment(kube, deployment_manifest("web", replicas=1))
    kube.send(kube.batch.create_namespaced_cron_job, "default", copy.deepcopy(cronjob_manifest()))
    with pytest.raises(BadInput) as e:
        refuse_image_patch(kube, config(workload))
    assert words in str(e.value)


def problems_until(cluster, want: tuple[str, ...], timeout: float = 60.0) -> tuple[str, ...]:
    deadline = time.monotonic() + timeout
    while (found := cluster.unhealthy_workloads()) != want and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_preflight_names_a_statefulset_that_is_not_ready_and_a_cronjob_only_needs_to_exist(kube, three_kinds):
    cluster = KubeCluster(three_kinds, kube, PlainView(), database=None)
    assert cluster.unhealthy_workloads() == ()
    kube.send(kube.apps.patch_namespaced_stateful_set, "worker", "default",
              {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"{APP_IMAGE}:v2-crash"}]}}}})
    want = ("StatefulSet worker is not healthy before the release (1/2 ready)",)
    assert problems_until(cluster, want) == want


def test_a_revert_with_no_recorded_template_puts_a_statefulset_back_by_its_controller_revision(kube):
    create_deployment(kube, deployment_manifest("web", replicas=1))
    kube.send(kube.apps.create_namespaced_stateful_set, "default", statefulset_manifest())
    wait_statefulset_ready(kube, "worker")
    cluster = KubeCluster(config((WorkloadKind.STATEFULSET, "worker", ())), kube, PlainView(), database=None)
    with pytest.raises(PhaseFailed):
        cluster.rollout(f"{APP_IMAGE}:v2-crash", cancel=threading.Event())
    cluster.restore(())  # nothing on record: each kind's undo rule; healthy again, or it raises
    back = kube.get_json(kube.apps.read_namespaced_stateful_set, "worker", "default")["spec"]["template"]
    assert {c["name"]: c["image"] for c in back["spec"]["containers"]} == {"app": V1, "exporter": "prom/exporter:1"}
    wait_statefulset_ready(kube, "worker")


def test_a_record_without_the_statefulset_restores_what_it_has_and_undoes_the_statefulset(kube, three_kinds):
    """A record made before workloads: named the StatefulSet holds the Deployment's template only."""
    cfg = dataclasses.replace(three_kinds, workloads=three_kinds.workloads[:1])
    rollout = ImageRollout(kube, cfg)
    deployments_only = tuple(t for t in rollout.current_templates() if t.kind == "Deployment")
    rollout.apply(V2)
    assert rollout.watch(timeout=60).succeeded
    rollout.restore(deployments_only)
    assert rollout.watch(timeout=60, reverting=True).succeeded
    assert images(kube)["StatefulSet"] == {"app": V1, "exporter": "prom/exporter:1"}
    assert images(kube)["Deployment"]["web"] == V1


def test_a_cronjob_with_no_recorded_template_is_refused_with_nothing_changed(kube, three_kinds):
    rollout = ImageRollout(kube, three_kinds)
    rollout.apply(V2)
    assert rollout.watch(timeout=60).succeeded
    with pytest.raises(NoHistory) as e:
        rollout.undo()
    assert "CronJob nightly keeps no history of its template" in str(e.value)
    assert str(e.value).endswith("Nothing was changed")
    assert images(kube) == {"Deployment": {"web": V2, "nginx": "nginx:1.27"},
                            "StatefulSet": {"app": V2, "exporter": "prom/exporter:1"}, "CronJob": {"job": V2}}
