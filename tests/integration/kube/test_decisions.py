"""Pure decisions: the migration Job manifest and outcome (§8), rollout state (§9, K9), Lease and record encoding."""

import json
from pathlib import Path
from datetime import datetime, timedelta, timezone

import pytest

from shipit.core.errors import BadInput
from shipit.kube.lock import ci_url, holder_from_lease, micro_time
from shipit.kube.migration_job import build_job_manifest, decide_job, job_name
from shipit.kube.pods import PodState
from shipit.kube.records import ReleaseRecord, ReleaseStatus, record_from_configmap, record_to_configmap
from shipit.kube.rollout import DeploymentTemplate, RolloutState, decide_rollout, image_repository
from tests.integration.kube.snapshots import NOW, cond, cstatus, deployment, make_config, pod, replicaset, running, terminated, ts, waiting

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


def test_j3_complete_both_protocols():
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


def test_rollout_complete_only_by_kubectls_rule():
    dep = deployment()
    new = replicaset(dep, uid="rs2", revision="2", image="shop:v2")
    assert decide_rollout(dep, [new], [], now=NOW, ready_grace=60).state is RolloutState.COMPLETE
    for kw, fragment in [
        (dict(generation=3, observed=2), "spec update"),
        (dict(updated=2, total=3), "2 out of 3 new replicas"),
        (dict(updated=3, total=4), "1 old replicas"),
        (dict(available=2), "2 of 3 updated replicas are available"),
    ]:
        d = decide_rollout(deployment(**kw), [new], [], now=NOW, ready_grace=60)
        assert d.state is RolloutState.PROGRESSING and fragment in d.message, kw


def test_rollout_with_zero_counters_omitted():
    dep = deployment(updated=0, total=0, available=0, ready=0)
    d = decide_rollout(dep, [], [], now=NOW, ready_grace=60)
    assert d.state is RolloutState.PROGRESSING and d.progress.updated == 0


def test_rollout_progress_deadline_exceeded_fails():
    c = cond("Progressing", "False", "ProgressDeadlineExceeded", 'ReplicaSet "web-h" has timed out progressing.')
    d = decide_rollout(deployment(updated=1, available=2, conditions=[c]), [], [], now=NOW, ready_grace=60)
    assert d.state is RolloutState.FAILED


def test_rollout_fails_fast_on_new_pods_only():
    dep = deployment(updated=1, total=4, available=3)
    old = replicaset(dep, uid="rs1", revision="1", image="shop:v1")
    new = replicaset(dep, uid="rs2", revision="2", image="shop:v2")
    crashing_old = pod("web-old", owner_uid="rs1", containers=[cstatus(state=waiting("CrashLoopBackOff"), last=terminated(1), restarts=4)])
    healthy_new = pod("web-new-1", owner_uid="rs2", containers=[cstatus(state=running(), ready=True)], conditions=[cond("Ready", "True")])
    assert decide_rollout(dep, [old, new], [crashing_old, healthy_new], now=NOW, ready_grace=60).state is RolloutState.PROGRESSING
    crashing_new = pod("web-new-2", owner_uid="rs2", containers=[cstatus(state=waiting("CrashLoopBackOff"), last=terminated(1), restarts=1)])
    d = decide_rollout(dep, [old, new], [crashing_old, healthy_new, crashing_new], now=NOW, ready_grace=60)
    assert d.state is RolloutState.FAILED
    assert [name for name, _ in d.failing] == ["web-new-2"]


def test_rollout_not_ready_after_grace():
    dep = deployment(updated=1, total=4, available=3)
    new = replicaset(dep, uid="rs2", revision="2", image="shop:v2")
    p = pod("web-new", owner_uid="rs2", containers=[cstatus(state=running(ago=30))], conditions=[cond("Ready", "False", "ContainersNotReady")])
    assert decide_rollout(dep, [new], [p], now=NOW, ready_grace=60).state is RolloutState.PROGRESSING
    d = decide_rollout(dep, [new], [p], now=NOW, ready_grace=20)
    assert d.state is RolloutState.FAILED and d.failing[0][1].state is PodState.NOT_READY


def test_image_repository():
    assert image_repository("registry:5000/shop:abc") == "registry:5000/shop"
    assert image_repository("registry:5000/shop") == "registry:5000/shop"
    assert image_repository("shop@sha256:" + "a" * 64) == "shop"


def test_h7_micro_time_always_six_digits():
    assert micro_time(datetime(2026, 1, 1, tzinfo=timezone.utc)) == "2026-01-01T00:00:00.000000Z"
    plus2 = timezone(timedelta(hours=2))
    assert micro_time(datetime(2026, 1, 1, 2, 0, 0, 5, tzinfo=plus2)) == "2026-01-01T00:00:00.000005Z"
    with pytest.raises(ValueError):
        micro_time(datetime(2026, 1, 1))


def test_holder_from_lease():
    lease = {
        "metadata": {"name": "shipit-shop", "annotations": {"shipit.dev/user": "alice", "shipit.dev/host": "ci-1",
                                                             "shipit.dev/ci-url": "https://ci/1", "shipit.dev/release": "r0003"}},
        "spec": {"holderIdentity": "alice@ci-1/abc", "leaseDurationSeconds": 60, "acquireTime": "2026-01-01T11:59:00.000000Z",
                 "renewTime": "2026-01-01T11:59:30.123456Z"},
    }
    h = holder_from_lease(lease)
    assert (h.user, h.host, h.ci_url, h.release_id) == ("alice", "ci-1", "https://ci/1", "r0003")
    assert h.expires == datetime(2026, 1, 1, 12, 0, 30, 123456, tzinfo=timezone.utc)
    assert "expires in 30s" in h.describe(NOW)
    assert holder_from_lease({"metadata": {"name": "x"}, "spec": {"leaseDurationSeconds": 60}}) is None


def test_ci_url_sources():
    gh = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "42"}
    assert ci_url(gh) == "https://github.com/acme/shop/actions/runs/42"
    assert ci_url({"CI_JOB_URL": "https://gitlab/j/1"}) == "https://gitlab/j/1"
    assert ci_url({}) is None


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


def test_label_selector_query_string():
    from shipit.kube.rollout import label_selector

    assert label_selector({"matchLabels": {"app": "web", "tier": "front"}}) == "app=web,tier=front"
    assert label_selector({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "track", "operator": "In", "values": ["stable", "canary"]},
        {"key": "env", "operator": "NotIn", "values": ["dev"]},
        {"key": "team", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"},
    ]}) == "app=web,track in (stable,canary),env notin (dev),team,!legacy"
