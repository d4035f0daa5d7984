"""Whole releases in `image` mode over `workloads:`: the web Deployment, a StatefulSet worker and a CronJob get the
release's image (the CronJob's next run uses it, and the code phase says so); a release whose image crash-loops the
StatefulSet is reverted, every workload's template put back and the StatefulSet's pods on the old image again."""

from __future__ import annotations

import re
import time

from tests.kubesim import resources as R
from tests.support.sandbox import NAMESPACE

WORKLOADS = [{"kind": "StatefulSet", "name": "mailer"}, {"kind": "CronJob", "name": "nightly"}]


def _phase(out: dict, name: str) -> dict:
    return next(p for p in out["phases"] if p["phase"] == name)


def add_statefulset_and_cronjob(sb, sha: str) -> None:
    """A StatefulSet and a CronJob running the app's image, as the sandbox's Deployments do."""
    container = {"image": sb.image(sha), "workingDir": str(sb.repo),
                 "env": [{"name": "RAILS_ENV", "value": "development"},
                         {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "shop-db",
                                                                                 "key": "DATABASE_URL"}}}]}
    sb._apply({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "mailer", "namespace": NAMESPACE},
               "spec": {"replicas": 2, "serviceName": "mailer", "selector": {"matchLabels": {"app": "mailer"}},
                        "template": {"metadata": {"labels": {"app": "mailer"}},
                                     "spec": {"containers": [{"name": "mailer", **container}]}}}})
    sb._apply({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": NAMESPACE},
               "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                   "restartPolicy": "OnFailure", "containers": [{"name": "nightly", **container}]}}}}}})
    deadline = time.monotonic() + 60
    while (sb.cluster.store.get(R.STATEFULSETS, NAMESPACE, "mailer").get("status") or {}).get("readyReplicas") != 2:
        assert time.monotonic() < deadline, "StatefulSet mailer never became ready"
        time.sleep(0.2)


def workload_images(sb) -> dict[str, str]:
    sts = sb.cluster.store.get(R.STATEFULSETS, NAMESPACE, "mailer")["spec"]["template"]
    cron = sb.cluster.store.get(R.CRONJOBS, NAMESPACE, "nightly")["spec"]["jobTemplate"]["spec"]["template"]
    return {**sb.deployment_images(), "mailer": sts["spec"]["containers"][0]["image"],
            "nightly": cron["spec"]["containers"][0]["image"]}


def mailer_pod_images(sb) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in sb.cluster.store.list(R.PODS, NAMESPACE)[0]
            if p["metadata"]["name"].startswith("mailer-") and not p["metadata"].get("deletionTimestamp")}


def release(sb):
    r = sb.shipit("release", "--yes", "--output", "json")
    sb.assert_no_secret(r)
    return r


def test_the_image_reaches_every_workload_and_a_crashing_statefulset_is_reverted(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    add_statefulset_and_cronjob(sb, base)
    sb.write_config(workloads=WORKLOADS)

    target = sb.change_code()
    r = release(sb)
    assert r.code == 0, r.text
    want = sb.image(target)
    assert workload_images(sb) == {"web": want, "worker": want, "mailer": want, "nightly": want}
    code = _phase(r.json(), "code")
    assert code["status"] == "succeeded"
    assert "StatefulSet/mailer" in code["message"] and "CronJob nightly: template updated, the next run uses it" in \
        code["message"], code["message"]
    assert mailer_pod_images(sb) == {want}

    crashing = sb.change_code("app/models/user.rb", "class User < ActiveRecord::Base\n  # v3\nend\n")
    sb.crash_image(crashing)
    r = release(sb)
    assert r.code == 1, r.text
    out = r.json()
    assert out["status"] == "reverted" and _phase(out, "revert")["status"] == "succeeded", r.text
    rollout, revert = r.stderr.split("Automatic revert", 1)
    # every workload runs the crashing image: whichever crash-loops first fails the rollout
    assert re.search(r"(Deployment/web|Deployment/worker|StatefulSet/mailer): new pods failing: CrashLoopBackOff",
                     rollout), r.stderr
    assert "StatefulSet/mailer: " in rollout, r.stderr  # watched with the Deployments
    assert "StatefulSet/mailer: rolled out" in revert, r.stderr
    assert workload_images(sb) == {"web": want, "worker": want, "mailer": want, "nightly": want}
    deadline = time.monotonic() + 30
    while mailer_pod_images(sb) != {want}:  # the revert deleted the failed revision's pod; the controller replaces it
        assert time.monotonic() < deadline, mailer_pod_images(sb)
        time.sleep(0.2)
