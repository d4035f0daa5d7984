"""Job controller: keeps `active` pods running, counts finished pods through the
`batch.kubernetes.io/job-tracking` finalizer, fails the Job on backoffLimit or activeDeadlineSeconds, and writes the
terminal-condition sequence of the emulated version: FailureTarget/SuccessCriteriaMet first from 1.31.

`plan_job` is the decision over a snapshot; `JobController` does the reading and writing."""

from __future__ import annotations

import dataclasses
import time

from tests.kubesim.clock import Clock, parse_time, rfc3339
from tests.kubesim.controllers.queue import WorkQueue, controller_ref, controller_uid, key_of, stored
from tests.kubesim.errors import ApiError
from tests.kubesim.events import EventRecorder
from tests.kubesim.resources import JOBS, PODS

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPONENT = "job-controller"
BACKOFF_BASE = 10.0      # DefaultJobPodFailureBackOff
BACKOFF_MAX = 600.0      # MaxJobPodFailureBackOff
SUCCESS = ("CompletionsReached", "Reached expected number of succeeded pods")
FAILURES = {"BackoffLimitExceeded": "Job has reached the specified backoff limit",
            "DeadlineExceeded": "Job was active longer than specified deadline"}


@dataclasses.dataclass(frozen=True)
class JobPlan:
    create: int                            # pods to create now
    delete: tuple[str, ...]                # active pods to delete (a failure verdict)
    count: tuple[str, ...]                 # finished pods whose tracking finalizer is removed
    status: dict
    events: tuple[tuple[str, str, str], ...]   # (Normal|Warning, reason, message)
    requeue_after: float | None            # cluster seconds


def _has(conds: list[dict], type_: str) -> dict | None:
    return next((c for c in conds if c.get("type") == type_ and c.get("status") == "True"), None)


def _condition(type_: str, now: str, reason: str = "", message: str = "") -> dict:
    cond = {"type": type_, "status": "True", "lastProbeTime": now, "lastTransitionTime": now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase", "Pending")


def _restarts(pod: dict) -> int:
    return sum(cs.get("restartCount", 0) for cs in (pod.get("status") or {}).get("containerStatuses") or [])


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def backoff_delay(consecutive_failures: int) -> float:
    """10 s × 2^(n−1), capped at 10 min."""
    if consecutive_failures <= 0:
        return 0.0
    return min(BACKOFF_BASE * 2 ** (consecutive_failures - 1), BACKOFF_MAX)


def plan_job(job: dict, pods: list[dict], *, minor: int, now: float, speed: float, started_at: float,
             last_failure_at: float | None) -> JobPlan:
    """One sync of the Job controller over a snapshot of the Job and its pods. `started_at` is when the Job
    started (startTime), `last_failure_at` when its last pod failure was counted; times are real, `speed` scales."""
    spec, old = job["spec"], job.get("status") or {}
    conds = [dict(c) for c in old.get("conditions") or []]
    stamp = rfc3339(now)
    delayed_terminal = minor >= 31
    active = [p for p in pods if not p["metadata"].get("deletionTimestamp") and _phase(p) not in ("Succeeded", "Failed")]
    new_succeeded = [p for p in pods if TRACKING_FINALIZER in (p["metadata"].get("finalizers") or [])
                     and _phase(p) == "Succeeded"]
    new_failed = [p for p in pods if TRACKING_FINALIZER in (p["metadata"].get("finalizers") or [])
                  and _phase(p) != "Succeeded" and (_phase(p) == "Failed" or p["metadata"].get("deletionTimestamp"))]
    succeeded = old.get("succeeded", 0) + len(new_succeeded)
    failed = old.get("failed", 0) + len(new_failed)
    events: list[tuple[str, str, str]] = []
    delete: list[dict] = []
    create = 0
    requeue: float | None = None

    finished = _has(conds, "Complete") or _has(conds, "Failed")
    target = _has(conds, "FailureTarget") or _has(conds, "SuccessCriteriaMet")
    if not finished and not target:
        completions = spec.get("completions")
        backoff_limit = spec.get("backoffLimit", 6)
        deadline = spec.get("activeDeadlineSeconds")
        elapsed = (now - started_at) * speed
        restarts = sum(_restarts(p) for p in active) if spec["template"]["spec"].get("restartPolicy") == "OnFailure" \
            else 0
        verdict: str | None = None
        if failed > backoff_limit or (restarts and restarts >= backoff_limit):
            verdict = "BackoffLimitExceeded"
        elif deadline is not None and elapsed >= deadline:
            verdict = "DeadlineExceeded"
        if (completions is not None and succeeded >= completions) or \
                (completions is None and succeeded > 0 and not active):
            if delayed_terminal:
                conds.append(_condition("SuccessCriteriaMet", stamp, *SUCCESS))
            target = {"type": "SuccessCriteriaMet"}
            delete = active
        elif verdict:
            delete = active
            if delayed_terminal:
                conds.append(_condition("FailureTarget", stamp, verdict, FAILURES[verdict]))
            target = {"type": "FailureTarget", "reason": verdict, "message": FAILURES[verdict]}
        else:
            want = spec.get("parallelism", 1)
            if completions is not None:
                want = min(want, completions - succeeded)
            elif succeeded:
                want = 0
            missing = max(0, want - len(active))
            if missing:
                consecutive = failed if not succeeded else len(new_failed)
                # A failure counted in this very sync starts the back-off now.
                last = now if new_failed else last_failure_at
                wait = backoff_delay(consecutive) - ((now - last) * speed if last is not None else 0)
                if last is not None and wait > 0:
                    requeue = wait
                else:
                    create = missing
            if deadline is not None:
                left = deadline - elapsed
                requeue = left if requeue is None else min(requeue, left)
    interim_now = delayed_terminal and target is not None and not finished and not (
        _has(old.get("conditions") or [], "FailureTarget") or _has(old.get("conditions") or [], "SuccessCriteriaMet"))
    failing = bool(target) and target["type"] == "FailureTarget"
    if delete and failing:
        failed += len([p for p in delete if p not in new_failed])
    deleted_names = {p["metadata"]["name"] for p in delete}
    terminating = [p for p in pods if (p["metadata"].get("deletionTimestamp") or p["metadata"]["name"] in deleted_names)
                   and _phase(p) not in ("Succeeded", "Failed")]
    if interim_now:
        requeue = 0.0   # the final condition comes in a later write, as watchers of a real 1.31+ Job see it
    elif target and not finished and (not delayed_terminal or not terminating):
        if target["type"] == "SuccessCriteriaMet":
            conds.append(_condition("Complete", stamp, *(SUCCESS if delayed_terminal else ("", ""))))
            events.append(("Normal", "Completed", "Job completed"))
        else:
            previous = _has(conds, "FailureTarget") or target
            reason, message = previous.get("reason", ""), previous.get("message", "")
            conds.append(_condition("Failed", stamp, reason, message))
            events.append(("Warning", reason, message))

    status: dict = {}
    if conds:
        status["conditions"] = conds
    status["startTime"] = old.get("startTime") or rfc3339(started_at)
    if _has(conds, "Complete"):
        status["completionTime"] = old.get("completionTime") or stamp
    remaining_active = [] if delete else active
    if remaining_active or create:
        status["active"] = len(remaining_active) + create
    if succeeded:
        status["succeeded"] = succeeded
    if failed:
        status["failed"] = failed
    status["terminating"] = len(terminating)
    status["uncountedTerminatedPods"] = {}
    status["ready"] = sum(1 for p in remaining_active if _ready(p))
    count = tuple(p["metadata"]["name"] for p in new_succeeded + new_failed + [d for d in delete if d not in new_failed])
    return JobPlan(create=create, delete=tuple(sorted(deleted_names)), count=count, status=status,
                   events=tuple(events), requeue_after=requeue)


def pod_for_job(job: dict) -> dict:
    """A pod from the Job's template: generateName, template labels, tracking finalizer, controller ref."""
    template = job["spec"]["template"]
    meta = template.get("metadata") or {}
    jm = job["metadata"]
    pod_meta = {"generateName": f"{jm['name']}-", "namespace": jm["namespace"],
                "labels": dict(meta.get("labels") or {}), "finalizers": [TRACKING_FINALIZER],
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": jm["name"], "uid": jm["uid"],
                                     "controller": True, "blockOwnerDeletion": True}]}
    if meta.get("annotations"):
        pod_meta["annotations"] = dict(meta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": dict(template["spec"])}


class JobController:
    def __init__(self, store, recorder: EventRecorder, clock: Clock, *, minor: int) -> None:
        self._store = store
        self._events = recorder
        self._clock = clock
        self._minor = minor
        self._started: dict[str, float] = {}
        self._last_failure: dict[str, float] = {}
        self.queue = WorkQueue("job-controller", self._sync)

    def on_event(self, type_: str, res, obj: dict) -> None:
        if res is JOBS and type_ != "DELETED":
            self.queue.add(key_of(obj))
        elif res is PODS:
            meta = obj["metadata"]
            owner = controller_ref(obj, "Job")
            if owner:
                self.queue.add((meta["namespace"], owner["name"]))
            if type_ != "DELETED" and TRACKING_FINALIZER in (meta.get("finalizers") or []):
                self.queue.add(("orphan", meta["namespace"], meta["name"]))

    def _sync(self, key: tuple) -> None:
        if key[0] == "orphan":
            return self._release_orphan(*key[1:])
        namespace, name = key
        job = stored(self._store, JOBS, key)
        if job is None:
            return
        uid = job["metadata"]["uid"]
        if job["metadata"].get("deletionTimestamp") and not job["metadata"].get("finalizers"):
            return
        selector = ",".join(f"{k}={v}" for k, v in (job["spec"].get("selector", {}).get("matchLabels") or {}).items())
        pods, _ = self._store.list(PODS, namespace, label_selector=selector)
        pods = [p for p in pods if controller_uid(p, "Job") == uid]
        now = time.time()
        started = self._started.setdefault(uid, parse_time((job.get("status") or {}).get("startTime")) or now)
        plan = plan_job(job, pods, minor=self._minor, now=now, speed=self._clock.speed, started_at=started,
                        last_failure_at=self._last_failure.get(uid))
        by_name = {p["metadata"]["name"]: p for p in pods}
        for pod_name in plan.delete:
            self._delete_pod(job, namespace, pod_name)
        for pod_name in plan.count:
            if by_name[pod_name]["status"].get("phase") != "Succeeded":
                self._last_failure[uid] = now
            self._remove_finalizer(namespace, pod_name)
        for _ in range(plan.create):
            pod = self._store.create(PODS, namespace, pod_for_job(job))
            self._events.normal(JOBS, job, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                                component=COMPONENT)

        def write(obj: dict) -> None:
            obj["status"] = plan.status
        try:
            job = self._store.mutate(JOBS, namespace, name, write, subresource="status")
        except ApiError:
            return
        for type_, reason, message in plan.events:
            self._events.record(JOBS, job, type_, reason, message, component=COMPONENT)
        if plan.requeue_after is not None:
            self.queue.add(key, after=self._clock.real(max(plan.requeue_after, 0.0)) + 0.01)

    def _release_orphan(self, namespace: str, pod_name: str) -> None:
        """A pod whose Job is gone (deleted, or the pod was orphaned) loses the tracking finalizer, as the real
        controller's orphan-pod handling does; otherwise a deleted Job's pods would never go away."""
        pod = stored(self._store, PODS, (namespace, pod_name))
        if pod is None:
            return
        owner = controller_ref(pod, "Job")
        if owner is not None:
            try:
                if self._store.get(JOBS, namespace, owner["name"])["metadata"]["uid"] == owner.get("uid"):
                    return
            except ApiError:
                pass
        self._remove_finalizer(namespace, pod_name)

    def _delete_pod(self, job: dict, namespace: str, pod_name: str) -> None:
        try:
            self._store.delete(PODS, namespace, pod_name)
        except ApiError:
            return
        self._events.normal(JOBS, job, "SuccessfulDelete", f"Deleted pod: {pod_name}", component=COMPONENT)

    def _remove_finalizer(self, namespace: str, pod_name: str) -> None:
        def strip(pod: dict) -> None:
            rest = [f for f in pod["metadata"].get("finalizers") or [] if f != TRACKING_FINALIZER]
            if rest:
                pod["metadata"]["finalizers"] = rest
            else:
                pod["metadata"].pop("finalizers", None)
        try:
            self._store.mutate(PODS, namespace, pod_name, strip)
        except ApiError:
            pass
