"""The migration Job: its manifest cut from the Deployment template, and its outcome decided from Job and pod snapshots."""

import json
from pathlib import Path

import pytest

from shipit.core.errors import BadInput
from shipit.kube.migration_job import build_job_manifest, decide_job, failure_hint, job_name
from shipit.kube.pods import PodState
from tests.support.kube_snapshots import NOW, cond, cstatus, make_config, pod, running, terminated, waiting

SOURCE = {
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 3,
        "template": {
            "metadata": {"labels": {"app": "web"}, "annotations": {"prometheus.io/scrape": "true"}},
            "spec": {
                "serviceAccountName": "shop",
                "imagePullSecrets": [{"name": "regcred"}],
                "nodeSelector": {"pool": "app"},
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "app", "effect": "NoSchedule"}],
                "volumes": [{"name": "cfg", "configMap": {"name": "shop-config"}}],
                "initContainers": [{"name": "wait-db", "image": "busybox"}],
                "containers": [
                    {
                        "name": "web",
                        "image": "registry.example.com/shop:old",
                        "args": ["puma"],
                        "env": [{"name": "RAILS_ENV", "value": "production"}],
                        "envFrom": [{"secretRef": {"name": "shop-db"}}],
                        "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}],
                        "readinessProbe": {"httpGet": {"path": "/up", "port": 3000}},
                        "livenessProbe": {"httpGet": {"path": "/up", "port": 3000}},
                        "ports": [{"containerPort": 3000}],
                    },
                    {"name": "nginx", "image": "nginx"},
                ],
            },
        },
    },
}


def test_job_manifest_is_cut_from_the_deployment_template():
    cfg = make_config(timeout=900.5)
    job = build_job_manifest(SOURCE, cfg, image="registry.example.com/shop:abc", release_id="r0007")
    spec = job["spec"]
    pod_spec = spec["template"]["spec"]
    assert job["metadata"]["name"] == "shop-migrate-r0007"
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 901)
    assert spec["ttlSecondsAfterFinished"] > 0
    assert pod_spec["restartPolicy"] == "Never"
    assert [c["name"] for c in pod_spec["containers"]] == ["web"]
    assert "initContainers" not in pod_spec
    c = pod_spec["containers"][0]
    assert c["image"] == "registry.example.com/shop:abc"
    assert c["command"] == ["bin/rails", "db:migrate"]
    assert "args" not in c and "readinessProbe" not in c and "livenessProbe" not in c and "ports" not in c
    assert c["env"] == [{"name": "RAILS_ENV", "value": "production"}]
    assert c["envFrom"] == [{"secretRef": {"name": "shop-db"}}]
    assert c["volumeMounts"] == [{"name": "cfg", "mountPath": "/cfg"}]
    for key in ("serviceAccountName", "imagePullSecrets", "nodeSelector", "tolerations", "volumes"):
        assert pod_spec[key] == SOURCE["spec"]["template"]["spec"][key]
    labels = spec["template"]["metadata"]["labels"]
    assert labels["shipit.dev/app"] == "shop" and labels["shipit.dev/release"] == "r0007"
    assert "app" not in labels  # the Service selecting app=web must not route traffic to the migration pod
    assert job["metadata"]["labels"] == labels


def test_job_manifest_command_override_and_unknown_container():
    cfg = make_config()
    job = build_job_manifest(SOURCE, cfg, image="i:1", release_id="r1", command=("bin/rails", "db:migrate:status"), name="custom")
    assert job["metadata"]["name"] == "custom"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["bin/rails", "db:migrate:status"]
    other = json.loads(json.dumps(SOURCE))
    other["spec"]["template"]["spec"]["containers"][0]["name"] = "app"
    with pytest.raises(BadInput, match="migration.container 'web'.*app, nginx"):
        build_job_manifest(other, cfg, image="i:1", release_id="r1")


def test_job_name_is_dns_safe():
    assert job_name("Shop_App", "r0001") == "shop-app-migrate-r0001"
    assert len(job_name("x" * 80, "r0001")) <= 63


def job(*conditions):
    return {"metadata": {"name": "m"}, "status": {"conditions": list(conditions)}}


JOB_POD = dict(restart_policy="Never", name="m-abcde")


def test_job_complete_by_either_condition_protocol():
    assert decide_job(job(cond("Complete", "True")), [], now=NOW).succeeded
    early = decide_job(job(cond("SuccessCriteriaMet", "True", "CompletionsReached")), [], now=NOW)
    assert early.done and early.succeeded


def test_running_is_not_done():
    d = decide_job(job(), [pod(**JOB_POD, containers=[cstatus(state=running())])], now=NOW)
    assert not d.done


def test_failed_pod_decides_before_the_job_condition():
    p = pod(**JOB_POD, phase="Failed", containers=[cstatus(state=terminated(1))])
    d = decide_job(job(), [p], now=NOW)
    assert (d.done, d.succeeded, d.pod, d.verdict.exit_code) == (True, False, "m-abcde", 1)


def test_deadline_exceeded_condition_names_the_pod():
    p = pod(**JOB_POD, phase="Failed", reason="DeadlineExceeded")
    d = decide_job(job(cond("FailureTarget", "True", "DeadlineExceeded", "Job was active longer than specified deadline")), [p], now=NOW)
    assert (d.done, d.succeeded, d.reason, d.pod) == (True, False, "DeadlineExceeded", "m-abcde")


def test_image_pull_on_job_pod_is_immediate():
    p = pod(**JOB_POD, phase="Pending", containers=[cstatus(state=waiting("ErrImagePull"))])
    d = decide_job(job(), [p], now=NOW)
    assert d.done and d.verdict.state is PodState.IMAGE_PULL


def test_job_manifest_sidecars_only_when_asked_and_as_native_sidecars():
    import dataclasses

    base = make_config()
    cfg = dataclasses.replace(base, migration=dataclasses.replace(base.migration, sidecars=("nginx",)))
    pod_spec = build_job_manifest(SOURCE, cfg, image="i:1", release_id="r1")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod_spec["containers"]] == ["web"]
    assert pod_spec["initContainers"] == [{"name": "nginx", "image": "nginx", "restartPolicy": "Always"}]
    for bad, message in ((("web",), "is the migration container itself"), (("proxy",), "is not a container of Deployment web")):
        cfg = dataclasses.replace(base, migration=dataclasses.replace(base.migration, sidecars=bad))
        with pytest.raises(BadInput, match=f"migration.sidecars: '{bad[0]}' {message}"):
            build_job_manifest(SOURCE, cfg, image="i:1", release_id="r1")


def test_config_reads_migration_sidecars():
    from shipit.core.config import parse

    text = (Path(__file__).resolve().parents[3] / "config" / "shipit.example.yaml").read_text()
    cfg = parse(text.replace("  sidecars: []", "  sidecars: [cloud-sql-proxy]"), env={"SHIPIT_DB_PASSWORD": "x"})
    assert cfg.migration.sidecars == ("cloud-sql-proxy",)
    assert parse(text, env={"SHIPIT_DB_PASSWORD": "x"}).migration.sidecars == ()


def test_failed_condition_without_pods_still_ends_the_wait_with_its_reason():
    d = decide_job(job(cond("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")),
                   [], now=NOW)
    assert (d.done, d.succeeded, d.reason, d.message, d.pod) == \
        (True, False, "BackoffLimitExceeded", "Job has reached the specified backoff limit", None)


def test_a_pod_still_pending_within_grace_is_not_an_outcome():
    unsched = cond("PodScheduled", "False", "Unschedulable", "0/1 nodes are available", ago=5)
    p = pod(**JOB_POD, phase="Pending", node=None, conditions=[unsched])
    assert not decide_job(job(), [p], now=NOW, unschedulable_grace=60).done
    late = decide_job(job(), [p], now=NOW, unschedulable_grace=2)
    assert late.done and late.verdict.state is PodState.UNSCHEDULABLE


@pytest.mark.parametrize("pod_kw, fragment", [
    (dict(phase="Pending", containers=[cstatus(state=waiting("ErrImagePull"))]), "image i:9 was built and pushed"),
    (dict(phase="Failed", containers=[cstatus(state=terminated(137, "OOMKilled"))]), "memory limit of container web in Deployment web"),
    (dict(phase="Failed", containers=[cstatus(state=terminated(1))]), "backoffLimit is 0"),
])
def test_each_failure_kind_has_its_own_next_step(pod_kw, fragment):
    d = decide_job(job(), [pod(**JOB_POD, **pod_kw)], now=NOW)
    assert fragment in failure_hint(d, image="i:9", deployment="web", container="web")


def test_a_deadline_points_at_migration_timeout():
    d = decide_job(job(cond("Failed", "True", "DeadlineExceeded", "Job was active longer than specified deadline")),
                   [], now=NOW)
    assert "migration.timeout" in failure_hint(d, image="i", deployment="web", container="web")
