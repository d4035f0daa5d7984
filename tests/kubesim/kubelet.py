"""The fake kubelet of the single node `node-1`: runs the pods bound to it, driven by what their images do
(images.py), and reports the exact status shapes a real kubelet does (ErrImagePull/ImagePullBackOff, CrashLoopBackOff,
CreateContainerConfigError, readiness failing, failed Job pods, graceful deletion).

In exec mode the containers of Job pods that have a `command` run as real local processes.
All runtime state is owned by one thread; store callbacks and process readers only post work to it."""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import os
import queue
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from tests.kubesim.clock import Clock, rfc3339
from tests.kubesim.errors import ApiError
from tests.kubesim.events import NODE, EventRecorder
from tests.kubesim.images import ImageBehaviour, ImageRegistry
from tests.kubesim.log_errors import report
from tests.kubesim.logs import PodLogs
from tests.kubesim.podenv import ContainerConfigError, command_line, container_env
from tests.kubesim.podstatus import Phase, kubelet_conditions, pod_phase
from tests.kubesim.resources import CONFIGMAPS, PODS, SECRETS

HOST_IP = "192.168.49.2"
COMPONENT = "kubelet"


@dataclasses.dataclass(frozen=True)
class KubeletTimings:
    """Cluster seconds (scaled by the clock). Defaults are the real kubelet's."""
    relist: float = 1.0               # from a container exit to the restart decision (PLEG relist)
    pull_backoff: float = 10.0        # image pull back-off, doubling
    pull_backoff_max: float = 300.0
    crash_backoff: float = 10.0       # container restart back-off, doubling
    crash_backoff_max: float = 300.0
    crash_reset: float = 600.0        # clean running time that resets the restart back-off
    config_retry: float = 10.0        # CreateContainerConfigError retry
    probe_period: float = 10.0        # readiness probe failures


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String for whole seconds: 10s, 1m20s, 5m0s."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s}s"
    h, m = divmod(m, 60)
    return f"{h}h{m}m{s}s"


@dataclasses.dataclass
class _Container:
    spec: dict
    behaviour: ImageBehaviour
    state: dict = dataclasses.field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict = dataclasses.field(default_factory=dict)
    restart_count: int = 0
    ready: bool = False
    started: bool = False
    container_id: str | None = None
    pulled: bool = False
    started_at: float = 0.0
    pull_failures: int = 0
    exits: int = 0
    epoch: int = 0                    # bumped on every transition: timers for an older epoch are stale
    process: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def image(self) -> str:
        return self.spec.get("image", "")

    @property
    def running(self) -> bool:
        return "running" in self.state

    def status(self) -> dict:
        cs = {"name": self.name, "state": self.state, "lastState": self.last_state, "ready": self.ready,
              "restartCount": self.restart_count, "started": self.started,
              "image": ImageRegistry.qualified(self.image) if self.pulled else self.image,
              "imageID": ImageRegistry.image_id(self.image) if self.pulled else ""}
        if self.container_id:
            cs["containerID"] = self.container_id
        return cs


@dataclasses.dataclass
class _Pod:
    namespace: str
    name: str
    uid: str
    obj: dict
    containers: list[_Container]
    pod_ip: str
    start_time: str
    exec_containers: bool
    phase: Phase = Phase.PENDING
    deleting: bool = False
    done: bool = False

    @property
    def restart_policy(self) -> str:
        return self.obj["spec"].get("restartPolicy", "Always")


class Kubelet:
    def __init__(self, store, logs: PodLogs, images: ImageRegistry, recorder: EventRecorder, clock: Clock, *,
                 exec_mode: bool = False, timings: KubeletTimings = KubeletTimings()) -> None:
        self._store = store
        self._logs = logs
        self._images = images
        self._events = recorder
        self._clock = clock
        self._exec_mode = exec_mode
        self.timings = timings
        self._pods: dict[str, _Pod] = {}
        self._inbox: queue.Queue[Callable[[], None]] = queue.Queue()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._ips = itertools.count(10)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubesim-kubelet", daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._inbox.put(lambda: None)
        self._thread.join(timeout=5)
        for pod in self._pods.values():
            for c in pod.containers:
                if c.process and c.process.poll() is None:
                    _signal(c.process, signal.SIGKILL)

    def on_event(self, type_: str, res, obj: dict) -> None:
        """Store callback (any thread): hand the change to the kubelet thread."""
        if res is PODS:
            self._inbox.put(lambda: self._pod_event(type_, obj))
        elif res in (SECRETS, CONFIGMAPS) and type_ != "DELETED":
            self._inbox.put(self._retry_config_errors)

    def _run(self) -> None:
        while not self._stopped.is_set():
            timeout = max(0.0, self._timers[0][0] - time.monotonic()) if self._timers else None
            try:
                work = self._inbox.get(timeout=timeout)
            except queue.Empty:
                work = None
            due = []
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                due.append(heapq.heappop(self._timers)[2])
            for fn in ([work] if work else []) + due:
                if self._stopped.is_set():
                    return
                try:
                    fn()
                except Exception as exc:  # keep the node alive, but say so
                    report("kubelet", getattr(fn, "__name__", fn), exc)

    def _after(self, cluster_seconds: float, pod: _Pod, c: _Container | None, fn: Callable[[], None]) -> None:
        """Run `fn` later unless the pod or container has moved on meanwhile."""
        epoch = c.epoch if c else None

        def fire() -> None:
            if pod.done or self._pods.get(pod.uid) is not pod or (c is not None and c.epoch != epoch):
                return
            if pod.deleting and c is not None:
                return
            fn()
        fire.__name__ = getattr(fn, "__name__", "timer")
        delay = self._clock.real(cluster_seconds)
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fire))

    # --- pod events ------------------------------------------------------------------------------------------
    def _pod_event(self, type_: str, obj: dict) -> None:
        uid = obj["metadata"].get("uid", "")
        pod = self._pods.get(uid)
        if type_ == "DELETED":
            if pod is not None:
                self._forget(pod, kill=True)
            return
        if obj.get("spec", {}).get("nodeName") != NODE:
            return
        if pod is None:
            if Phase(obj.get("status", {}).get("phase", "Pending")).terminal:
                if obj["metadata"].get("deletionTimestamp"):
                    self._final_delete(obj["metadata"]["namespace"], obj["metadata"]["name"], uid)
                return
            pod = self._admit(obj)
        else:
            pod.obj = obj
        if obj["metadata"].get("deletionTimestamp") and not pod.deleting:
            self._kill(pod, int(obj["metadata"].get("deletionGracePeriodSeconds", 30)))

    def _admit(self, obj: dict) -> _Pod:
        meta = obj["metadata"]
        policy = obj["spec"].get("restartPolicy", "Always")
        is_job = any(ref.get("kind") == "Job" for ref in meta.get("ownerReferences") or [])
        containers = [_Container(spec=c, behaviour=self._images.behaviour(c.get("image", ""), restart_policy=policy))
                      for c in obj["spec"].get("containers") or []]
        pod = _Pod(namespace=meta["namespace"], name=meta["name"], uid=meta["uid"], obj=obj, containers=containers,
                   pod_ip=f"10.244.0.{next(self._ips) % 250 + 2}", start_time=rfc3339(time.time()),
                   exec_containers=self._exec_mode and is_job)
        self._pods[pod.uid] = pod
        if obj["metadata"].get("deletionTimestamp"):
            return pod
        self._write(pod)
        for c in containers:
            self._pull(pod, c)
        return pod

    # --- container transitions -------------------------------------------------------------------------------
    def _field(self, c: _Container) -> str:
        return f"spec.containers{{{c.name}}}"

    def _event(self, pod: _Pod, warning: bool, reason: str, message: str, c: _Container | None = None) -> None:
        record = self._events.warning if warning else self._events.normal
        record(PODS, pod.obj, reason, message, component=COMPONENT, field_path=self._field(c) if c else None)

    def _transition(self, c: _Container, **fields) -> None:
        c.epoch += 1
        for k, v in fields.items():
            setattr(c, k, v)

    def _pull(self, pod: _Pod, c: _Container) -> None:
        self._event(pod, False, "Pulling", f'Pulling image "{c.image}"', c)
        self._after(self._images.start_delay, pod, c, lambda: self._pulled(pod, c))

    def _pulled(self, pod: _Pod, c: _Container) -> None:
        if not c.behaviour.pullable:
            c.pull_failures += 1
            err = (f'rpc error: code = NotFound desc = failed to pull and unpack image '
                   f'"{ImageRegistry.qualified(c.image)}": failed to resolve reference '
                   f'"{ImageRegistry.qualified(c.image)}": {ImageRegistry.qualified(c.image)}: not found')
            self._transition(c, state={"waiting": {"reason": "ErrImagePull", "message": err}})
            self._event(pod, True, "Failed", f'Failed to pull image "{c.image}": {err}', c)
            self._event(pod, True, "Failed", "Error: ErrImagePull", c)
            self._write(pod)
            self._after(self.timings.relist, pod, c, lambda: self._pull_backoff(pod, c))
            return
        if not c.pulled:
            took = f"{self._images.start_delay:.3g}s"
            self._event(pod, False, "Pulled", f'Successfully pulled image "{c.image}" in {took} '
                                              f"({took} including waiting). Image size: 4096 bytes.", c)
        c.pulled = True
        self._create(pod, c)

    def _pull_backoff(self, pod: _Pod, c: _Container) -> None:
        delay = min(self.timings.pull_backoff * 2 ** (c.pull_failures - 1), self.timings.pull_backoff_max)
        message = f'Back-off pulling image "{c.image}"'
        self._transition(c, state={"waiting": {"reason": "ImagePullBackOff", "message": message}})
        self._event(pod, False, "BackOff", message, c)
        self._event(pod, True, "Failed", "Error: ImagePullBackOff", c)
        self._write(pod)
        self._after(delay, pod, c, lambda: self._pull(pod, c))

    def _lookup(self, namespace: str):
        def lookup(kind: str, name: str) -> dict | None:
            try:
                return self._store.get(SECRETS if kind == "Secret" else CONFIGMAPS, namespace, name)
            except ApiError:
                return None
        return lookup

    def _create(self, pod: _Pod, c: _Container) -> None:
        try:
            env = container_env(pod.obj, c.spec, self._lookup(pod.namespace))
        except ContainerConfigError as exc:
            self._transition(c, state={"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}})
            self._event(pod, True, "Failed", f"Error: {exc}", c)
            self._write(pod)
            self._after(self.timings.config_retry, pod, c, lambda: self._create(pod, c))
            return
        self._transition(c, container_id="containerd://" + secrets.token_hex(32), started_at=time.time())
        self._event(pod, False, "Created", f"Created container {c.name}", c)
        if pod.exec_containers and c.spec.get("command"):
            self._spawn(pod, c, env)
            return
        self._event(pod, False, "Started", f"Started container {c.name}", c)
        b = c.behaviour
        self._transition(c, state={"running": {"startedAt": rfc3339(c.started_at)}}, started=True,
                         ready=b.ready_after == 0)
        for line in b.log_lines[:-1] if b.exit_code is not None else b.log_lines:
            self._logs.append(pod.namespace, pod.name, c.name, line)
        self._write(pod)
        if b.ready_after:
            self._after(b.ready_after, pod, c, lambda: self._become_ready(pod, c))
        elif b.ready_after is None:
            self._after(self.timings.probe_period / 2, pod, c, lambda: self._probe_failed(pod, c))
        if b.exit_code is not None:
            def finish() -> None:
                if b.log_lines:
                    self._logs.append(pod.namespace, pod.name, c.name, b.log_lines[-1])
                self._exited(pod, c, b.exit_code, b.exit_reason)
            self._after(b.run_seconds, pod, c, finish)

    def _become_ready(self, pod: _Pod, c: _Container) -> None:
        self._transition(c, ready=True)
        self._write(pod)

    def _probe_failed(self, pod: _Pod, c: _Container) -> None:
        self._event(pod, True, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", c)
        self._after(self.timings.probe_period, pod, c, lambda: self._probe_failed(pod, c))

    def _spawn(self, pod: _Pod, c: _Container, env: dict[str, str]) -> None:
        argv = command_line(c.spec, env)
        workdir = c.spec.get("workingDir") or None
        try:
            proc = subprocess.Popen(argv, cwd=workdir, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            message = (f"failed to create containerd task: failed to create shim task: OCI runtime create failed: "
                       f"runc create failed: unable to start container process: exec: {exc}")
            self._event(pod, True, "Failed", f"Error: {message}", c)
            self._exited(pod, c, 128, "StartError", message=message)
            return
        self._event(pod, False, "Started", f"Started container {c.name}", c)
        self._transition(c, state={"running": {"startedAt": rfc3339(c.started_at)}}, started=True, ready=True,
                         process=proc)
        epoch = c.epoch
        threading.Thread(target=self._pump, args=(pod, c, proc, epoch), name=f"kubesim-exec-{pod.name}",
                         daemon=True).start()
        self._write(pod)

    def _pump(self, pod: _Pod, c: _Container, proc: subprocess.Popen, epoch: int) -> None:
        """Process output thread: lines become the log live; the exit is handed to the kubelet thread."""
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            self._logs.append(pod.namespace, pod.name, c.name, raw.decode("utf-8", "replace").rstrip("\r\n"))
        code = proc.wait()
        code = 128 - code if code < 0 else code

        def exited() -> None:
            if self._pods.get(pod.uid) is pod and c.process is proc:
                c.process = None
                self._exited(pod, c, code, "Completed" if code == 0 else "Error", force=True)
                if pod.deleting:
                    self._finish_kill(pod)
        self._inbox.put(exited)

    def _exited(self, pod: _Pod, c: _Container, code: int, reason: str, *, message: str | None = None,
                force: bool = False) -> None:
        if pod.deleting and not force:
            return
        now = time.time()
        term = {"exitCode": code, "reason": reason, "startedAt": rfc3339(c.started_at or now),
                "finishedAt": rfc3339(now)}
        if message:
            term["message"] = message
        if c.container_id:
            term["containerID"] = c.container_id
        ran = self._clock.elapsed(c.started_at) if c.started_at else 0.0
        self._transition(c, state={"terminated": term}, ready=False, started=False,
                         exits=1 if ran >= self.timings.crash_reset else c.exits + 1)
        self._logs.finish(pod.namespace, pod.name, c.name)
        self._write(pod)
        if pod.deleting:
            return
        if pod.restart_policy == "Always" or (pod.restart_policy == "OnFailure" and code != 0):
            self._after(self.timings.relist, pod, c, lambda: self._restart(pod, c))

    def _restart(self, pod: _Pod, c: _Container) -> None:
        """First restart is immediate; then CrashLoopBackOff 10s, 20s, ... capped."""
        delay = 0.0 if c.exits <= 1 else min(self.timings.crash_backoff * 2 ** (c.exits - 2),
                                             self.timings.crash_backoff_max)
        last = {"terminated": c.state["terminated"]}
        if delay:
            message = (f"back-off {go_duration(delay)} restarting failed container={c.name} "
                       f"pod={pod.name}_{pod.namespace}({pod.uid})")
            self._transition(c, state={"waiting": {"reason": "CrashLoopBackOff", "message": message}},
                             last_state=last)
            self._event(pod, True, "BackOff", f"Back-off restarting failed container {c.name} in pod "
                                              f"{pod.name}_{pod.namespace}({pod.uid})", c)
            self._write(pod)
            self._after(delay, pod, c, lambda: self._start_again(pod, c, last))
        else:
            self._start_again(pod, c, last)

    def _start_again(self, pod: _Pod, c: _Container, last: dict) -> None:
        self._transition(c, last_state=last, restart_count=c.restart_count + 1)
        self._logs.rotate(pod.namespace, pod.name, c.name)
        self._event(pod, False, "Pulled", f'Container image "{c.image}" already present on machine', c)
        self._create(pod, c)

    def _retry_config_errors(self) -> None:
        for pod in list(self._pods.values()):
            for c in pod.containers:
                if not pod.deleting and c.state.get("waiting", {}).get("reason") == "CreateContainerConfigError":
                    self._create(pod, c)

    # --- deletion ----------------------------------------------------------------------------------
    def _kill(self, pod: _Pod, grace: int) -> None:
        pod.deleting = True
        for c in pod.containers:
            c.epoch += 1
            if c.running or c.process:
                self._event(pod, False, "Killing", f"Stopping container {c.name}", c)
            if c.process and c.process.poll() is None:
                _signal(c.process, signal.SIGTERM)
                proc = c.process
                kill_at = time.monotonic() + self._clock.real(grace)
                heapq.heappush(self._timers, (kill_at, next(self._seq), lambda p=proc: _signal(p, signal.SIGKILL)))
            elif c.running:
                self._exited(pod, c, 0, "Completed", force=True)
            elif "waiting" in c.state:
                term = {"exitCode": 137, "reason": "ContainerStatusUnknown",
                        "message": "The container could not be located when the pod was terminated",
                        "startedAt": None, "finishedAt": None}
                self._transition(c, state={"terminated": term}, ready=False, started=False)
        self._finish_kill(pod)

    def _finish_kill(self, pod: _Pod) -> None:
        if any(c.process for c in pod.containers):
            return
        self._write(pod)
        self._final_delete(pod.namespace, pod.name, pod.uid)
        self._forget(pod, kill=False)

    def _final_delete(self, namespace: str, name: str, uid: str) -> None:
        try:
            self._store.delete(PODS, namespace, name, grace_period_seconds=0, preconditions={"uid": uid})
        except ApiError:
            pass

    def _forget(self, pod: _Pod, *, kill: bool) -> None:
        pod.done = True
        self._pods.pop(pod.uid, None)
        for c in pod.containers:
            if kill and c.process and c.process.poll() is None:
                _signal(c.process, signal.SIGKILL)
        self._logs.forget_pod(pod.namespace, pod.name) if kill else None

    # --- status ----------------------------------------------------------------------------------------------
    def _write(self, pod: _Pod) -> None:
        statuses = [c.status() for c in pod.containers]
        if not pod.phase.terminal:
            all_stopped = all("terminated" in s["state"] for s in statuses)
            pod.phase = pod_phase(pod.restart_policy, statuses, deleting=pod.deleting and all_stopped)
        phase = pod.phase
        sandbox = not pod.deleting

        def update(obj: dict) -> None:
            st = obj.setdefault("status", {})
            now = rfc3339(time.time())
            st["phase"] = phase.value
            st["conditions"] = kubelet_conditions(phase, statuses, st.get("conditions") or [], now, sandbox=sandbox)
            st.update(hostIP=HOST_IP, hostIPs=[{"ip": HOST_IP}], podIP=pod.pod_ip, podIPs=[{"ip": pod.pod_ip}],
                      startTime=pod.start_time, containerStatuses=statuses)
        try:
            pod.obj = self._store.mutate(PODS, pod.namespace, pod.name, update, subresource="status")
        except ApiError as exc:
            if exc.status == 404:
                self._forget(pod, kill=True)


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
