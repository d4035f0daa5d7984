"""Deployment controller: new ReplicaSet per template with pod-template-hash and
revision annotations, rolling update within maxSurge/maxUnavailable (or Recreate), observedGeneration, the
Progressing/Available conditions with their real reasons and messages including ProgressDeadlineExceeded,
revision history cleanup and paused deployments — what `kubectl rollout status/history/undo` read."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time

from tests.kubesim.clock import Clock, parse_time, rfc3339
from tests.kubesim.controllers.queue import WorkQueue, controller_ref, controller_uid, key_of, stored
from tests.kubesim.errors import ApiError
from tests.kubesim.events import EventRecorder
from tests.kubesim.resources import DEPLOYMENTS, REPLICASETS

COMPONENT = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
NOT_COPIED = {"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS,
              "deprecated.deployment.rollback.to"}
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


# --- pure helpers ------------------------------------------------------------------------------------------------

def template_hash(template: dict, collision_count: int = 0) -> str:
    """FNV-32a of the template, encoded like the real controller's rand.SafeEncodeString."""
    data = json.dumps(_normalized(template), sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_ALPHANUMS[ord(ch) % len(_ALPHANUMS)] for ch in str(h))


def _normalized(template: dict) -> dict:
    """A template as stored (null creationTimestamp dropped) without the pod-template-hash label."""
    t = copy.deepcopy(template or {})
    meta = t.get("metadata") or {}
    if meta.get("creationTimestamp") is None:
        meta.pop("creationTimestamp", None)
    labels = meta.get("labels") or {}
    labels.pop(HASH_LABEL, None)
    if not labels:
        meta.pop("labels", None)
    if not meta:
        t.pop("metadata", None)
    else:
        t["metadata"] = meta
    return t


def equal_ignore_hash(a: dict, b: dict) -> bool:
    return _normalized(a) == _normalized(b)


def _scaled(value, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def fenceposts(d: dict) -> tuple[int, int]:
    """(maxSurge, maxUnavailable): surge rounds up, unavailable down, never both zero."""
    spec = d["spec"]
    replicas = spec.get("replicas", 1)
    if spec.get("strategy", {}).get("type") == "Recreate":
        return 0, 0
    ru = spec.get("strategy", {}).get("rollingUpdate") or {}
    surge = _scaled(ru.get("maxSurge", "25%"), replicas, True)
    unavailable = _scaled(ru.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_unavailable(d: dict) -> int:
    replicas = d["spec"].get("replicas", 1)
    if d["spec"].get("strategy", {}).get("type") == "Recreate" or replicas == 0:
        return 0
    return min(fenceposts(d)[1], replicas)


def revision(rs: dict) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _rs_replicas(rs: dict) -> int:
    return rs["spec"].get("replicas", 0)


def _st(rs: dict, field: str) -> int:
    return (rs.get("status") or {}).get(field, 0)


def _created(rs: dict) -> tuple:
    return (rs["metadata"].get("creationTimestamp", ""), rs["metadata"]["name"])


def find_new_replicaset(d: dict, rss: list[dict]) -> dict | None:
    """The oldest ReplicaSet whose template equals the Deployment's, ignoring the hash."""
    matching = [rs for rs in rss if equal_ignore_hash(rs["spec"]["template"], d["spec"]["template"])]
    return min(matching, key=_created) if matching else None


def new_rs_replicas(d: dict, new_rs: dict, all_rss: list[dict]) -> int:
    """NewRSNewReplicas: how far the new ReplicaSet may scale up now."""
    replicas = d["spec"].get("replicas", 1)
    if d["spec"].get("strategy", {}).get("type") == "Recreate":
        return replicas
    surge, _ = fenceposts(d)
    current = sum(_rs_replicas(rs) for rs in all_rss)
    max_total = replicas + surge
    if current >= max_total:
        return _rs_replicas(new_rs)
    return _rs_replicas(new_rs) + min(max_total - current, replicas - _rs_replicas(new_rs))


def scale_down_old(d: dict, new_rs: dict, old_rss: list[dict]) -> dict[str, int]:
    """reconcileOldReplicaSets: new spec.replicas per old ReplicaSet name (unhealthy ones first, then oldest)."""
    replicas = d["spec"].get("replicas", 1)
    targets = {rs["metadata"]["name"]: _rs_replicas(rs) for rs in old_rss}
    if sum(targets.values()) == 0:
        return targets
    all_rss = old_rss + [new_rs]
    all_pods = sum(_rs_replicas(rs) for rs in all_rss)
    min_available = replicas - max_unavailable(d)
    new_unavailable = _rs_replicas(new_rs) - _st(new_rs, "availableReplicas")
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return targets
    cleaned = 0
    for rs in sorted(old_rss, key=_created):
        name = rs["metadata"]["name"]
        unhealthy = targets[name] - _st(rs, "availableReplicas")
        if targets[name] == 0 or unhealthy <= 0 or cleaned >= max_scaled_down:
            continue
        down = min(max_scaled_down - cleaned, unhealthy)
        targets[name] -= down
        cleaned += down
    # An old ReplicaSet just scaled down still reports the pods it is deleting as available until its controller
    # catches up; counting them would let a second pass scale below maxUnavailable (the real controller is kept
    # off that stale status by its pod-deletion expectations).
    available = sum(min(_st(rs, "availableReplicas"), targets.get(rs["metadata"]["name"], _rs_replicas(rs)))
                    for rs in all_rss)
    if available <= min_available:
        return targets
    budget = available - min_available
    scaled = 0
    for rs in sorted(old_rss, key=_created):
        name = rs["metadata"]["name"]
        if scaled >= budget:
            break
        if targets[name] == 0:
            continue
        down = min(targets[name], budget - scaled)
        targets[name] -= down
        scaled += down
    return targets


def calculate_status(d: dict, new_rs: dict | None, all_rss: list[dict]) -> dict:
    """calculateStatus: counters omitted when zero, Available from maxUnavailable."""
    available = sum(_st(rs, "availableReplicas") for rs in all_rss)
    counters = {
        "observedGeneration": d["metadata"].get("generation", 1),
        "replicas": sum(_st(rs, "replicas") for rs in all_rss),
        "updatedReplicas": _st(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": sum(_st(rs, "readyReplicas") for rs in all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum(_rs_replicas(rs) for rs in all_rss) - available),
    }
    status = {k: v for k, v in counters.items() if v}
    if "collisionCount" in (d.get("status") or {}):
        status["collisionCount"] = d["status"]["collisionCount"]
    status["conditions"] = [dict(c) for c in (d.get("status") or {}).get("conditions") or []]
    return status


def set_condition(status: dict, type_: str, value: str, reason: str, message: str, now: str) -> None:
    """SetDeploymentCondition: nothing if status and reason are unchanged; keeps lastTransitionTime on same status."""
    conds = status.setdefault("conditions", [])
    current = next((c for c in conds if c["type"] == type_), None)
    if current and current["status"] == value and current.get("reason") == reason:
        return
    cond = {"type": type_, "status": value, "lastUpdateTime": now,
            "lastTransitionTime": current["lastTransitionTime"] if current and current["status"] == value else now,
            "reason": reason, "message": message}
    status["conditions"] = [c for c in conds if c["type"] != type_] + [cond]


def _cond(status: dict, type_: str) -> dict | None:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), None)


def complete(d: dict, status: dict) -> bool:
    replicas = d["spec"].get("replicas", 1)
    return (status.get("updatedReplicas", 0) == replicas and status.get("replicas", 0) == replicas
            and status.get("availableReplicas", 0) == replicas
            and status.get("observedGeneration", 0) >= d["metadata"].get("generation", 1))


def progressing(old: dict, new: dict) -> bool:
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def rollout_status(d: dict, new_rs: dict | None, all_rss: list[dict], *, now: float, speed: float,
                   progress_since: float | None) -> tuple[dict, float | None]:
    """syncRolloutStatus: the new status and, while a rollout is in flight, the cluster seconds until its
    progress deadline. `progress_since` is when the Progressing condition last moved (its lastUpdateTime)."""
    stamp = rfc3339(now)
    old = d.get("status") or {}
    status = calculate_status(d, new_rs, all_rss)
    replicas = d["spec"].get("replicas", 1)
    if status.get("availableReplicas", 0) >= replicas - max_unavailable(d):
        set_condition(status, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
                      stamp)
    else:
        set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.", stamp)
    deadline = d["spec"].get("progressDeadlineSeconds")
    current = _cond(status, "Progressing")
    if deadline is None:
        status["conditions"] = [c for c in status["conditions"] if c["type"] != "Progressing"]
        return status, None
    if d["spec"].get("paused"):
        return status, None
    already_complete = status.get("replicas", 0) == status.get("updatedReplicas", 0) and current is not None \
        and current.get("reason") == "NewReplicaSetAvailable"
    name = new_rs["metadata"]["name"] if new_rs else ""
    if not already_complete and new_rs is not None:
        if complete(d, status):
            set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                          f'ReplicaSet "{name}" has successfully progressed.', stamp)
        elif progressing(old, status):
            cond = {"type": "Progressing", "status": "True", "lastUpdateTime": stamp,
                    "lastTransitionTime": current["lastTransitionTime"] if current and current["status"] == "True"
                    else stamp, "reason": "ReplicaSetUpdated", "message": f'ReplicaSet "{name}" is progressing.'}
            status["conditions"] = [c for c in status["conditions"] if c["type"] != "Progressing"] + [cond]
        elif current is not None and current.get("reason") != "NewReplicaSetAvailable":
            since = progress_since or parse_time(current.get("lastUpdateTime")) or now
            left = deadline - (now - since) * speed
            if current.get("reason") == "ProgressDeadlineExceeded" or left < 0:
                set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                              f'ReplicaSet "{name}" has timed out progressing.', stamp)
            else:
                return status, left
    current = _cond(status, "Progressing")
    if current and current.get("reason") not in ("NewReplicaSetAvailable", "ProgressDeadlineExceeded"):
        return status, float(deadline)
    return status, None


def new_replicaset(d: dict, revision_number: int, replicas: int) -> dict:
    """A new ReplicaSet for the Deployment's template."""
    h = template_hash(d["spec"]["template"], (d.get("status") or {}).get("collisionCount", 0))
    template = copy.deepcopy(d["spec"]["template"])
    template.setdefault("metadata", {})
    if template["metadata"].get("creationTimestamp", "") is None:
        template["metadata"].pop("creationTimestamp")
    template["metadata"]["labels"] = {**(template["metadata"].get("labels") or {}), HASH_LABEL: h}
    selector = copy.deepcopy(d["spec"]["selector"])
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: h}
    dm = d["metadata"]
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": f"{dm['name']}-{h}", "namespace": dm["namespace"],
                       "labels": dict(template["metadata"]["labels"]),
                       "annotations": rs_annotations(d, {}, revision_number),
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": dm["name"],
                                            "uid": dm["uid"], "controller": True, "blockOwnerDeletion": True}]},
          "spec": {"replicas": replicas, "selector": selector, "template": template}}
    if d["spec"].get("minReadySeconds"):
        rs["spec"]["minReadySeconds"] = d["spec"]["minReadySeconds"]
    return rs


def rs_annotations(d: dict, current: dict, revision_number: int) -> dict:
    """Deployment annotations (minus the skipped keys) + revision, revision-history, desired/max replicas."""
    out = dict(current)
    out.update({k: v for k, v in (d["metadata"].get("annotations") or {}).items() if k not in NOT_COPIED})
    old = current.get(REVISION)
    if old is None or int(old) < revision_number:
        if old is not None:
            out[REVISION_HISTORY] = ",".join(filter(None, [current.get(REVISION_HISTORY), old]))
        out[REVISION] = str(revision_number)
    replicas = d["spec"].get("replicas", 1)
    out[DESIRED] = str(replicas)
    out[MAX_REPLICAS] = str(replicas + fenceposts(d)[0])
    return out


def history_to_delete(d: dict, old_rss: list[dict]) -> list[str]:
    """cleanupDeployment: the oldest idle old ReplicaSets beyond revisionHistoryLimit."""
    limit = d["spec"].get("revisionHistoryLimit", 10)
    alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
    extra = len(alive) - limit
    if extra <= 0:
        return []
    out = []
    for rs in sorted(alive, key=revision)[:extra]:
        if _st(rs, "replicas") or _rs_replicas(rs) or \
                rs["metadata"].get("generation", 1) > _st(rs, "observedGeneration"):
            continue
        out.append(rs["metadata"]["name"])
    return out


# --- the controller ----------------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Progress:
    stamp: str
    at: float


class DeploymentController:
    def __init__(self, store, recorder: EventRecorder, clock: Clock) -> None:
        self._store = store
        self._events = recorder
        self._clock = clock
        self._progress: dict[str, _Progress] = {}
        self.queue = WorkQueue("deployment-controller", self._sync)

    def on_event(self, type_: str, res, obj: dict) -> None:
        if res is DEPLOYMENTS and type_ != "DELETED":
            self.queue.add(key_of(obj))
        elif res is REPLICASETS:
            owner = controller_ref(obj, "Deployment")
            if owner:
                self.queue.add((obj["metadata"]["namespace"], owner["name"]))

    def _sync(self, key: tuple[str, str]) -> None:
        namespace, name = key
        d = stored(self._store, DEPLOYMENTS, key)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return
        uid = d["metadata"]["uid"]
        rss, _ = self._store.list(REPLICASETS, namespace)
        rss = [rs for rs in rss if controller_uid(rs, "Deployment") == uid and not rs["metadata"].get("deletionTimestamp")]
        now = time.time()
        stamp = rfc3339(now)
        status_conditions: list[tuple] = []
        new_rs = find_new_replicaset(d, rss)
        old_rss = [rs for rs in rss if rs is not new_rs]
        max_old = max((revision(rs) for rs in old_rss), default=0)
        paused = bool(d["spec"].get("paused"))

        if new_rs is not None:
            annotations = rs_annotations(d, new_rs["metadata"].get("annotations") or {}, max_old + 1)
            if annotations != (new_rs["metadata"].get("annotations") or {}) or \
                    new_rs["spec"].get("minReadySeconds", 0) != d["spec"].get("minReadySeconds", 0):
                new_rs = self._update_rs(new_rs, annotations, d["spec"].get("minReadySeconds", 0))
            if not any(c["type"] == "Progressing" for c in (d.get("status") or {}).get("conditions") or []):
                status_conditions.append(("Progressing", "True", "FoundNewReplicaSet",
                                          f'Found new replica set "{new_rs["metadata"]["name"]}"'))
        elif not paused:
            recreate = d["spec"].get("strategy", {}).get("type") == "Recreate"
            start = 0 if recreate and any(_rs_replicas(rs) or _st(rs, "replicas") for rs in old_rss) else None
            candidate = new_replicaset(d, max_old + 1, 0)
            if start is None:
                start = new_rs_replicas(d, candidate, old_rss + [candidate])
            candidate["spec"]["replicas"] = start
            try:
                new_rs = self._store.create(REPLICASETS, namespace, candidate)
            except ApiError as exc:
                if exc.status != 409:
                    raise
                new_rs = self._store.get(REPLICASETS, namespace, candidate["metadata"]["name"])
            else:
                if start:
                    self._scaled(d, new_rs["metadata"]["name"], 0, start)
                status_conditions.append(("Progressing", "True", "NewReplicaSetCreated",
                                          f'Created new replica set "{new_rs["metadata"]["name"]}"'))
            old_rss = [rs for rs in rss if rs["metadata"]["name"] != new_rs["metadata"]["name"]]

        if paused or new_rs is None:
            self._scale_paused(d, new_rs, old_rss)
        elif d["spec"].get("strategy", {}).get("type") == "Recreate":
            self._recreate(d, new_rs, old_rss)
        else:
            self._rolling(d, new_rs, old_rss)

        rss, _ = self._store.list(REPLICASETS, namespace)
        rss = [rs for rs in rss if controller_uid(rs, "Deployment") == uid and not rs["metadata"].get("deletionTimestamp")]
        new_rs = next((rs for rs in rss if new_rs and rs["metadata"]["name"] == new_rs["metadata"]["name"]), None)
        old_rss = [rs for rs in rss if rs is not new_rs]
        for c in status_conditions:
            d.setdefault("status", {})
            set_condition(d["status"], *c, stamp)
        progress = self._progress.get(uid)
        current = _cond(d.get("status") or {}, "Progressing")
        since = progress.at if progress and current and progress.stamp == current.get("lastUpdateTime") else None
        status, left = rollout_status(d, new_rs, rss, now=now, speed=self._clock.speed, progress_since=since)
        if paused:
            reason = "DeploymentPaused"
            cur = _cond(status, "Progressing")
            if cur is None or cur.get("reason") != "ProgressDeadlineExceeded":
                set_condition(status, "Progressing", "Unknown", reason, "Deployment is paused", stamp)
        elif (_cond(status, "Progressing") or {}).get("reason") == "DeploymentPaused":
            set_condition(status, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", stamp)
        cur = _cond(status, "Progressing")
        if cur and (progress is None or progress.stamp != cur["lastUpdateTime"]):
            self._progress[uid] = _Progress(cur["lastUpdateTime"], now)
        rev = str(revision(new_rs)) if new_rs else None

        def write(obj: dict) -> None:
            obj["status"] = status
            if rev:
                obj["metadata"].setdefault("annotations", {})[REVISION] = rev
        try:
            self._store.mutate(DEPLOYMENTS, namespace, name, write, subresource="status")
        except ApiError:
            return
        if new_rs is not None and complete(d, status):
            for rs_name in history_to_delete(d, old_rss):
                try:
                    self._store.delete(REPLICASETS, namespace, rs_name)
                except ApiError:
                    pass
        if left is not None:
            self.queue.add(key, after=self._clock.real(max(left, 0.0)) + 0.05)

    # --- strategies ---------------------------------------------------------------------------------------------
    def _rolling(self, d: dict, new_rs: dict, old_rss: list[dict]) -> None:
        replicas = d["spec"].get("replicas", 1)
        current = _rs_replicas(new_rs)
        target = replicas if current > replicas else new_rs_replicas(d, new_rs, old_rss + [new_rs])
        if target != current:
            new_rs = self._scale(d, new_rs, target)
        targets = scale_down_old(d, new_rs, old_rss)
        for rs in old_rss:
            if targets[rs["metadata"]["name"]] != _rs_replicas(rs):
                self._scale(d, rs, targets[rs["metadata"]["name"]])

    def _recreate(self, d: dict, new_rs: dict, old_rss: list[dict]) -> None:
        for rs in old_rss:
            if _rs_replicas(rs):
                self._scale(d, rs, 0)
        if any(_st(rs, "replicas") or _rs_replicas(rs) for rs in old_rss):
            return
        if _rs_replicas(new_rs) != d["spec"].get("replicas", 1):
            self._scale(d, new_rs, d["spec"].get("replicas", 1))

    def _scale_paused(self, d: dict, new_rs: dict | None, old_rss: list[dict]) -> None:
        """Paused: no new ReplicaSet; a replica count change goes to the one active ReplicaSet."""
        replicas = d["spec"].get("replicas", 1)
        active = [rs for rs in ([new_rs] if new_rs else []) + old_rss if _rs_replicas(rs)]
        if len(active) == 1 and _rs_replicas(active[0]) != replicas:
            self._scale(d, active[0], replicas)
        elif not active and new_rs is not None and replicas:
            self._scale(d, new_rs, replicas)

    # --- writes -------------------------------------------------------------------------------------------------
    def _scaled(self, d: dict, rs_name: str, old: int, new: int) -> None:
        verb = "up" if new > old else "down"
        self._events.normal(DEPLOYMENTS, d, "ScalingReplicaSet", f"Scaled {verb} replica set {rs_name} from {old} to {new}",
                            component=COMPONENT)

    def _scale(self, d: dict, rs: dict, replicas: int) -> dict:
        old = _rs_replicas(rs)
        desired = d["spec"].get("replicas", 1)

        def write(obj: dict) -> None:
            obj["spec"]["replicas"] = replicas
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations.update({DESIRED: str(desired), MAX_REPLICAS: str(desired + fenceposts(d)[0])})
        updated = self._store.mutate(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"], write)
        self._scaled(d, rs["metadata"]["name"], old, replicas)
        return updated

    def _update_rs(self, rs: dict, annotations: dict, min_ready: int) -> dict:
        def write(obj: dict) -> None:
            obj["metadata"]["annotations"] = annotations
            if min_ready:
                obj["spec"]["minReadySeconds"] = min_ready
            else:
                obj["spec"].pop("minReadySeconds", None)
        return self._store.mutate(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"], write)
