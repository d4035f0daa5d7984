"""The image strategy's StatefulSets and CronJobs: `workloads:` config, each kind's patch at its own template path,
the OnDelete refusal, and what the code phase says serves."""

import pytest

from shipit.core import config
from shipit.core.config_code import WorkloadKind
from shipit.core.errors import BadInput, ConfigError
from shipit.kube.serving import WorkloadImages, app_containers, decide_code, serving_groups
from shipit.kube.workloads import KINDS
from tests.unit.core.test_config import MINIMAL

T = "reg/shop:new"
OLD = "reg/shop:old"


def parse(extra: str):
    return config.parse(MINIMAL + extra, env={})


def sts(name="worker", strategy=None, **containers):
    spec = {"template": {"spec": {"containers": [{"name": c, "image": i} for c, i in containers.items()]}}}
    if strategy:
        spec["updateStrategy"] = {"type": strategy}
    return {"kind": "StatefulSet", "metadata": {"name": name}, "spec": spec}


def cronjob(name="nightly", **containers):
    pod = {"spec": {"containers": [{"name": c, "image": i} for c, i in containers.items()]}}
    return {"kind": "CronJob", "metadata": {"name": name}, "spec": {"jobTemplate": {"spec": {"template": pod}}}}


def test_workloads_parse_by_kind_and_deployments_join_deployments():
    cfg = parse("workloads:\n  - {kind: StatefulSet, name: worker, containers: [app]}\n"
                "  - {kind: CronJob, name: nightly}\n  - {kind: Deployment, name: api}\n")
    assert [d.name for d in cfg.deployments] == ["web", "api"]
    assert [(w.kind, w.name, w.containers) for w in cfg.workloads] == [
        (WorkloadKind.STATEFULSET, "worker", ("app",)), (WorkloadKind.CRONJOB, "nightly", ())]
    assert [(w.kind.value, w.name) for w in cfg.all_workloads()] == [
        ("Deployment", "web"), ("Deployment", "api"), ("StatefulSet", "worker"), ("CronJob", "nightly")]
    assert parse("").workloads == ()


@pytest.mark.parametrize("extra, words", [
    ("workloads:\n  - {kind: DaemonSet, name: agent}\n", ["workloads[0].kind", "Deployment, StatefulSet, CronJob"]),
    ("workloads:\n  - {kind: CronJob}\n", ["workloads[0].name", "required"]),
    ("workloads:\n  - {kind: CronJob, name: a, image: x}\n", ["workloads[0].image", "unknown key"]),
    ("workloads:\n  - {kind: CronJob, name: a}\n  - {kind: CronJob, name: a}\n", ["CronJob a", "more than once"]),
])
def test_bad_workloads_name_the_key(extra, words):
    with pytest.raises(ConfigError) as e:
        parse(extra)
    assert all(w in str(e.value) for w in words), str(e.value)


def test_each_kind_patches_its_own_template_path():
    assert KINDS["StatefulSet"].image_patch(["app"], T) == {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": T}]}}}}
    assert KINDS["CronJob"].image_patch(["app", "job"], T) == {"spec": {"jobTemplate": {"spec": {"template": {
        "spec": {"containers": [{"name": "app", "image": T}, {"name": "job", "image": T}]}}}}}}
    template = {"spec": {"containers": [{"name": "app", "image": OLD}]}}
    assert KINDS["CronJob"].template_patch(template) == [
        {"op": "replace", "path": "/spec/jobTemplate/spec/template", "value": template}]
    assert KINDS["StatefulSet"].template_patch(template)[0]["path"] == "/spec/template"


def test_an_ondelete_statefulset_cannot_be_rolled_by_a_patch():
    why = KINDS["StatefulSet"].unpatchable(sts(strategy="OnDelete", app=OLD))
    assert "StatefulSet worker" in why and "OnDelete" in why and "RollingUpdate" in why and "Nothing was changed" in why
    assert KINDS["StatefulSet"].unpatchable(sts(strategy="RollingUpdate", app=OLD)) is None
    assert KINDS["StatefulSet"].unpatchable(sts(app=OLD)) is None
    assert KINDS["CronJob"].unpatchable(cronjob(app=OLD)) is None


def test_app_containers_of_every_kind():
    assert app_containers(sts(app=OLD, proxy="gcr.io/proxy:1"), (), "reg/shop") == {"app": OLD}
    assert app_containers(cronjob(job=OLD), (), "reg/shop") == {"job": OLD}
    with pytest.raises(BadInput) as e:
        app_containers(cronjob(job=OLD), ("app",), "reg/shop")
    assert "workloads[nightly].containers: app not in CronJob nightly (has job)" in str(e.value)
    with pytest.raises(BadInput) as e:
        app_containers(sts(proxy="gcr.io/proxy:1"), (), "reg/shop")
    assert "StatefulSet worker: no container uses image repository reg/shop" in str(e.value)


def test_every_kind_behind_the_target_is_rolled_and_a_cronjob_says_when_it_runs_it():
    current = [WorkloadImages("web", {"web": T}), WorkloadImages("worker", {"app": OLD}, "StatefulSet"),
               WorkloadImages("nightly", {"job": OLD}, "CronJob")]
    d = decide_code(current, T)
    assert d.to_roll == ("StatefulSet/worker", "CronJob/nightly")
    assert d.serving == {"web": {"web": T}, "StatefulSet/worker": {"app": OLD}, "CronJob/nightly": {"job": OLD}}
    done = decide_code([WorkloadImages(w.name, {c: T for c in w.images}, w.kind) for w in current], T)
    assert done.to_roll == ()
    assert done.describe() == (f"web, StatefulSet/worker, CronJob/nightly serving {T} "
                               "(CronJob nightly: template updated, the next run uses it)")


def test_the_example_config_documents_workloads():
    from tests.unit.core.test_config import EXAMPLE

    cfg = config.load(EXAMPLE, env={"SHIPIT_DB_PASSWORD": "pw"})
    assert [(w.kind.value, w.name, w.containers) for w in cfg.workloads] == [
        ("StatefulSet", "mailer", ()), ("CronJob", "nightly", ("nightly",))]


def test_the_serving_groups_groups_workloads_by_image_and_says_a_cronjob_runs_it_next():
    same = (WorkloadImages("web", {"web": "r/shop:b"}), WorkloadImages("mailer", {"mailer": "r/shop:b"}, "StatefulSet"),
            WorkloadImages("nightly", {"nightly": "r/shop:a"}, "CronJob"))
    assert serving_groups(same) == ("web, StatefulSet/mailer on r/shop:b", "CronJob/nightly (next run) on r/shop:a")
