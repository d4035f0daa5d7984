"""A minimal OpenAPI v3: enough for `kubectl apply`/`create -f` with default validation to see that the
server validates fields itself (`fieldValidation`), so kubectl skips client-side schema checks. No schemas: `kubectl
explain` is out of scope. OpenAPI v2 is not served (404), which kubectl tolerates once v3 works."""
from __future__ import annotations

import hashlib
import json

from tests.kubesim.resources import ALL, Resource, group_versions


def _key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _operation(r: Resource, verb: str, kind: str | None = None, group: str | None = None,
               version: str | None = None) -> dict:
    return {"operationId": f"{verb}{r.kind}", "x-kubernetes-action": verb,
            "x-kubernetes-group-version-kind": {"group": r.group if group is None else group,
                                                "version": version or r.version, "kind": kind or r.kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                           {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                           {"name": "dryRun", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}}}


def group_version_doc(group: str, version: str, k8s_version: str) -> dict | None:
    resources = [r for r in ALL if r.group == group and r.version == version]
    if not resources:
        return None
    paths: dict[str, dict] = {}
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for r in resources:
        coll = f"{prefix}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{prefix}/{r.plural}"
        item = f"{coll}/{{name}}"
        paths[coll] = {"get": _operation(r, "list"), "post": _operation(r, "post"),
                       "delete": _operation(r, "deletecollection")}
        paths[item] = {"get": _operation(r, "get"), "put": _operation(r, "put"), "patch": _operation(r, "patch"),
                       "delete": _operation(r, "delete")}
        for sub in r.subresources:
            if "patch" in sub.verbs:
                paths[f"{item}/{sub.name}"] = {
                    verb: _operation(r, verb, sub.kind, sub.group, sub.version) for verb in ("get", "put", "patch")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": f"v{k8s_version}"}, "paths": paths,
            "components": {"schemas": {}}}


def index(k8s_version: str) -> dict:
    paths = {}
    for group, version in group_versions():
        doc = json.dumps(group_version_doc(group, version, k8s_version), sort_keys=True).encode()
        digest = hashlib.sha512(doc).hexdigest()[:128].upper()
        paths[_key(group, version)] = {"serverRelativeURL": f"/openapi/v3/{_key(group, version)}?hash={digest}"}
    return {"paths": paths}
