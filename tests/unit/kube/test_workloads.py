"""Each workload kind's own rollout rule, image handling and GitOps ownership. Pure: objects as the API returns them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shipit.core.config_code import CodeStrategy
from shipit.kube.workloads import Verdict, gitops_controller, gitops_refusal, kind_of, set_image

NOW = datetime(2026, 12, 5, 12, 0, 0, tzinfo=timezone.utc)


def _sts(replicas=3, partition=0, updated=3, ready=3, current="web-2", update="web-2", generation=2, observed=2):
    return {"kind": "StatefulSet", "metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": replicas, "updateStrategy": {"type": "RollingUpdate",
                                                             "rollingUpdate": {"partition": partition}},
                     "template": {"spec": {"containers": [{"name": "app", "image": "reg/shop:new"}]}}},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "readyReplicas": ready,
                       "currentRevision": current, "updateRevision": update}}


def _pod(name, owner_kind, owner, labels, *, waiting=None, ready=True):
    status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
              "containerStatuses": [{"name": "app", "ready": ready, "restartCount": 0,
                                     "state": {"waiting": {"reason": waiting}} if waiting else
                                     {"running": {"startedAt": "2026-12-05T11:59:00Z"}}}]}
    return {"metadata": {"name": name, "labels": labels, "creationTimestamp": "2026-12-05T11:58:00Z",
                         "ownerReferences": [{"kind": owner_kind, "name": owner}]},
            "spec": {"containers": [{"name": "app", "image": "reg/shop:new"}]}, "status": status}


def decide(obj, pods=()):
    return kind_of(obj).decide(obj, list(pods), NOW, 30.0)


def test_statefulset_complete_only_when_every_pod_is_updated_ready_and_the_revision_switched():
    assert decide(_sts()).verdict is Verdict.COMPLETE
    assert decide(_sts(updated=1)).message == "1 of 3 pods updated"
    assert decide(_sts(ready=2)).verdict is Verdict.PROGRESSING
    assert decide(_sts(current="web-1")).verdict is Verdict.PROGRESSING
    assert decide(_sts(observed=1)).message == "waiting for the spec update to be observed"


def test_statefulset_with_a_partition_is_done_when_the_ordinals_above_it_are_updated():
    v = decide(_sts(partition=2, updated=1, current="web-1"))
    assert v.verdict is Verdict.COMPLETE and "partition 2" in v.message


def test_statefulset_fails_fast_on_a_crash_looping_pod_of_the_new_revision_only():
    old_broken = _pod("web-0", "StatefulSet", "web", {"controller-revision-hash": "web-1"}, waiting="CrashLoopBackOff",
                      ready=False)
    assert decide(_sts(updated=1), [old_broken]).verdict is Verdict.PROGRESSING
    new_broken = _pod("web-2", "StatefulSet", "web", {"controller-revision-hash": "web-2"}, waiting="CrashLoopBackOff",
                      ready=False)
    v = decide(_sts(updated=1), [new_broken])
    assert v.verdict is Verdict.FAILED and v.failing[0][0] == "web-2" and "CrashLoopBackOff" in v.message


def test_daemonset_counts_nodes_and_watches_pods_of_its_current_generation():
    ds = {"kind": "DaemonSet", "metadata": {"name": "agent", "generation": 4},
          "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "reg/shop:new"}]}}},
          "status": {"observedGeneration": 4, "desiredNumberScheduled": 2, "updatedNumberScheduled": 1,
                     "numberAvailable": 1}}
    assert decide(ds).message == "1 of 2 nodes updated"
    ds["status"].update(updatedNumberScheduled=2, numberAvailable=2)
    assert decide(ds).verdict is Verdict.COMPLETE
    pull = _pod("agent-x", "DaemonSet", "agent", {"pod-template-generation": "4"}, waiting="ImagePullBackOff",
                ready=False)
    assert decide(ds, [pull]).verdict is Verdict.FAILED


def test_cronjob_has_no_rollout_but_its_template_image_is_found_and_set():
    cj = {"kind": "CronJob", "metadata": {"name": "nightly"},
          "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
              "containers": [{"name": "task", "image": "reg/shop:old"}, {"name": "proxy", "image": "cloudsql:1"}]}}}}}}
    assert kind_of(cj).images(cj) == {"task": "reg/shop:old", "proxy": "cloudsql:1"}
    assert set_image(cj, "reg/shop", "reg/shop:new") == ("task",)
    assert kind_of(cj).images(cj) == {"task": "reg/shop:new", "proxy": "cloudsql:1"}
    assert set_image(cj, "reg/shop", "reg/shop:new") == ()  # already there: nothing to change
    assert decide(cj).verdict is Verdict.COMPLETE


def test_job_runs_to_completion_and_its_failure_condition_fails():
    job = {"kind": "Job", "metadata": {"name": "seed"}, "spec": {"template": {}}, "status": {}}
    assert decide(job).verdict is Verdict.PROGRESSING
    job["status"]["conditions"] = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    assert decide(job).verdict is Verdict.FAILED and "BackoffLimitExceeded" in decide(job).message
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert decide(job).verdict is Verdict.COMPLETE


def test_objects_without_pods_only_need_to_exist():
    cm = {"kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"A": "1"}}
    assert decide(cm).verdict is Verdict.COMPLETE and kind_of(cm).images(cm) == {}
    assert set_image(cm, "reg/shop", "reg/shop:new") == ()


@pytest.mark.parametrize("meta, who, mark", [
    ({"annotations": {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:prod/web"}}, "Argo CD",
     "annotation argocd.argoproj.io/tracking-id"),
    ({"annotations": {"argocd.argoproj.io/instance": "shop"}}, "Argo CD", "annotation argocd.argoproj.io/instance"),
    ({"labels": {"argocd.argoproj.io/instance": "shop"}}, "Argo CD", "label argocd.argoproj.io/instance"),
    ({"labels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/managed-by": "argocd"}}, "Argo CD",
     "label app.kubernetes.io/instance with app.kubernetes.io/managed-by=argocd"),
    ({"labels": {"kustomize.toolkit.fluxcd.io/namespace": "flux", "kustomize.toolkit.fluxcd.io/name": "shop"}},
     "Flux", "label kustomize.toolkit.fluxcd.io/name"),
    ({"labels": {"helm.toolkit.fluxcd.io/name": "shop"}}, "Flux", "label helm.toolkit.fluxcd.io/name"),
    ({"labels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/managed-by": "ArgoCD"}}, "Argo CD",
     "label app.kubernetes.io/instance with app.kubernetes.io/managed-by=argocd"),
    ({"labels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/managed-by": "Helm"}}, None, None),
    ({"labels": {"app.kubernetes.io/instance": "shop"}}, None, None),
    ({"labels": {"app.kubernetes.io/managed-by": "argocd"}}, None, None),
    ({}, None, None),
])
def test_gitops_ownership_from_argo_and_flux_marks(meta, who, mark):
    owner = gitops_controller({"kind": "Deployment", "metadata": {"name": "web", **meta}})
    assert (owner.controller, owner.mark) == (who, mark) if who else owner is None


ARGO_WEB = {"kind": "Deployment", "metadata": {"name": "web", "annotations": {
    "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:prod/web"}}}
PLAIN_WORKER = {"kind": "Deployment", "metadata": {"name": "worker"}}


@pytest.mark.parametrize("strategy", [s for s in CodeStrategy if s is not CodeStrategy.GITOPS])
def test_a_gitops_managed_object_refuses_every_strategy_that_changes_the_cluster_itself(strategy):
    why = gitops_refusal(strategy, [PLAIN_WORKER, ARGO_WEB])
    assert why.startswith("Deployment web is applied by Argo CD (annotation argocd.argoproj.io/tracking-id).")
    assert f"code.strategy: {strategy.value} shipit would change them" in why
    assert "Argo CD would revert shipit's change" in why and "Set code.strategy: gitops" in why
    assert "worker" not in why


def test_no_refusal_without_gitops_marks_or_with_the_gitops_strategy():
    assert gitops_refusal(CodeStrategy.IMAGE, [PLAIN_WORKER]) is None
    assert gitops_refusal(CodeStrategy.GITOPS, [ARGO_WEB]) is None


def test_refusal_names_every_controller_once():
    flux = {"kind": "StatefulSet", "metadata": {"name": "db", "labels": {"kustomize.toolkit.fluxcd.io/name": "a"}}}
    why = gitops_refusal(CodeStrategy.IMAGE, [ARGO_WEB, flux])
    assert "StatefulSet db is applied by Flux (label kustomize.toolkit.fluxcd.io/name)" in why
    assert "Argo CD and Flux would revert" in why


def health(obj):
    return kind_of(obj).health_problem(obj)


def test_a_statefulset_is_healthy_for_a_release_only_ready_and_with_no_rollout_under_way():
    assert health(_sts()) is None
    assert health(_sts(ready=2)) == "StatefulSet web is not healthy before the release (2/3 ready)"
    assert health(_sts(updated=1, current="web-1")) == (
        "StatefulSet web is not healthy before the release (a rollout is in progress: 1/3 pods on update revision "
        "web-2, current revision web-1)")
    # every pod updated and ready, but the controller has not switched the current revision yet: still rolling
    assert "a rollout is in progress" in health(_sts(current="web-1"))
    assert "not yet observed" in health(_sts(observed=1))


def test_a_statefulset_held_at_a_partition_is_healthy_when_the_ordinals_above_it_are_updated():
    assert health(_sts(partition=2, updated=1, current="web-1")) is None
    assert "rollout is in progress" in health(_sts(partition=1, updated=1, current="web-1"))


def test_a_deployment_is_healthy_with_every_replica_available_and_a_cronjob_once_it_exists():
    dep = {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2},
           "status": {"availableReplicas": 1}}
    assert health(dep) == "Deployment web is not healthy before the release (1/2 available)"
    assert health({**dep, "status": {"availableReplicas": 2}}) is None
    cron = {"kind": "CronJob", "metadata": {"name": "nightly"}, "spec": {"suspend": True}, "status": {}}
    assert health(cron) is None
