"""Whole releases in `image` mode over `workloads:`: the web Deployment, a StatefulSet worker and a CronJob get the
release's image (the CronJob's next run uses it, and the code phase says so); a release whose image crash-loops the
StatefulSet is reverted, every workload's template put back and the StatefulSet's pods on the old image again;
`shipit rollback` restores a StatefulSet's and a CronJob's image, and refuses a record that holds no template of them."""

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


def test_rollback_puts_back_the_statefulset_and_cronjob_images_and_refuses_a_record_made_before_them(sandbox):
    sb = sandbox
    base = sb.bootstrap()  # r0001
    add_statefulset_and_cronjob(sb, base)
    first = sb.change_code()
    assert release(sb).code == 0  # r0002: workloads: not configured yet, so its record holds the Deployments only
    sb.write_config(workloads=WORKLOADS)
    second = sb.change_code("app/models/user.rb", "class User < ActiveRecord::Base\n  # v3\nend\n")
    assert release(sb).code == 0  # r0003
    want = sb.image(second)
    assert workload_images(sb) == {"web": want, "worker": want, "mailer": want, "nightly": want}

    r = sb.shipit("rollback", "--to", "r0001", "--output", "json")
    assert r.code == 3, r.text
    assert "r0002's record holds no template of StatefulSet/mailer, CronJob/nightly" in r.text, r.text
    assert workload_images(sb) == {"web": want, "worker": want, "mailer": want, "nightly": want}

    r = sb.shipit("rollback", "--output", "json")  # to r0002: what it left serving, r0003 recorded
    assert r.code == 0, r.text
    assert r.json()["status"] == "succeeded" and r.json()["image_after"] == sb.image(first), r.text
    old = sb.image(base)  # the StatefulSet and the CronJob still ran the bootstrap's image at r0002
    assert workload_images(sb) == {"web": sb.image(first), "worker": sb.image(first), "mailer": old, "nightly": old}
    assert mailer_pod_images(sb) == {old}  # the rollback watched the StatefulSet to its rolled-out state
    statuses = {h["release"]: h["status"] for h in sb.history()}
    assert statuses == {"r0004": "succeeded", "r0003": "rolled_back", "r0002": "succeeded", "r0001": "succeeded"}

    status = sb.status()
    assert status["serving"]["StatefulSet/mailer"] == {"mailer": old} and status["serving"]["CronJob/nightly"] == {
        "nightly": old} and status["serving"]["web"] == {"web": sb.image(first)}, status
    text = sb.shipit("status").stdout
    assert f"serving: web, worker on {sb.image(first)}\n         StatefulSet/mailer, CronJob/nightly (next run) on {old}\n" \
        in text, text

    d = sb.shipit("diagnose", "--output", "json", timeout=60)  # what serves, each kind judged by its own rule
    section = d.json()["sections"]["release"]
    workloads = {(w["kind"], w["name"]): (w["images"], w["rollout"]) for w in section["workloads"]}
    assert workloads == {("StatefulSet", "mailer"): ([old], "complete"), ("CronJob", "nightly"): ([old], "complete")}, \
        d.text
    assert d.json()["serving_commit"] is None  # the Deployments and the other workloads run different commits
