"""Each kind's undo rule without a recorded template, over objects as the API returns them: a StatefulSet goes back
to its second-newest ControllerRevision (only when the newest is its template), a Deployment to its second-newest
ReplicaSet, a CronJob refuses; every refusal is said at once and nothing is planned."""

from __future__ import annotations

import pytest

from shipit.kube.undo import NoHistory, plan_undo


def template(image: str) -> dict:
    return {"metadata": {"labels": {"app": "mailer"}}, "spec": {"containers": [{"name": "app", "image": image}]}}


def sts(image: str = "r/shop:v2") -> dict:
    return {"kind": "StatefulSet", "metadata": {"name": "mailer", "uid": "s1"}, "spec": {"template": template(image)}}


def revision(name: str, number: int, image: str, *, owner: str = "s1") -> dict:
    # the API server stores the template as a strategic merge patch that replaces it whole
    return {"metadata": {"name": name, "ownerReferences": [{"uid": owner, "controller": True}]}, "revision": number,
            "data": {"spec": {"template": {**template(image), "$patch": "replace"}}}}


def plan(objects, history):
    return plan_undo(objects, lambda kind: history.get(kind, []))


def test_a_statefulset_goes_back_to_its_second_newest_controller_revision_whole():
    history = {"StatefulSet": [revision("mailer-c", 3, "r/shop:v2"), revision("mailer-a", 1, "r/shop:v0"),
                               revision("mailer-b", 2, "r/shop:v1"), revision("other-z", 9, "r/x:1", owner="o")]}
    (u,) = plan([sts()], history)
    assert (u.kind, u.name, u.to) == ("StatefulSet", "mailer", "mailer-b")
    assert u.patch == [{"op": "replace", "path": "/spec/template", "value": template("r/shop:v1")}]


@pytest.mark.parametrize("revisions, words", [
    ([revision("mailer-a", 1, "r/shop:v2")], "no rollout history to undo for StatefulSet mailer"),
    ([revision("mailer-a", 1, "r/shop:v0"), revision("mailer-b", 2, "r/shop:v1")],
     "newest ControllerRevision mailer-b is not its template yet"),
])
def test_a_statefulset_without_a_trustworthy_previous_revision_refuses(revisions, words):
    with pytest.raises(NoHistory, match=words):
        plan([sts()], {"StatefulSet": revisions})


def deployment(image: str, *, paused: bool = False) -> dict:
    return {"kind": "Deployment", "metadata": {"name": "web", "uid": "d1", "annotations": {
        "deployment.kubernetes.io/revision": "2"}}, "spec": {"paused": paused, "template": template(image)}}


def replicaset(number: int, image: str) -> dict:
    return {"metadata": {"name": f"web-{number}", "ownerReferences": [{"uid": "d1", "controller": True}],
                         "annotations": {"deployment.kubernetes.io/revision": str(number)}},
            "spec": {"template": template(image)}}


def test_a_deployment_goes_back_to_its_previous_replicaset_and_skips_when_already_there():
    history = {"Deployment": [replicaset(1, "r/shop:v1"), replicaset(2, "r/shop:v2")]}
    (u,) = plan([deployment("r/shop:v2")], history)
    assert u.to == "1" and u.patch[0] == {"op": "replace", "path": "/spec/template", "value": template("r/shop:v1")}
    (same,) = plan([deployment("r/shop:v1")], history)
    assert same.patch is None


def test_every_refusal_is_said_at_once_and_nothing_is_planned():
    cron = {"kind": "CronJob", "metadata": {"name": "nightly"}, "spec": {}}
    history = {"Deployment": [replicaset(1, "r/shop:v1"), replicaset(2, "r/shop:v2")]}
    with pytest.raises(NoHistory) as e:
        plan([deployment("r/shop:v2"), deployment("r/shop:v2", paused=True), cron,
              {"kind": "DaemonSet", "metadata": {"name": "agent"}}], history)
    message = str(e.value)
    assert "Deployment web is paused" in message
    assert "CronJob nightly keeps no history of its template and none was recorded" in message
    assert "DaemonSet agent: shipit has no undo rule for this kind" in message
    assert message.endswith("Nothing was changed")
