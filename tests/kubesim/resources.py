"""The resource types kubesim serves: one table drives routing, discovery, OpenAPI and errors."""
from __future__ import annotations

from dataclasses import dataclass

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None      # set when the subresource speaks another group's kind (scale, eviction)
    version: str | None = None


_STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    has_generation: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """`deployments.apps` / `pods`: how API errors name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)

    def base_path(self, namespace: str | None) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, _STATUS_VERBS)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", _STATUS_VERBS, group="autoscaling", version="v1")


NAMESPACES = Resource("", "v1", "namespaces", "Namespace", False, "namespace", ("ns",), (), (_status("Namespace"),))
PODS = Resource("", "v1", "pods", "Pod", True, "pod", ("po",), ("all",), (
    _status("Pod"), Subresource("log", "Pod", ("get",)),
    Subresource("eviction", "Eviction", ("create",), group="policy", version="v1")))
EVENTS = Resource("", "v1", "events", "Event", True, "event", ("ev",))
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap", True, "configmap", ("cm",))
SECRETS = Resource("", "v1", "secrets", "Secret", True, "secret")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", True, "serviceaccount", ("sa",))
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", True, "deployment", ("deploy",), ("all",),
                       (_status("Deployment"), _scale()), has_generation=True)
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet", True, "replicaset", ("rs",), ("all",),
                       (_status("ReplicaSet"), _scale()), has_generation=True)
JOBS = Resource("batch", "v1", "jobs", "Job", True, "job", (), ("all",), (_status("Job"),), has_generation=True)
STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet", True, "statefulset", ("sts",), ("all",),
                        (_status("StatefulSet"), _scale()), has_generation=True)
CONTROLLERREVISIONS = Resource("apps", "v1", "controllerrevisions", "ControllerRevision", True, "controllerrevision")
CRONJOBS = Resource("batch", "v1", "cronjobs", "CronJob", True, "cronjob", ("cj",), ("all",), (_status("CronJob"),),
                    has_generation=True)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", True, "lease")
EVENTS_V1 = Resource("events.k8s.io", "v1", "events", "Event", True, "event", ("ev",))

ALL: tuple[Resource, ...] = (NAMESPACES, PODS, EVENTS, CONFIGMAPS, SECRETS, SERVICEACCOUNTS,
                             DEPLOYMENTS, REPLICASETS, STATEFULSETS, CONTROLLERREVISIONS, JOBS, CRONJOBS, LEASES,
                             EVENTS_V1)

_BY_PATH = {(r.group, r.version, r.plural): r for r in ALL}


def by_path(group: str, version: str, plural: str) -> Resource | None:
    return _BY_PATH.get((group, version, plural))


def group_versions() -> list[tuple[str, str]]:
    """(group, version) pairs in table order, core first."""
    seen: list[tuple[str, str]] = []
    for r in ALL:
        if (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


def storage_key(res: Resource) -> str:
    """Both Event APIs share one store: the key they are stored under."""
    return "events" if res.plural == "events" else f"{res.group}/{res.plural}"
