"""`rails db:migrate` as a watched Kubernetes Job.

The Job is cut from the app's own Deployment so it sees the same env, secrets and volumes as the code it prepares.
`backoffLimit: 0` because a half-applied MySQL migration must not be retried blindly. It is watched to completion
(never "running means done", unlike krane), its log is streamed live, and it fails within a second of the pod's
status showing a cause that will not fix itself. On timeout or cancellation the Job is deleted with Background
propagation so no migration keeps running unseen.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import threading
import time
from datetime import datetime
from typing import Any, Callable

from shipit.core.errors import BadInput, ShipitError
from shipit.kube.client import Kube
from shipit.kube.watch import WatchMux
from shipit.kube.failure import Failure
from shipit.kube.job_logs import LOG_TAIL, LogFollower, container_finished, container_started
from shipit.kube.pods import PodState, PodVerdict, classify_pod, utcnow
from shipit.core.redact import redact_value
from shipit.kube.secret_values import register_container_secrets


TTL_AFTER_FINISHED = 86400  # keep the finished Job (and its pod's log) for a day
UNSCHEDULABLE_GRACE = 10.0  # a migration pod no node can take is worth a short wait (autoscaler), not the whole timeout
LABEL_APP = "shipit.dev/app"
LABEL_RELEASE = "shipit.dev/release"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED = "app.kubernetes.io/managed-by"
_CARRIED_POD_FIELDS = ("serviceAccountName", "imagePullSecrets", "nodeSelector", "tolerations", "volumes", "securityContext", "affinity")
_CARRIED_CONTAINER_FIELDS = ("env", "envFrom", "volumeMounts", "workingDir", "resources", "securityContext", "imagePullPolicy")


def job_name(app: str, release_id: str) -> str:
    """DNS-1123 name, at most 63 characters, unique per release (a Job's template is immutable)."""
    raw = re.sub(r"[^a-z0-9-]+", "-", f"{app}-migrate-{release_id}".lower()).strip("-")
    return raw[:63].rstrip("-")


def _sidecars(pod_spec: dict, names: tuple[str, ...], main: str, dep_name: str) -> list[dict]:
    """The asked-for template containers as native sidecars (initContainers with restartPolicy Always, 1.29+): they
    start first and stop when the migration exits, so the Job still completes; a plain second container would keep
    it running forever."""
    every = {c.get("name"): c for c in (pod_spec.get("initContainers") or []) + (pod_spec.get("containers") or [])}
    out = []
    for name in names:
        if name == main or name not in every:
            why = "is the migration container itself" if name == main else f"is not a container of Deployment {dep_name}"
            raise BadInput(f"migration.sidecars: {name!r} {why} (containers: {', '.join(every)})")
        out.append({**copy.deepcopy(every[name]), "restartPolicy": "Always"})
    return out


def build_job_manifest(
    deployment: dict, cfg: Any, *, image: str, release_id: str, command: tuple[str, ...] | None = None, name: str | None = None
) -> dict:
    """The migration Job from `migration.from_deployment`'s pod template: one container without probes; sidecars only as asked."""
    mig = cfg.migration
    dep_name = deployment.get("metadata", {}).get("name", mig.from_deployment)
    template = (deployment.get("spec") or {}).get("template") or {}
    pod_spec = template.get("spec") or {}
    containers = pod_spec.get("containers") or []
    source = next((c for c in containers if c.get("name") == mig.container), None)
    if source is None:
        names = ", ".join(c.get("name", "?") for c in containers) or "none"
        raise BadInput(
            f"migration.container {mig.container!r} is not a container of Deployment {dep_name} (containers: {names})"
        )
    container: dict[str, Any] = {"name": mig.container, "image": image, "command": list(command or mig.command)}
    for key in _CARRIED_CONTAINER_FIELDS:
        if key in source:
            container[key] = copy.deepcopy(source[key])
    spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    sidecars = _sidecars(pod_spec, mig.sidecars, mig.container, dep_name)
    if sidecars:
        spec["initContainers"] = sidecars
    for key in _CARRIED_POD_FIELDS:
        if key in pod_spec:
            spec[key] = copy.deepcopy(pod_spec[key])
    labels = {
        LABEL_APP: cfg.app,
        LABEL_RELEASE: release_id,
        LABEL_COMPONENT: "migration",
        LABEL_MANAGED: "shipit",
    }
    annotations = redact_value({  # the command line may carry a credential: masked like every output
        "shipit.dev/image": image,
        "shipit.dev/command": " ".join(container["command"]),
        "shipit.dev/from-deployment": dep_name,
    })
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name or job_name(cfg.app, release_id),
            "namespace": cfg.kubernetes.namespace,
            "labels": dict(labels),
            "annotations": dict(annotations),
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": max(1, math.ceil(mig.timeout)),
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED,
            "template": {"metadata": {"labels": dict(labels), "annotations": dict(annotations)}, "spec": spec},
        },
    }


# --- the decision --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class JobDecision:
    done: bool
    succeeded: bool
    reason: str = ""
    message: str = ""
    pod: str | None = None
    verdict: PodVerdict | None = None


def _true_condition(job: dict, *types: str) -> dict | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in types and c.get("status") == "True":
            return c
    return None


def decide_job(job: dict | None, pods: list[dict], *, now: datetime, unschedulable_grace: float = UNSCHEDULABLE_GRACE) -> JobDecision:
    """Has the migration Job finished, and how? Pure: the Job's conditions (the 1.29 protocol and 1.31+'s FailureTarget/SuccessCriteriaMet first)
    and its pods' verdicts, whichever speaks first."""
    verdicts = sorted(
        ((p["metadata"]["name"], classify_pod(p, now=now, ready_grace=math.inf, unschedulable_grace=unschedulable_grace)) for p in pods),
        key=lambda nv: not nv[1].fatal,
    )
    fatal = next(((n, v) for n, v in verdicts if v.fatal), None)
    if job is not None:
        if _true_condition(job, "Complete", "SuccessCriteriaMet"):
            return JobDecision(True, True, "Complete", "")
        failed = _true_condition(job, "Failed", "FailureTarget")
        if failed:
            pod, verdict = fatal if fatal else (verdicts[0] if verdicts else (None, None))
            return JobDecision(True, False, failed.get("reason") or "Failed", failed.get("message") or "", pod, verdict)
    if fatal:
        name, verdict = fatal
        return JobDecision(True, False, verdict.reason, verdict.message, name, verdict)
    return JobDecision(False, False)


def failure_hint(decision: JobDecision, *, image: str, deployment: str, container: str) -> str:
    if decision.reason == "DeadlineExceeded":
        return "the migration ran longer than migration.timeout; raise it or make the migration faster (online DDL)"
    state = decision.verdict.state if decision.verdict else PodState.FAILED
    context = {"image": image, "deployment": deployment, "container": container}
    return state.hint(**context) or PodState.FAILED.hint(**context)


# --- running it ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class JobOutcome:
    succeeded: bool
    job_name: str
    failure: Failure | None
    duration: float
    log_tail: tuple[str, ...]
    notes: tuple[str, ...] = ()  # Secrets whose values are masked only by pattern


class MigrationJob:
    def __init__(
        self,
        kube: Kube,
        cfg: Any,
        *,
        image: str,
        release_id: str,
        command: tuple[str, ...] | None = None,
        on_log: Callable[[str], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
        unschedulable_grace: float = UNSCHEDULABLE_GRACE,
    ):
        self.kube = kube
        self.cfg = cfg
        self.image = image
        self.release_id = release_id
        self.command = command
        self.on_log = on_log
        self.on_progress = on_progress or (lambda text: None)
        self.unschedulable_grace = unschedulable_grace
        self.name = job_name(cfg.app, release_id)
        self.notes: tuple[str, ...] = ()

    def _create(self) -> None:
        from kubernetes.client.exceptions import ApiException

        mig = self.cfg.migration
        try:
            deployment = self.kube.get_json(self.kube.apps.read_namespaced_deployment, mig.from_deployment, self.kube.namespace)
        except ApiException as e:
            if e.status == 404:
                raise BadInput(
                    f"migration.from_deployment: Deployment {mig.from_deployment} not found in namespace {self.kube.namespace}"
                ) from e
            raise
        manifest = build_job_manifest(deployment, self.cfg, image=self.image, release_id=self.release_id, command=self.command)
        # the values the migration may print are registered before it can print them
        self.notes = register_container_secrets(self.kube, manifest["spec"]["template"]["spec"]["containers"][0])
        for note in self.notes:
            self.on_progress(note)
        try:
            self.kube.send(self.kube.batch.create_namespaced_job, self.kube.namespace, manifest)
        except ApiException as e:
            if e.status != 409:
                raise
            existing = self.kube.get_json(self.kube.batch.read_namespaced_job, self.name, self.kube.namespace)
            labels = existing.get("metadata", {}).get("labels") or {}
            if labels.get(LABEL_RELEASE) != self.release_id or labels.get(LABEL_APP) != self.cfg.app:
                raise ShipitError(
                    f"a Job named {self.name} already exists and was not made by this release; "
                    f"delete it (kubectl delete job {self.name} -n {self.kube.namespace}) and re-run"
                ) from e
            self.on_progress(f"migration Job {self.name} already exists for this release (an interrupted run started "
                             "it): watching it, not starting a second one")

    def delete(self) -> None:
        """Delete the Job and, through Background propagation, its pod (the default propagation for Jobs orphans the pod)."""
        from kubernetes.client.exceptions import ApiException

        try:
            self.kube.send(self.kube.batch.delete_namespaced_job, self.name, self.kube.namespace, propagation_policy="Background")
        except ApiException as e:
            if e.status != 404:
                raise

    def run(self, *, cancel: threading.Event | None = None, timeout: float | None = None) -> JobOutcome:
        """Create (or adopt) the Job, stream its log, and return as soon as it has an outcome."""
        started = time.monotonic()
        limit = timeout if timeout is not None else self.cfg.migration.timeout + 30.0  # the Job's own deadline fires first
        container = self.cfg.migration.container
        self._create()
        job: dict | None = None
        pods: dict[str, dict] = {}
        followers: dict[str, LogFollower] = {}
        seen_job = False
        with WatchMux(self.kube) as mux:
            mux.add("job", self.kube.batch.list_namespaced_job, self.kube.namespace, field_selector=f"metadata.name={self.name}")
            mux.add("pod", self.kube.core.list_namespaced_pod, self.kube.namespace, label_selector=f"batch.kubernetes.io/job-name={self.name}")
            try:
                while True:
                    item = mux.get(0.2)
                    if item is not None:
                        key, etype, obj = item
                        if key == "job":
                            if etype == "DELETED":
                                if not (job and (_true_condition(job, "Complete", "SuccessCriteriaMet", "Failed", "FailureTarget"))):
                                    return self._outcome(started, JobDecision(True, False, "Deleted", f"Job {self.name} was deleted before it finished"), pods, followers)
                            else:
                                job, seen_job = obj, True
                        else:
                            name = obj["metadata"]["name"]
                            if etype == "DELETED":
                                pods.pop(name, None)
                            else:
                                pods[name] = obj
                                if name not in followers and container_started(obj, container):
                                    followers[name] = LogFollower(
                                        self.kube, name, container, self.on_log, lambda n=name: container_finished(pods.get(n), container)
                                    )
                    decision = decide_job(job, list(pods.values()), now=utcnow(), unschedulable_grace=self.unschedulable_grace)
                    if decision.done and not decision.succeeded and not (decision.verdict and decision.verdict.fatal):
                        # The Job's watch can deliver Failed before the pod's watch delivers the status that caused it;
                        # one fresh list names the cause instead of "Running".
                        fresh, _ = self.kube.list_json(
                            self.kube.core.list_namespaced_pod, self.kube.namespace, label_selector=f"batch.kubernetes.io/job-name={self.name}"
                        )
                        pods.update({p["metadata"]["name"]: p for p in fresh})
                        decision = decide_job(job, list(pods.values()), now=utcnow(), unschedulable_grace=self.unschedulable_grace)
                    if decision.done:
                        return self._outcome(started, decision, pods, followers)
                    if cancel is not None and cancel.is_set():
                        self.delete()
                        return self._outcome(
                            started,
                            JobDecision(True, False, "Cancelled", f"cancelled; shipit deleted Job {self.name} (Background propagation, its pod is stopped)"),
                            pods,
                            followers,
                        )
                    if time.monotonic() - started > limit:
                        self.delete()
                        return self._outcome(
                            started,
                            JobDecision(True, False, "Timeout", f"no outcome after {limit:.0f}s; shipit deleted Job {self.name} (Background propagation)"),
                            pods,
                            followers,
                        )
                    if not seen_job and item is None and time.monotonic() - started > 30:
                        raise ShipitError(f"Job {self.name} was created but never seen by the watch")
            finally:
                for f in followers.values():
                    if not f.done.is_set():
                        f.stop()

    def _outcome(self, started: float, decision: JobDecision, pods: dict[str, dict], followers: dict[str, "LogFollower"]) -> JobOutcome:
        pod = decision.pod or (max(pods, key=lambda n: pods[n]["metadata"].get("creationTimestamp", "")) if pods else None)
        follower = followers.get(pod) if pod else None
        if decision.succeeded:
            if follower:
                follower.container_done()
                follower.done.wait(2.0)  # the stream ends when the container does; show every line
            tail = tuple(follower.lines) if follower else ()
            return JobOutcome(True, self.name, None, time.monotonic() - started, tail, self.notes)
        tail: tuple[str, ...] = ()
        events: tuple[str, ...] = ()
        if pod:
            tail = self.kube.pod_log_tail(pod, self.cfg.migration.container, lines=LOG_TAIL)  # fresh, whatever the stream saw
            events = self.kube.events_for("Pod", pod)
        if not events:
            events = self.kube.events_for("Job", self.name)
        verdict = decision.verdict
        why = f"{decision.reason}: {decision.message}".rstrip(": ") if decision.message else decision.reason
        if verdict and verdict.reason != decision.reason and verdict.fatal:
            why = f"{why} ({verdict.reason}: {verdict.message})" if verdict.message else f"{why} ({verdict.reason})"
        failure = Failure(
            what=f"migration Job {self.name} failed",
            why=why,
            pod=pod,
            container=(verdict.container if verdict and verdict.container else self.cfg.migration.container) if pod else None,
            state=verdict.state.value if verdict else None,
            exit_code=verdict.exit_code if verdict else None,
            log_tail=tail,
            events=events,
            hint=failure_hint(decision, image=self.image, deployment=self.cfg.migration.from_deployment, container=self.cfg.migration.container)
            if decision.reason not in ("Cancelled", "Timeout")
            else "the migration may have been partly applied; check schema_migrations before re-running",
        )
        return JobOutcome(False, self.name, failure, time.monotonic() - started, tail, self.notes)
