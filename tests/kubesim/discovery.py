"""/version and API discovery: plain documents always, aggregated v2 only when the client asks."""
from __future__ import annotations

from tests.kubesim.resources import ALL, Resource, group_versions

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
_PATCH = {"29": "14", "30": "12", "31": "8", "32": "4", "33": "1"}


def version(k8s_version: str) -> dict:
    """The minor picks which kubectl the dispatcher runs."""
    major, minor = k8s_version.split(".")[:2]
    git = f"v{major}.{minor}.{_PATCH.get(minor, '0')}"
    doc = {"major": major, "minor": minor, "gitVersion": git, "gitCommit": "0" * 40, "gitTreeState": "clean",
           "buildDate": "2025-04-22T16:00:00Z", "goVersion": "go1.23.8", "compiler": "gc",
           "platform": "linux/amd64"}
    if int(minor) >= 33:
        doc.update(emulationMajor=major, emulationMinor=minor, minCompatibilityMajor=major,
                   minCompatibilityMinor=str(int(minor) - 1))
    return doc


def wants_aggregated(accept: str | None) -> bool:
    """Only a client that lists the v2 APIGroupDiscoveryList form gets it (kubectl 1.29 offers v2beta1)."""
    for part in (accept or "").split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip() for p in part.split(";")[1:] if "=" in p}
        if params.get("g") == "apidiscovery.k8s.io" and params.get("v") == "v2" and \
                params.get("as") == "APIGroupDiscoveryList":
            return True
    return False


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _gv(group: str, version: str) -> dict:
    return {"groupVersion": f"{group}/{version}", "version": version}


def api_group(group: str) -> dict | None:
    versions = [v for g, v in group_versions() if g == group and g]
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [_gv(group, v) for v in versions],
            "preferredVersion": _gv(group, versions[0])}


def api_group_list() -> dict:
    groups = []
    for group, _version in group_versions():
        if group and all(g["name"] != group for g in groups):
            doc = api_group(group)
            groups.append({k: v for k, v in doc.items() if k not in ("kind", "apiVersion")})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _resources(group: str, version: str) -> list[Resource]:
    return [r for r in ALL if r.group == group and r.version == version]


def resource_list(group: str, version: str) -> dict | None:
    """APIResourceList with subresources as `plural/sub` entries."""
    resources = _resources(group, version)
    if not resources:
        return None
    entries = []
    for r in resources:
        entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": list(_verbs(r))}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entries.append(entry)
        for sub in r.subresources:
            item = {"name": f"{r.plural}/{sub.name}", "singularName": "", "namespaced": r.namespaced,
                    "kind": sub.kind, "verbs": list(sub.verbs)}
            if sub.group is not None:
                item.update(group=sub.group, version=sub.version)
            entries.append(item)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


def _verbs(r: Resource) -> tuple[str, ...]:
    if r.plural == "namespaces":
        return ("create", "delete", "get", "list", "patch", "update", "watch")
    return ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def aggregated(core: bool) -> dict:
    """APIGroupDiscoveryList for /api (core=True) or /apis."""
    items = []
    for group, version in group_versions():
        if bool(group) == core:
            continue
        resources = []
        for r in _resources(group, version):
            entry = {"resource": r.plural, "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                     "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
                     "verbs": list(_verbs(r))}
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            if r.categories:
                entry["categories"] = list(r.categories)
            if r.subresources:
                entry["subresources"] = [
                    {"subresource": s.name,
                     "responseKind": {"group": s.group if s.group is not None else r.group,
                                      "version": s.version or r.version, "kind": s.kind},
                     "verbs": list(s.verbs)} for s in r.subresources]
            resources.append(entry)
        version_doc = {"version": version, "freshness": "Current", "resources": resources}
        existing = next((i for i in items if i["metadata"]["name"] == group), None)
        if existing:
            existing["versions"].append(version_doc)
        else:
            items.append({"metadata": {"name": group}, "versions": [version_doc]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
