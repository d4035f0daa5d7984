"""Server-side printing: `meta.k8s.io/v1 Table` answers for clients that ask with `Accept: ...;as=Table`, so
`kubectl get` shows the real columns (READY, STATUS, RESTARTS...) instead of NAME/AGE. Cells follow the upstream
printers (k8s pkg/printers/internalversion/printers.go) for the types a release is debugged with; other types get
Name and Age. Pure functions of (resource, objects, now, emulated minor)."""

from __future__ import annotations

from collections.abc import Callable

from tests.kubesim.clock import parse_time
from tests.kubesim.resources import (CONFIGMAPS, DEPLOYMENTS, EVENTS, EVENTS_V1, JOBS, LEASES, NAMESPACES, PODS,
                                     REPLICASETS, SECRETS, Resource)


def wants_table(accept: str | None) -> bool:
    """True when the first acceptable form is a meta.k8s.io Table (kubectl get's human output)."""
    for part in (accept or "").split(","):
        params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return True
    return False


def human_duration(seconds: float) -> str:
    """apimachinery duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    return f"{hours // (24 * 365)}y"


def _since(stamp: str | None, now: float) -> str:
    at = parse_time(stamp)
    return "<unknown>" if at is None else human_duration(now - at)


def _col(name: str, type_: str = "string", *, fmt: str = "", priority: int = 0, description: str = "") -> dict:
    return {"name": name, "type": type_, "format": fmt, "description": description or name, "priority": priority}


def _age(obj: dict, now: float) -> str:
    return _since(obj["metadata"].get("creationTimestamp"), now)


def _pod_cells(pod: dict, now: float, minor: int) -> list:
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    restarts, ready, running, last_restart = 0, 0, False, None
    for cs in reversed(status.get("containerStatuses") or []):
        restarts += cs.get("restartCount", 0)
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "terminated" in state:
            reason = f"ExitCode:{state['terminated'].get('exitCode', 0)}"
        elif cs.get("ready") and "running" in state:
            running = True
            ready += 1
    if reason == "Completed" and running:
        pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        reason = "Running" if pod_ready else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    restart_cell = str(restarts) if last_restart is None else f"{restarts} ({_since(last_restart, now)} ago)"
    return [pod["metadata"]["name"], f"{ready}/{len(spec.get('containers') or [])}", reason, restart_cell,
            _age(pod, now), status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", "<none>"]


def _containers(template_spec: dict) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    return ",".join(c["name"] for c in containers), ",".join(c.get("image", "") for c in containers)


def _selector(sel: dict | None) -> str:
    from tests.kubesim.server import selector_string
    return selector_string(sel) or "<none>"


def _deployment_cells(d: dict, now: float, minor: int) -> list:
    st, spec = d.get("status") or {}, d.get("spec") or {}
    names, images = _containers(spec.get("template", {}).get("spec") or {})
    return [d["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), _age(d, now), names, images,
            _selector(spec.get("selector"))]


def _replicaset_cells(rs: dict, now: float, minor: int) -> list:
    st, spec = rs.get("status") or {}, rs.get("spec") or {}
    names, images = _containers(spec.get("template", {}).get("spec") or {})
    return [rs["metadata"]["name"], spec.get("replicas", 0), st.get("replicas", 0), st.get("readyReplicas", 0),
            _age(rs, now), names, images, _selector(spec.get("selector"))]


def _job_status(job: dict) -> str:
    conds = {c["type"] for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}
    for type_ in ("Failed", "Complete", "Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if type_ in conds:
            return type_
    return "Terminating" if job["metadata"].get("deletionTimestamp") else "Running"


def _job_cells(job: dict, now: float, minor: int) -> list:
    st, spec = job.get("status") or {}, job.get("spec") or {}
    completions = spec.get("completions")
    done = f"{st.get('succeeded', 0)}/{completions}" if completions is not None else \
        f"{st.get('succeeded', 0)}/1 of {spec.get('parallelism', 1)}"
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    duration = "" if start is None else human_duration((end if end is not None else now) - start)
    names, images = _containers(spec.get("template", {}).get("spec") or {})
    cells = [job["metadata"]["name"], done, duration, _age(job, now), names, images, _selector(spec.get("selector"))]
    return cells[:1] + [_job_status(job)] + cells[1:] if minor >= 30 else cells


def _event_cells(ev: dict, now: float, minor: int) -> list:
    involved = ev.get("involvedObject") or {}
    last = ev.get("lastTimestamp") or ev.get("eventTime") or ev["metadata"].get("creationTimestamp")
    obj = f"{(involved.get('kind') or '').lower()}/{involved.get('name', '')}"
    return [_since(last, now), ev.get("type", ""), ev.get("reason", ""), obj, ev.get("message", "")]


def _data_cells(obj: dict, now: float, minor: int) -> list:
    return [obj["metadata"]["name"], len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj, now)]


def _secret_cells(obj: dict, now: float, minor: int) -> list:
    return [obj["metadata"]["name"], obj.get("type", "Opaque"), len(obj.get("data") or {}), _age(obj, now)]


def _namespace_cells(obj: dict, now: float, minor: int) -> list:
    return [obj["metadata"]["name"], (obj.get("status") or {}).get("phase", "Active"), _age(obj, now)]


def _lease_cells(obj: dict, now: float, minor: int) -> list:
    return [obj["metadata"]["name"], (obj.get("spec") or {}).get("holderIdentity") or "", _age(obj, now)]


def _default_cells(obj: dict, now: float, minor: int) -> list:
    return [obj["metadata"]["name"], _age(obj, now)]


_NAME = _col("Name", fmt="name", description="Name must be unique within a namespace.")
_AGE = _col("Age", description="CreationTimestamp is a timestamp representing the server time when this object "
                               "was created.")
_WIDE_TEMPLATE = [_col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)]
_JOB_BASE = [_NAME, _col("Completions"), _col("Duration"), _AGE, *_WIDE_TEMPLATE]

Printer = tuple[Callable[[int], list[dict]], Callable[[dict, float, int], list]]
_PRINTERS: dict[Resource, Printer] = {
    PODS: (lambda minor: [_NAME, _col("Ready"), _col("Status"), _col("Restarts"), _AGE, _col("IP", priority=1),
                          _col("Node", priority=1), _col("Nominated Node", priority=1),
                          _col("Readiness Gates", priority=1)], _pod_cells),
    DEPLOYMENTS: (lambda minor: [_NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"),
                                 _AGE, *_WIDE_TEMPLATE], _deployment_cells),
    REPLICASETS: (lambda minor: [_NAME, _col("Desired", "integer"), _col("Current", "integer"),
                                 _col("Ready", "integer"), _AGE, *_WIDE_TEMPLATE], _replicaset_cells),
    JOBS: (lambda minor: _JOB_BASE[:1] + [_col("Status")] + _JOB_BASE[1:] if minor >= 30 else _JOB_BASE, _job_cells),
    EVENTS: (lambda minor: [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
             _event_cells),
    CONFIGMAPS: (lambda minor: [_NAME, _col("Data", "integer"), _AGE], _data_cells),
    SECRETS: (lambda minor: [_NAME, _col("Type"), _col("Data", "integer"), _AGE], _secret_cells),
    NAMESPACES: (lambda minor: [_NAME, _col("Status"), _AGE], _namespace_cells),
    LEASES: (lambda minor: [_NAME, _col("Holder"), _AGE], _lease_cells),
}


def table(res: Resource, objects: list[dict], *, now: float, minor: int, list_meta: dict | None = None) -> dict:
    """A Table of `objects`; each row carries the object's metadata as PartialObjectMetadata (what kubectl reads
    for names, labels and --show-labels)."""
    if res is EVENTS_V1:
        res = EVENTS
    columns, cells = _PRINTERS.get(res, (lambda minor: [_NAME, _AGE], _default_cells))
    rows = [{"cells": cells(o, now, minor),
             "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": o.get("metadata") or {}}} for o in objects]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
            "columnDefinitions": columns(minor), "rows": rows}
