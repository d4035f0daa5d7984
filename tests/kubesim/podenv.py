"""A container's environment as the kubelet builds it (makeEnvironmentVariables): `envFrom` then `env`, values from
Secrets and ConfigMaps, `$(VAR)` expansion. A missing object or key is the CreateContainerConfigError message.
Pure: objects are looked up through a function."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

Lookup = Callable[[str, str], dict | None]   # (kind "Secret"|"ConfigMap", name) -> object or None

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ContainerConfigError(Exception):
    """The container cannot be created; the message is what the kubelet puts in state.waiting.message."""


def _data(kind: str, obj: dict) -> dict[str, str]:
    if kind == "Secret":
        out = {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (obj.get("data") or {}).items()}
        out.update(obj.get("stringData") or {})
        return out
    return {**(obj.get("binaryData") or {}), **(obj.get("data") or {})}


def _get(kind: str, name: str, namespace: str, lookup: Lookup, optional: bool) -> dict[str, str] | None:
    obj = lookup(kind, name)
    if obj is None:
        if optional:
            return None
        raise ContainerConfigError(f'{kind.lower()} "{name}" not found')
    return _data(kind, obj)


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` references: defined names are replaced, `$$` escapes, unknown ones stay as written."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _REF.sub(sub, text)


def container_env(pod: dict, container: dict, lookup: Lookup) -> dict[str, str]:
    namespace = pod["metadata"].get("namespace", "default")
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            ref = source.get(key)
            if ref:
                data = _get(kind, ref["name"], namespace, lookup, bool(ref.get("optional")))
                env.update({prefix + k: v for k, v in (data or {}).items()})
    for var in container.get("env") or []:
        name = var["name"]
        if "valueFrom" not in var:
            env[name] = expand(var.get("value", ""), env)
            continue
        source = var["valueFrom"]
        for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
            ref = source.get(key)
            if ref:
                optional = bool(ref.get("optional"))
                data = _get(kind, ref["name"], namespace, lookup, optional)
                if data is None:
                    break
                if ref["key"] not in data:
                    if optional:
                        break
                    raise ContainerConfigError(f"couldn't find key {ref['key']} in {kind} {namespace}/{ref['name']}")
                env[name] = data[ref["key"]]
        if "fieldRef" in source:
            env[name] = _field(pod, source["fieldRef"]["fieldPath"])
    return env


def _field(pod: dict, path: str) -> str:
    meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    simple = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
              "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
              "spec.serviceAccountName": spec.get("serviceAccountName"), "status.podIP": status.get("podIP"),
              "status.hostIP": status.get("hostIP")}
    if path in simple:
        return simple[path] or ""
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return (meta.get(m.group(1)) or {}).get(m.group(2), "")
    return ""


def command_line(container: dict, env: dict[str, str]) -> list[str]:
    return [expand(part, env) for part in (container.get("command") or []) + (container.get("args") or [])]
