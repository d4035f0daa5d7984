"""Per-type server rules the API server applies on writes (registry strategies): defaulting, Job selectors,
validation, status/spec split, generation bumps, and the core/events.k8s.io Event mapping. Pure functions over dicts; the Store does the I/O."""
from __future__ import annotations

import copy
import re
from typing import Any

from tests.kubesim.errors import ApiError, bad_request, invalid
from tests.kubesim.resources import (CRONJOBS, DEPLOYMENTS, EVENTS, EVENTS_V1, JOBS, LEASES, NAMESPACES, PODS,
                                     REPLICASETS, STATEFULSETS, Resource)

MICROTIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$")
JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def _image_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def default_pod_spec(spec: dict, *, restart_policy: str | None = "Always") -> None:
    if restart_policy is not None:
        spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("imagePullPolicy", _image_pull_policy(c.get("image") or ""))
            c.setdefault("resources", {})


def _qos_class(spec: dict) -> str:
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    requests_limits = [(c.get("resources") or {}) for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in requests_limits):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get("cpu") and (r.get("limits") or {}).get("memory")
        and all((r.get("requests") or {}).get(k, (r.get("limits") or {})[k]) == (r.get("limits") or {})[k]
                for k in ("cpu", "memory"))
        for r in requests_limits)
    return "Guaranteed" if guaranteed else "Burstable"


def _template_spec(obj: dict) -> dict:
    return obj.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})


def _name(obj: dict) -> str:
    return obj.get("metadata", {}).get("name", "")


def validate_microtime(res: Resource, name: str, field: str, value: Any) -> None:
    """MicroTime must carry exactly six fractional digits, else the decoder rejects the body."""
    if value is None:
        return
    if not isinstance(value, str) or not MICROTIME_RE.match(value):
        raise bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                          f'parsing time "{value}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse '
                          f'"{value}" as "2006-01-02T15:04:05.000000Z07:00" ({field})')


def prepare_create(res: Resource, obj: dict, uid: str) -> None:
    """Defaults and validation for a new object. Mutates `obj`."""
    name = _name(obj)
    if res is PODS:
        obj.setdefault("spec", {})
        default_pod_spec(obj["spec"])
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(obj["spec"])}
    elif res is DEPLOYMENTS:
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxSurge", "25%")
            ru.setdefault("maxUnavailable", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        default_pod_spec(_template_spec(obj))
        _validate_selector(res, obj)
        obj["status"] = {}
    elif res is REPLICASETS:
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        default_pod_spec(_template_spec(obj))
        _validate_selector(res, obj)
        obj["status"] = {"replicas": 0}
    elif res is STATEFULSETS:
        _default_statefulset(obj)
        _validate_selector(res, obj)
        obj["status"] = {"replicas": 0, "availableReplicas": 0}
    elif res is CRONJOBS:
        _default_cronjob(obj)
        obj["status"] = {}
    elif res is JOBS:
        _prepare_job(obj, uid)
    elif res is LEASES:
        _validate_lease(obj)
    elif res is NAMESPACES:
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    elif res in (EVENTS, EVENTS_V1):
        _default_core_event(obj)


def _default_statefulset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    default_pod_spec(_template_spec(obj))


def _default_cronjob(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = spec.setdefault("jobTemplate", {}).setdefault("spec", {})
    default_pod_spec(job_spec.setdefault("template", {}).setdefault("spec", {}), restart_policy=None)


def _prepare_job(obj: dict, uid: str) -> None:
    name = _name(obj)
    spec = obj.setdefault("spec", {})
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("completions") is None and spec.get("parallelism") == 1:
        spec["completions"] = 1
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.setdefault("template", {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {JOB_UID_LABEL: uid}}
        labels.update({JOB_UID_LABEL: uid, JOB_NAME_LABEL: name, "controller-uid": uid, "job-name": name})
    pod_spec = template.setdefault("spec", {})
    default_pod_spec(pod_spec, restart_policy=None)
    if pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
        raise invalid(JOBS, name, [("spec.template.spec.restartPolicy",
                                    "FieldValueRequired" if not pod_spec.get("restartPolicy") else
                                    "FieldValueNotSupported",
                                    'Required value: valid values: "OnFailure", "Never"')])
    obj["status"] = {}


def _validate_selector(res: Resource, obj: dict) -> None:
    """A workload's selector must select its own template."""
    from tests.kubesim.selectors import selector_from_match
    name = _name(obj)
    selector = obj["spec"].get("selector")
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        raise invalid(res, name, [("spec.selector", "FieldValueRequired", "Required value")])
    labels = ((obj["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector_from_match(selector).matches({"metadata": {"labels": labels}}):
        raise invalid(res, name, [("spec.template.metadata.labels", "FieldValueInvalid",
                                   f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`")])


def _go_map(labels: dict) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"


def _validate_lease(obj: dict) -> None:
    name = _name(obj)
    spec = obj.get("spec") or {}
    for field in ("acquireTime", "renewTime"):
        validate_microtime(LEASES, name, f"spec.{field}", spec.get(field))
    if spec.get("leaseDurationSeconds") is not None and spec["leaseDurationSeconds"] <= 0:
        raise invalid(LEASES, name, [("spec.leaseDurationSeconds", "FieldValueInvalid",
                                      f"Invalid value: {spec['leaseDurationSeconds']}: must be greater than 0")])
    if spec.get("leaseTransitions") is not None and spec["leaseTransitions"] < 0:
        raise invalid(LEASES, name, [("spec.leaseTransitions", "FieldValueInvalid",
                                      f"Invalid value: {spec['leaseTransitions']}: must be greater than or equal to 0")])


def _default_core_event(obj: dict) -> None:
    for key in ("firstTimestamp", "lastTimestamp", "eventTime"):
        obj.setdefault(key, None)
    obj.setdefault("source", {})
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")
    obj.setdefault("involvedObject", {})


def prepare_update(res: Resource, old: dict, new: dict, subresource: str | None) -> None:
    """An update: generation bumps, the status/spec split, immutable fields and finalizers. Mutates `new`; raises ApiError."""
    name = _name(old)
    meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
    for key in ("uid", "creationTimestamp", "name", "namespace", "deletionTimestamp", "deletionGracePeriodSeconds",
                "generation", "generateName"):
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    new["kind"], new["apiVersion"] = old.get("kind"), old.get("apiVersion")
    if subresource == "status":
        for key in list(new):
            if key not in ("metadata", "status", "kind", "apiVersion"):
                new.pop(key)
        for key, value in old.items():
            if key not in ("metadata", "status"):
                new[key] = copy.deepcopy(value)
        if res is DEPLOYMENTS:
            _copy_key(old_meta, meta, "labels")
        return
    if "status" in old or "status" in new:
        _copy_key(old, new, "status")
    if old_meta.get("deletionTimestamp"):
        added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
        if added:
            raise invalid(res, name, [("metadata.finalizers", "FieldValueForbidden",
                                       f"Forbidden: no new finalizers can be added if the object is being deleted, "
                                       f"found new finalizers {sorted(added)!r}")])
    if res is JOBS:
        if new.get("spec", {}).get("template") != old.get("spec", {}).get("template"):
            raise invalid(res, name, [("spec.template", "FieldValueInvalid", "Invalid value: field is immutable")])
        if new.get("spec", {}).get("selector") != old.get("spec", {}).get("selector"):
            raise invalid(res, name, [("spec.selector", "FieldValueInvalid", "Invalid value: field is immutable")])
    if res in (DEPLOYMENTS, REPLICASETS, STATEFULSETS):
        if new.get("spec", {}).get("selector") != old.get("spec", {}).get("selector"):
            raise invalid(res, name, [("spec.selector", "FieldValueInvalid", "Invalid value: field is immutable")])
        if res is STATEFULSETS:
            _default_statefulset(new)
        default_pod_spec(_template_spec(new))
        _validate_selector(res, new)
    if res is CRONJOBS:
        _default_cronjob(new)
    if res is PODS:
        default_pod_spec(new.setdefault("spec", {}))
    if res is LEASES:
        _validate_lease(new)
    if res.has_generation and _bumps_generation(res, old, new):
        meta["generation"] = old_meta.get("generation", 1) + 1


def _copy_key(src: dict, dst: dict, key: str) -> None:
    if key in src:
        dst[key] = copy.deepcopy(src[key])
    else:
        dst.pop(key, None)


def _bumps_generation(res: Resource, old: dict, new: dict) -> bool:
    if old.get("spec") != new.get("spec"):
        return True
    return res is DEPLOYMENTS and old["metadata"].get("annotations") != new["metadata"].get("annotations")


# events.k8s.io/v1 <-> core/v1 Event: one store, two views.
_V1_TO_CORE = {"regarding": "involvedObject", "note": "message", "deprecatedSource": "source",
               "deprecatedFirstTimestamp": "firstTimestamp", "deprecatedLastTimestamp": "lastTimestamp",
               "deprecatedCount": "count", "reportingController": "reportingComponent"}
_CORE_TO_V1 = {v: k for k, v in _V1_TO_CORE.items()}


def event_from_v1(obj: dict) -> dict:
    name = _name(obj)
    if obj.get("eventTime") is None:
        raise invalid(EVENTS_V1, name, [("eventTime", "FieldValueRequired", "Required value")])
    validate_microtime(EVENTS_V1, name, "eventTime", obj.get("eventTime"))
    out = {_V1_TO_CORE.get(k, k): v for k, v in obj.items()}
    out["kind"], out["apiVersion"] = "Event", "v1"
    out.setdefault("firstTimestamp", None)
    out.setdefault("lastTimestamp", None)
    out.setdefault("source", {})
    return out


def event_to_v1(obj: dict) -> dict:
    out = {_CORE_TO_V1.get(k, k): v for k, v in obj.items()}
    out["kind"], out["apiVersion"] = "Event", "events.k8s.io/v1"
    if not out.get("deprecatedSource"):
        out.pop("deprecatedSource", None)
    for key in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp"):
        if out.get(key) is None:
            out.pop(key, None)
    return out


def check_body_kind(res: Resource, obj: dict, subresource: str | None = None) -> None:
    kind = obj.get("kind")
    if not isinstance(obj, dict):
        raise bad_request("the body of the request is not a JSON object")
    expected = "Scale" if subresource == "scale" else res.kind
    if kind and kind != expected:
        raise ApiError(400, "BadRequest", f"the API version in the data ({obj.get('apiVersion')}) and kind "
                       f"({kind}) do not match the request ({res.api_version}, {expected})")
