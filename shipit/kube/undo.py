"""Putting a workload's previous pod template back when no template was recorded (records pruned, a release recorded
before shipit recorded that workload): each kind by its own rule, as `kubectl rollout undo` does. A Deployment goes back
to its second-newest ReplicaSet's template, a StatefulSet to its second-newest ControllerRevision's; a CronJob keeps no
history, so it refuses. Every workload is read and planned before the first patch: a refusal leaves nothing changed.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from shipit.core.errors import ShipitError
from shipit.core.log import get_logger
from shipit.kube.rollout import REVISION, controlled_by, without_hash
from shipit.kube.workloads import KINDS

log = get_logger()


class NoHistory(ShipitError):
    """A workload whose previous template cannot be found; nothing was changed."""


@dataclasses.dataclass(frozen=True)
class Undo:
    kind: str
    name: str
    patch: list[dict] | None  # JSON patch; None when it already runs the previous template
    to: str  # the revision it goes back to


def _deployment(obj: dict, replicasets: Sequence[dict]) -> Undo:
    """Back to the second-newest ReplicaSet's template, with its annotations (the revision ones kept)."""
    name = obj["metadata"]["name"]
    if obj["spec"].get("paused"):
        raise NoHistory(f"Deployment {name} is paused; resume it (kubectl rollout resume) before rolling back")
    uid = obj["metadata"]["uid"]
    owned = [rs for rs in replicasets if controlled_by(rs, uid) and (rs["metadata"].get("annotations") or {}).get(REVISION)]
    owned.sort(key=lambda rs: int(rs["metadata"]["annotations"][REVISION]))
    if len(owned) < 2:
        raise NoHistory(f"no rollout history to undo for Deployment {name}")
    target = owned[-2]
    to = target["metadata"]["annotations"][REVISION]
    template = without_hash(target["spec"]["template"])
    if template == without_hash(obj["spec"]["template"]):
        return Undo("Deployment", name, None, to)
    keep = {k: v for k, v in (obj["metadata"].get("annotations") or {}).items()
            if k.startswith("deployment.kubernetes.io/") or k == "kubectl.kubernetes.io/last-applied-configuration"}
    rs_annotations = {k: v for k, v in (target["metadata"].get("annotations") or {}).items()
                      if not k.startswith("deployment.kubernetes.io/")}
    return Undo("Deployment", name, [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": {**rs_annotations, **keep}},
    ], to)


def _revision_template(revision: dict) -> dict:
    """A ControllerRevision's pod template (the API server stores it as a strategic merge patch with `$patch`)."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def _statefulset(obj: dict, revisions: Sequence[dict]) -> Undo:
    """Back to the second-newest ControllerRevision's template; the newest must be the template it has now (a change
    the controller has not recorded yet would make the second-newest the wrong one)."""
    name, uid = obj["metadata"]["name"], obj["metadata"]["uid"]
    owned = sorted((r for r in revisions if controlled_by(r, uid)), key=lambda r: r.get("revision", 0))
    if len(owned) < 2:
        raise NoHistory(f"no rollout history to undo for StatefulSet {name} (one ControllerRevision)")
    newest, target = owned[-1], owned[-2]
    current = obj["spec"]["template"]
    if _revision_template(newest) != current:
        raise NoHistory(f"StatefulSet {name}'s newest ControllerRevision {newest['metadata']['name']} is not its "
                        "template yet (the controller has not recorded the last change): no previous revision to trust")
    return Undo("StatefulSet", name, KINDS["StatefulSet"].template_patch(_revision_template(target)),
                target["metadata"]["name"])


def _cronjob(obj: dict, history: Sequence[dict]) -> Undo:
    name = obj["metadata"]["name"]
    raise NoHistory(f"CronJob {name} keeps no history of its template and none was recorded, so shipit cannot tell "
                    f"which image it ran before: set it yourself (kubectl set image cronjob/{name} CONTAINER=IMAGE)")


@dataclasses.dataclass(frozen=True)
class UndoRule:
    history: Callable[[Any], list[dict]]  # kube -> the namespace's objects that keep the kind's past templates
    plan: Callable[[dict, Sequence[dict]], Undo]
    patch: Callable[[Any], Callable[..., Any]]  # kube -> the kind's patch method


UNDO: dict[str, UndoRule] = {
    "Deployment": UndoRule(lambda kube: kube.list_json(kube.apps.list_namespaced_replica_set, kube.namespace)[0],
                           _deployment, lambda kube: kube.apps.patch_namespaced_deployment),
    "StatefulSet": UndoRule(
        lambda kube: kube.list_json(kube.apps.list_namespaced_controller_revision, kube.namespace)[0],
        _statefulset, lambda kube: kube.apps.patch_namespaced_stateful_set),
    "CronJob": UndoRule(lambda kube: [], _cronjob, lambda kube: kube.batch.patch_namespaced_cron_job),
}


def plan_undo(objects: Sequence[dict], history: Callable[[str], Sequence[dict]]) -> tuple[Undo, ...]:
    """Pure over what was read: each object's undo by its kind's rule; every refusal at once, nothing planned."""
    undos, refusals = [], []
    for obj in objects:
        rule = UNDO.get(obj["kind"])
        if rule is None:
            refusals.append(f"{obj['kind']} {obj['metadata']['name']}: shipit has no undo rule for this kind")
            continue
        try:
            undos.append(rule.plan(obj, history(obj["kind"])))
        except NoHistory as e:
            refusals.append(str(e))
    if refusals:
        raise NoHistory("no recorded template to restore and " + "; ".join(refusals) + ". Nothing was changed")
    return tuple(undos)


def undo(kube: Any, objects: Sequence[dict]) -> tuple[Undo, ...]:
    """Adapter: every object back to its previous template, or NoHistory with nothing changed."""
    read: dict[str, list[dict]] = {}

    def history(kind: str) -> list[dict]:
        if kind not in read:
            read[kind] = UNDO[kind].history(kube)
        return read[kind]

    undos = plan_undo(objects, history)
    for u in undos:
        if u.patch is None:
            log.info("undo skipped: template already the previous one", kind=u.kind, name=u.name)
            continue
        kube.send(UNDO[u.kind].patch(kube), u.name, kube.namespace, u.patch)
        log.info("workload rolled back", kind=u.kind, name=u.name, to_revision=u.to)
    return undos
