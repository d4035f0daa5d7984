"""The node agent's container runtime: kubesim's kubelet (image-tag behaviours, crash back-off, --exec processes,
graceful deletion) plus what a real node must also do: init containers in spec order and native sidecars (init
containers with `restartPolicy: Always`), with the statuses and conditions the real kubelet writes for them."""

from __future__ import annotations

import time

from tests.kubesim.clock import rfc3339
from tests.kubesim.kubelet import Kubelet, _Container, _Pod
from tests.kubesim.podstatus import Phase, condition, kubelet_conditions, pod_phase
from tests.kubesim.resources import PODS


def _is_sidecar(c: _Container) -> bool:
    return getattr(c, "init", False) and c.spec.get("restartPolicy") == "Always"


def _mains(pod: _Pod) -> list[_Container]:
    return [c for c in pod.containers if not getattr(c, "init", False)]


def _inits(pod: _Pod) -> list[_Container]:
    return [c for c in pod.containers if getattr(c, "init", False)]


class NodeRuntime(Kubelet):
    """Runs the pods bound to node `node-1` (kubesim's node name); `store` and `recorder` speak to the real API server (see node_agent)."""

    def __init__(self, *args, host_ip: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.host_ip = host_ip

    # --- admission and ordering ------------------------------------------------------------------------------
    def _admit(self, obj: dict) -> _Pod:
        spec = obj["spec"]
        meta = obj["metadata"]
        policy = spec.get("restartPolicy", "Always")
        is_job = any(ref.get("kind") == "Job" for ref in meta.get("ownerReferences") or [])
        inits = []
        for cs in spec.get("initContainers") or []:
            sidecar = cs.get("restartPolicy") == "Always"
            c = _Container(spec=cs, behaviour=self._images.behaviour(cs.get("image", ""),
                                                                     restart_policy="Always" if sidecar else "Never"))
            c.init = True
            inits.append(c)
        mains = [_Container(spec=cs, behaviour=self._images.behaviour(cs.get("image", ""), restart_policy=policy))
                 for cs in spec.get("containers") or []]
        for c in mains:
            c.init = False
        for c in inits[1:] + (mains if inits else []):
            c.state = {"waiting": {"reason": "PodInitializing"}}
        pod = _Pod(namespace=meta["namespace"], name=meta["name"], uid=meta["uid"], obj=obj,
                   containers=inits + mains, pod_ip=f"10.244.0.{next(self._ips) % 250 + 2}",
                   start_time=rfc3339(time.time()), exec_containers=self._exec_mode and is_job)
        pod.initialized = not inits
        pod.mains_done = False
        for c in pod.containers:
            c.launched = False
        self._pods[pod.uid] = pod
        if meta.get("deletionTimestamp"):
            return pod
        self._write(pod)
        self._advance(pod)
        return pod

    def _launch(self, pod: _Pod, c: _Container) -> None:
        c.launched = True
        c.state = {"waiting": {"reason": "ContainerCreating"}}
        self._pull(pod, c)

    def _advance(self, pod: _Pod) -> None:
        """Init containers one at a time (a sidecar only has to start), then every regular container at once."""
        if pod.deleting or pod.done or pod.phase.terminal:
            return
        for c in _inits(pod):
            if not c.launched:
                self._launch(pod, c)
                return
            if _is_sidecar(c) and not c.started and c.restart_count == 0:
                return
            if not _is_sidecar(c) and c.state.get("terminated", {}).get("exitCode") != 0:
                return
        if not pod.initialized:
            pod.initialized = True
            self._write(pod)
        for c in _mains(pod):
            if not c.launched:
                self._launch(pod, c)

    def _create(self, pod: _Pod, c: _Container) -> None:
        super()._create(pod, c)
        if _is_sidecar(c) and c.started:
            self._advance(pod)

    # --- exits and restarts ----------------------------------------------------------------------------------
    def _policy(self, pod: _Pod, c: _Container) -> str:
        if _is_sidecar(c):
            return "Never" if pod.mains_done else "Always"
        if getattr(c, "init", False):
            return "Never" if pod.restart_policy == "Never" else "OnFailure"
        return pod.restart_policy

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
        policy = self._policy(pod, c)
        restart = policy == "Always" or (policy == "OnFailure" and code != 0)
        if not pod.deleting and not restart:
            if getattr(c, "init", False) and not _is_sidecar(c) and code != 0:
                pod.phase = Phase.FAILED          # an init container failed under restartPolicy Never
                pod.mains_done = True
                self._stop_sidecars(pod)
            elif not getattr(c, "init", False) and all("terminated" in m.state for m in _mains(pod)):
                pod.mains_done = True
                self._stop_sidecars(pod)
        self._write(pod)
        if pod.deleting:
            return
        if restart:
            self._after(self.timings.relist, pod, c, lambda: self._restart(pod, c))
        elif getattr(c, "init", False) and code == 0:
            self._advance(pod)

    def _stop_sidecars(self, pod: _Pod) -> None:
        """Sidecars stop after the regular containers, in reverse spec order."""
        for c in reversed(_inits(pod)):
            if _is_sidecar(c) and (c.running or c.process):
                self._event(pod, False, "Killing", f"Stopping container {c.name}", c)
                if c.process and c.process.poll() is None:
                    c.process.terminate()
                else:
                    self._exited(pod, c, 0, "Completed", force=True)

    def _field(self, c: _Container) -> str:
        kind = "initContainers" if getattr(c, "init", False) else "containers"
        return f"spec.{kind}{{{c.name}}}"

    # --- status ----------------------------------------------------------------------------------------------
    def _write(self, pod: _Pod) -> None:
        inits, mains = _inits(pod), _mains(pod)
        init_statuses = [c.status() for c in inits]
        statuses = [c.status() for c in mains]
        sidecar_statuses = [c.status() for c in inits if _is_sidecar(c)]
        if not pod.phase.terminal:
            all_stopped = all("terminated" in s["state"] for s in statuses)
            deleting = pod.deleting and all_stopped
            pod.phase = pod_phase(pod.restart_policy, statuses, deleting=deleting) if pod.initialized or deleting \
                else Phase.PENDING
        phase = pod.phase
        sandbox = not pod.deleting
        incomplete = [c.name for c in inits if not (c.started if _is_sidecar(c) else
                                                    c.state.get("terminated", {}).get("exitCode") == 0)]
        host_ip = self.host_ip

        def update(obj: dict) -> None:
            st = obj.setdefault("status", {})
            now = rfc3339(time.time())
            previous = st.get("conditions") or []
            conds = kubelet_conditions(phase, statuses + sidecar_statuses, previous, now, sandbox=sandbox)
            if not pod.initialized:
                conds[1] = condition("Initialized", False, previous, now, reason="ContainersNotInitialized",
                                     message=f"containers with incomplete status: [{' '.join(incomplete)}]")
            st["phase"] = phase.value
            st["conditions"] = conds
            st.update(hostIP=host_ip, hostIPs=[{"ip": host_ip}], podIP=pod.pod_ip, podIPs=[{"ip": pod.pod_ip}],
                      startTime=pod.start_time, containerStatuses=statuses)
            if init_statuses:
                st["initContainerStatuses"] = init_statuses
        try:
            pod.obj = self._store.mutate(PODS, pod.namespace, pod.name, update, subresource="status",
                                         current=pod.obj)
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                self._forget(pod, kill=True)
            elif not pod.done:
                raise
