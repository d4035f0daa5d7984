"""Pure rules for pod status: phase from container states (kubelet getPhase) and the
PodReadyToStartContainers/Initialized/Ready/ContainersReady/PodScheduled conditions with their real reasons."""

from __future__ import annotations

import enum


class Phase(str, enum.Enum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED)


def pod_phase(restart_policy: str, statuses: list[dict], *, deleting: bool = False) -> Phase:
    """kubelet getPhase: a waiting container without a previous termination keeps the pod Pending; a crash-looping
    one counts as stopped. A pod being deleted whose containers all stopped is terminal."""
    running = waiting = stopped = succeeded = 0
    for cs in statuses:
        state = cs.get("state", {})
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"].get("exitCode", 0) == 0
        elif "terminated" in cs.get("lastState", {}):
            stopped += 1
        else:
            waiting += 1
    if not statuses or waiting:
        return Phase.PENDING
    if running:
        return Phase.RUNNING
    if deleting:
        return Phase.SUCCEEDED if stopped == succeeded else Phase.FAILED
    if restart_policy == "Always":
        return Phase.RUNNING
    if stopped == succeeded:
        return Phase.SUCCEEDED
    if restart_policy == "Never":
        return Phase.FAILED
    return Phase.RUNNING


def condition(type_: str, status: bool | str, previous: list[dict], now: str, *, reason: str | None = None,
              message: str | None = None) -> dict:
    """A pod condition keeping its lastTransitionTime while its status does not change."""
    value = status if isinstance(status, str) else ("True" if status else "False")
    old = next((c for c in previous if c.get("type") == type_), None)
    since = old["lastTransitionTime"] if old and old.get("status") == value and old.get("lastTransitionTime") else now
    cond = {"type": type_, "status": value, "lastProbeTime": None, "lastTransitionTime": since}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def readiness_conditions(phase: Phase, statuses: list[dict], previous: list[dict], now: str) -> list[dict]:
    """Ready and ContainersReady (k8s pkg/kubelet/status/generate.go)."""
    unready = [cs["name"] for cs in statuses if not cs.get("ready")]
    if phase is Phase.SUCCEEDED:
        reason, message = "PodCompleted", None
    elif phase is Phase.FAILED:
        reason, message = "PodFailed", None
    elif unready:
        reason, message = "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]"
    else:
        reason = message = None
    ready = not unready and not phase.terminal
    return [condition("Ready", ready, previous, now, reason=None if ready else reason, message=message),
            condition("ContainersReady", ready, previous, now, reason=None if ready else reason, message=message)]


def kubelet_conditions(phase: Phase, statuses: list[dict], previous: list[dict], now: str, *,
                       sandbox: bool) -> list[dict]:
    """Conditions in the order the kubelet writes them; PodScheduled is carried over from the scheduler."""
    sandbox_ready = sandbox and not phase.terminal
    conds = [condition("PodReadyToStartContainers", sandbox_ready, previous, now),
             condition("Initialized", True, previous, now),
             *readiness_conditions(phase, statuses, previous, now)]
    scheduled = next((c for c in previous if c.get("type") == "PodScheduled"), None)
    return conds + ([scheduled] if scheduled else [condition("PodScheduled", True, previous, now)])
