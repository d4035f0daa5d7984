"""What a pod's status means for a release, decided from one snapshot.

Pure: the same pod dict and clock give the same verdict, so every status shape is a unit test, and the watchers
only feed snapshots in. `fatal` means "this will not fix itself in time; stop now" —
that is how shipit fails within a second where kubectl waits for the 600 s progress deadline.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime, timezone
from typing import Any


class PodState(str, enum.Enum):
    PENDING = "Pending"
    STARTING = "Starting"
    RUNNING = "Running"
    READY = "Ready"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CRASH_LOOP = "CrashLoopBackOff"
    IMAGE_PULL = "ImagePullError"
    CONFIG_ERROR = "CreateContainerConfigError"
    OOM_KILLED = "OOMKilled"
    EVICTED = "Evicted"
    UNSCHEDULABLE = "Unschedulable"
    NOT_READY = "NotReady"
    TERMINATING = "Terminating"

    def hint(self, *, image: str, deployment: str, container: str) -> str | None:
        """What a person does about a pod in this state, for the app's pods and the migration Job's alike."""
        text = _HINTS.get(self)
        return text.format(image=image, deployment=deployment, container=container) if text else None


_HINTS = {
    PodState.IMAGE_PULL: "check that the image {image} was built and pushed, and that the pod can pull it "
    "(imagePullSecrets)",
    PodState.CONFIG_ERROR: "create the Secret/ConfigMap (or key) named above; the pod takes its env from Deployment "
    "{deployment}",
    PodState.CRASH_LOOP: "the new code does not start; read the log lines above",
    PodState.OOM_KILLED: "raise the memory limit of container {container} in Deployment {deployment}",
    PodState.NOT_READY: "the readiness probe never passed; check the app's health endpoint and its dependencies",
    PodState.EVICTED: "the node evicted the pod under resource pressure; check the node, then re-run the release",
    PodState.UNSCHEDULABLE: "no node can run the pod (see the scheduler's message); fix capacity or "
    "nodeSelector/tolerations",
    # only a run-once pod (the migration Job's, restartPolicy Never) ends Failed
    PodState.FAILED: "read the log lines above; backoffLimit is 0, so it was not retried. Check which migrations ran "
    "(schema_migrations) before re-running",
}


@dataclasses.dataclass(frozen=True)
class PodVerdict:
    state: PodState
    reason: str
    message: str
    container: str | None
    exit_code: int | None
    fatal: bool


_IMAGE_PULL = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
_CONFIG = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}


def parse_time(value: str | None) -> datetime | None:
    """metav1.Time / MicroTime ("...Z" with or without a fraction) as an aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def as_dict(obj: Any) -> dict:
    """Accept a client model (V1Pod...) as well as the raw JSON dict the watchers use."""
    if isinstance(obj, dict):
        return obj
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(obj)


def _statuses(status: dict) -> list[dict]:
    return list(status.get("initContainerStatuses") or []) + list(status.get("containerStatuses") or [])


def _condition(status: dict, type_: str) -> dict | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == type_), None)


def _terminated(cs: dict, name: str, pod_phase_failed: bool) -> PodVerdict | None:
    t = (cs.get("state") or {}).get("terminated")
    if not t:
        return None
    code = t.get("exitCode")
    reason = t.get("reason") or ("Completed" if code == 0 else "Error")
    message = t.get("message") or f"container {name} exited with code {code}"
    if reason == "OOMKilled":
        return PodVerdict(PodState.OOM_KILLED, reason, message, name, code, True)
    if code not in (0, None):
        state = PodState.FAILED if pod_phase_failed else PodState.CRASH_LOOP
        return PodVerdict(state, reason, message, name, code, True)
    return None


def classify_pod(pod: Any, *, now: datetime, ready_grace: float, unschedulable_grace: float) -> PodVerdict:
    """The pod's state for a release; `fatal` verdicts end the watch at once."""
    pod = as_dict(pod)
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    restart_always = spec.get("restartPolicy", "Always") == "Always"
    statuses = _statuses(status)

    if phase == "Succeeded":
        return PodVerdict(PodState.SUCCEEDED, "Completed", "", None, 0, False)
    if phase == "Failed":
        if status.get("reason") == "Evicted":
            return PodVerdict(PodState.EVICTED, "Evicted", status.get("message", ""), None, None, True)
        for cs in statuses:
            v = _terminated(cs, cs.get("name"), True)
            if v:
                return v
        reason = status.get("reason") or "Failed"
        return PodVerdict(PodState.FAILED, reason, status.get("message", ""), None, None, True)

    for cs in statuses:
        name = cs.get("name")
        waiting = (cs.get("state") or {}).get("waiting")
        last = (cs.get("lastState") or {}).get("terminated")
        if waiting:
            reason = waiting.get("reason") or ""
            message = waiting.get("message") or ""
            if reason in _IMAGE_PULL:
                return PodVerdict(PodState.IMAGE_PULL, reason, message, name, None, True)
            if reason in _CONFIG:
                return PodVerdict(PodState.CONFIG_ERROR, reason, message, name, None, True)
            if reason == "CrashLoopBackOff":
                code = last.get("exitCode") if last else None
                if last and last.get("reason") == "OOMKilled":
                    return PodVerdict(PodState.OOM_KILLED, "OOMKilled", message, name, code, True)
                return PodVerdict(PodState.CRASH_LOOP, reason, message, name, code, True)
        v = _terminated(cs, name, False)
        if v:
            return v

    if meta.get("deletionTimestamp"):
        return PodVerdict(PodState.TERMINATING, "Terminating", "pod is being deleted", None, None, False)

    scheduled = _condition(status, "PodScheduled")
    if scheduled and scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        since = parse_time(scheduled.get("lastTransitionTime")) or parse_time(meta.get("creationTimestamp")) or now
        waited = (now - since).total_seconds()
        return PodVerdict(
            PodState.UNSCHEDULABLE, "Unschedulable", scheduled.get("message", ""), None, None, waited >= unschedulable_grace
        )
    if phase == "Pending" and not spec.get("nodeName"):
        return PodVerdict(PodState.PENDING, "Pending", "waiting to be scheduled", None, None, False)

    running = [cs for cs in statuses if (cs.get("state") or {}).get("running")]
    if phase == "Pending" or not running:
        waiting = next((cs for cs in statuses if (cs.get("state") or {}).get("waiting")), None)
        reason = ((waiting or {}).get("state", {}).get("waiting") or {}).get("reason") or "ContainerCreating"
        return PodVerdict(PodState.STARTING, reason, "", (waiting or {}).get("name"), None, False)

    if not restart_always:
        return PodVerdict(PodState.RUNNING, "Running", "", None, None, False)
    ready = _condition(status, "Ready")
    if ready and ready.get("status") == "True":
        return PodVerdict(PodState.READY, "Ready", "", None, None, False)
    unready = [cs for cs in statuses if not cs.get("ready")] or running
    starts = [parse_time(cs["state"]["running"].get("startedAt")) for cs in running]
    started = max((s for s in starts if s), default=None) or parse_time(status.get("startTime")) or now
    waited = (now - started).total_seconds()
    name = unready[0].get("name")
    message = (ready or {}).get("message") or f"containers with unready status: [{name}]"
    if waited >= ready_grace:
        return PodVerdict(
            PodState.NOT_READY, "NotReady", f"{message} for {waited:.0f}s (ready_grace {ready_grace:g}s)", name, None, True
        )
    return PodVerdict(PodState.STARTING, "ContainersNotReady", message, name, None, False)


def pod_started_at(pod: dict) -> datetime | None:
    return parse_time((pod.get("status") or {}).get("startTime")) or parse_time(
        (pod.get("metadata") or {}).get("creationTimestamp")
    )


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
