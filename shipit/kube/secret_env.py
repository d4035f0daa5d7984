"""The values the migration container receives from Secrets, registered with the redactor.

A failing migration prints what it was given (a DATABASE_URL in an exception, a token in a debug line). Those
values come from Secrets through `env[].valueFrom.secretKeyRef` and `envFrom[].secretRef`; shipit reads them once,
before the Job starts, so its log tail never reaches the terminal, the step summary or a record unmasked.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from shipit.core.log import get_logger
from shipit.core.redact import register_secret

log = get_logger()


@dataclasses.dataclass(frozen=True)
class SecretRef:
    secret: str
    key: str | None  # None: every key (envFrom)


def secret_refs(pod_spec: Mapping[str, Any]) -> tuple[SecretRef, ...]:
    """Pure: the Secret keys any container (init, sidecar or main) of the pod reads into its environment."""
    refs: list[SecretRef] = []
    for c in list(pod_spec.get("initContainers") or []) + list(pod_spec.get("containers") or []):
        for env in c.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("name") and ref.get("key"):
                refs.append(SecretRef(ref["name"], ref["key"]))
        for source in c.get("envFrom") or []:
            ref = source.get("secretRef") or {}
            if ref.get("name"):
                refs.append(SecretRef(ref["name"], None))
    return tuple(dict.fromkeys(refs))


def secret_values(refs: Iterable[SecretRef], secrets: Mapping[str, Mapping[str, str]]) -> tuple[str, ...]:
    """Pure: the decoded values the refs point at, from Secrets' base64 `data` by Secret name (missing ones skipped)."""
    out: list[str] = []
    for ref in refs:
        data = secrets.get(ref.secret) or {}
        for key in ([ref.key] if ref.key else sorted(data)):
            raw = data.get(key)
            if raw is None:
                continue
            try:
                out.append(base64.b64decode(raw).decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                continue
    return tuple(dict.fromkeys(out))


def register_secret_env(kube: Any, pod_spec: Mapping[str, Any]) -> tuple[str, ...]:
    """Adapter: read the referenced Secrets and register their values; returns the Secrets that could not be read
    (no `get secrets` permission, or gone): their values are masked only by the patterns then."""
    from kubernetes.client.exceptions import ApiException

    from shipit.core.errors import ShipitError

    refs = secret_refs(pod_spec)
    secrets: dict[str, Mapping[str, str]] = {}
    unreadable: list[str] = []
    for name in dict.fromkeys(r.secret for r in refs):
        try:
            secrets[name] = kube.get_json(kube.core.read_namespaced_secret, name, kube.namespace).get("data") or {}
        except (ApiException, ShipitError) as e:
            unreadable.append(name)
            log.warning("cannot read a Secret the migration uses; its values are masked by pattern only", secret=name,
                        error=getattr(e, "reason", None) or type(e).__name__)
    for value in secret_values(refs, secrets):
        register_secret(value)
    return tuple(unreadable)
