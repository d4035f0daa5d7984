"""Following every applied object until all are complete, one fails, the time runs out or the release is cancelled.

Polls the objects (by kind), the namespace's pods and, when Deployments were applied, their ReplicaSets; the verdicts
are `kube.applied.decide_all`'s. A failing pod of a new revision ends the watch at the next poll, with its log tail and
events, long before any controller's own deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from shipit.adapters.code.port import Outcome
from shipit.kube.applied import Ref, decide_all
from shipit.kube.failure import Failure
from shipit.kube.pods import PodState, PodVerdict, utcnow
from shipit.core.log import get_logger
from shipit.kube.workloads import KindVerdict, Verdict, blocked_statefulset_pods

log = get_logger()

POLL = 0.5
LOG_TAIL = 15
DETAILED_PODS = 2
_HINTS = {
    PodState.IMAGE_PULL: "check that the image was built and pushed and that the pods can pull it",
    PodState.CONFIG_ERROR: "create the Secret/ConfigMap named above",
    PodState.CRASH_LOOP: "the new code does not start; read the log lines above",
    PodState.OOM_KILLED: "raise the container's memory limit",
    PodState.NOT_READY: "the readiness probe never passed; check the app's health endpoint and its dependencies",
    PodState.UNSCHEDULABLE: "no node can run the pod; fix capacity, nodeSelector or tolerations",
}


def _readers(kube: Any) -> dict[str, Callable[..., Any]]:
    """Kind -> its read method (named in full, so config/rbac.yaml's check sees each one)."""
    return {"Deployment": kube.apps.read_namespaced_deployment, "StatefulSet": kube.apps.read_namespaced_stateful_set,
            "DaemonSet": kube.apps.read_namespaced_daemon_set, "Job": kube.batch.read_namespaced_job,
            "CronJob": kube.batch.read_namespaced_cron_job, "ConfigMap": kube.core.read_namespaced_config_map,
            "Service": kube.core.read_namespaced_service}


def read_live(kube: Any, objects: tuple[dict, ...]) -> dict[Ref, dict]:
    """The cluster's version of each object shipit can read by kind; other kinds (applied without error) as applied."""
    from kubernetes.client.exceptions import ApiException

    readers = _readers(kube)
    live = {}
    for obj in objects:
        read = readers.get(obj.get("kind", ""))
        if read is None:
            live[Ref.of(obj)] = obj
            continue
        try:
            live[Ref.of(obj)] = kube.get_json(read, obj["metadata"]["name"], kube.namespace)
        except ApiException as e:
            if e.status != 404:
                raise
    return live


def _pod_failure(kube: Any, v: KindVerdict, pod: str, verdict: PodVerdict, pods: dict[str, dict],
                 detailed: bool) -> Failure:
    tail: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    if detailed:
        crashed = verdict.state in (PodState.CRASH_LOOP, PodState.OOM_KILLED) and any(
            (cs.get("lastState") or {}).get("terminated")
            for cs in ((pods.get(pod) or {}).get("status") or {}).get("containerStatuses") or [])
        tail = kube.pod_log_tail(pod, verdict.container, lines=LOG_TAIL, previous=crashed)
        events = kube.events_for("Pod", pod, limit=6)
    return Failure(what=f"{v.kind} {v.name}: pod {pod} is {verdict.state.value}",
                   why=f"{verdict.reason}: {verdict.message}" if verdict.message else verdict.reason,
                   pod=pod, container=verdict.container, state=verdict.state.value, exit_code=verdict.exit_code,
                   log_tail=tail, events=events, hint=_HINTS.get(verdict.state, "see the pod's events above"))


def _failures(kube: Any, v: KindVerdict, pods: dict[str, dict]) -> tuple[Failure, ...]:
    if not v.failing:
        return (Failure(what=f"{v.kind} {v.name} failed", why=v.message, events=kube.events_for(v.kind, v.name, limit=6),
                        hint=f"see the {v.kind}'s events above"),)
    return tuple(_pod_failure(kube, v, pod, verdict, pods, i < DETAILED_PODS) for i, (pod, verdict) in enumerate(v.failing))


def _stalled(kube: Any, verdicts: tuple[KindVerdict, ...], why: str) -> tuple[Failure, ...]:
    return tuple(Failure(what=f"{v.kind} {v.name} {why}", why=v.message, events=kube.events_for(v.kind, v.name, limit=6),
                         hint="check the new pods: kubectl get pods, then shipit status")
                 for v in verdicts if v.verdict is not Verdict.COMPLETE)


def unblock_statefulsets(kube: Any, live: dict[Ref, dict], pods: list[dict]) -> None:
    """For a revert: delete the pods of the failed revision an OrderedReady StatefulSet would wait on forever."""
    for ref, obj in live.items():
        if ref.kind != "StatefulSet":
            continue
        for pod in blocked_statefulset_pods(obj, pods):
            kube.send(kube.core.delete_namespaced_pod, pod, kube.namespace)
            log.info("statefulset pod of the failed revision deleted", statefulset=ref.name, pod=pod)


def watch(kube: Any, objects: tuple[dict, ...], *, timeout: float, ready_grace: float,
          cancel: threading.Event | None = None, on_progress: Callable[[KindVerdict], None] | None = None,
          reverting: bool = False, poll: float = POLL) -> Outcome:
    """`reverting`: also clear the StatefulSet pods a revert would otherwise never replace, at every poll (a
    crash-looping pod is Ready for a moment after each restart, so one look is not enough)."""
    started = time.monotonic()
    shown: dict[str, str] = {}
    with_deployments = any(o.get("kind") == "Deployment" for o in objects)
    while True:
        live = read_live(kube, objects)
        pods = {p["metadata"]["name"]: p for p in kube.list_json(kube.core.list_namespaced_pod, kube.namespace)[0]}
        replicasets = kube.list_json(kube.apps.list_namespaced_replica_set, kube.namespace)[0] if with_deployments \
            else []
        if reverting:
            unblock_statefulsets(kube, live, list(pods.values()))
        verdicts = decide_all(objects, live, replicasets, list(pods.values()), now=utcnow(), ready_grace=ready_grace)
        for v in verdicts:
            if on_progress and shown.get(f"{v.kind}/{v.name}") != v.message:
                on_progress(v)
            shown[f"{v.kind}/{v.name}"] = v.message
        elapsed = time.monotonic() - started
        failed = [v for v in verdicts if v.verdict is Verdict.FAILED]
        if failed:
            first = f"{failed[0].kind} {failed[0].name}"
            failures = tuple(f for v in failed for f in _failures(kube, v, pods))
            others = tuple(v for v in verdicts if v.verdict is Verdict.PROGRESSING)
            return Outcome(False, failures + _stalled(kube, others, f"not rolled out when {first} failed"), elapsed,
                           verdicts)
        if all(v.verdict is Verdict.COMPLETE for v in verdicts):
            return Outcome(True, (), elapsed, verdicts)
        if cancel is not None and cancel.is_set():
            return Outcome(False, _stalled(kube, verdicts, "cancelled"), elapsed, verdicts)
        if elapsed > timeout:
            return Outcome(False, _stalled(kube, verdicts, f"not rolled out within {timeout:.0f}s"), elapsed, verdicts)
        if cancel is not None:
            cancel.wait(poll)
        else:
            time.sleep(poll)
