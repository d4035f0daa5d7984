"""The values of the migration container's Secret-backed env vars, registered with the redactor before the Job runs.

A failing migration may print a credential with no keyword around it (`connecting with Zq8-...`); only its value
can mask it. shipit reads just the Secrets the container names (`get` by name, so a Role rule with `resourceNames`
suffices) and only the keys it uses. A Secret shipit may not read, or that is missing, does not fail the release:
its values are masked by pattern only, and the release says so once.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

from shipit.core.errors import ShipitError
from shipit.core.redact import register_secret


@dataclasses.dataclass(frozen=True)
class SecretRef:
    """A Secret a container takes env from: `keys` are the ones it uses; None means all of them (`envFrom`)."""

    name: str
    keys: frozenset[str] | None
    optional: bool = False


def secret_refs(container: dict) -> tuple[SecretRef, ...]:
    """Pure: the Secrets a container's `env[].valueFrom.secretKeyRef` and `envFrom[].secretRef` name, one per Secret,
    in first-seen order."""
    keys: dict[str, frozenset[str] | None] = {}
    optional: dict[str, bool] = {}

    def add(name: str | None, key: str | None, is_optional: bool) -> None:
        if not name:
            return
        if name not in keys:
            keys[name] = frozenset()
            optional[name] = True
        current = keys[name]
        keys[name] = None if key is None or current is None else current | {key}
        optional[name] = optional[name] and is_optional

    for item in container.get("envFrom") or []:
        ref = item.get("secretRef")
        if ref:
            add(ref.get("name"), None, bool(ref.get("optional")))
    for item in container.get("env") or []:
        ref = (item.get("valueFrom") or {}).get("secretKeyRef")
        if ref and ref.get("key"):
            add(ref.get("name"), ref["key"], bool(ref.get("optional")))
    return tuple(SecretRef(n, k, optional[n]) for n, k in keys.items())


def secret_values(secret: dict, ref: SecretRef) -> tuple[str, ...]:
    """Pure: the decoded values of the keys `ref` uses (`data` is base64, `stringData` is never returned by the API)."""
    out = []
    for key, encoded in sorted((secret.get("data") or {}).items()):
        if ref.keys is not None and key not in ref.keys:
            continue
        try:
            out.append(base64.b64decode(encoded or "", validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            continue  # binary material is not printed as text
    return tuple(out)


def unreadable_note(name: str, *, forbidden: bool) -> str:
    if not forbidden:
        return f"values of Secret {name} are masked only by pattern: it was not found when the migration Job was made"
    return (f"values of Secret {name} are masked only by pattern: shipit may not read it; grant 'get' on secrets with "
            f"resourceNames [{name}] to shipit's Role (see config/rbac.yaml)")


def _forbidden(error: BaseException) -> bool:
    """The client turns a 403 into a ShipitError naming the missing permission; its cause is the API's answer."""
    cause = error.__cause__
    return getattr(cause, "status", None) == 403


def register_container_secrets(kube: Any, container: dict) -> tuple[str, ...]:
    """Read each Secret the container names and register the values it uses; one note per Secret that could not be
    read (forbidden or missing). A missing optional Secret sets no env var: nothing to mask, nothing to say."""
    from kubernetes.client.exceptions import ApiException

    notes = []
    for ref in secret_refs(container):
        try:
            secret = kube.get_json(kube.core.read_namespaced_secret, ref.name, kube.namespace)
        except ApiException as e:
            if e.status != 404:
                raise
            if not ref.optional:
                notes.append(unreadable_note(ref.name, forbidden=False))
            continue
        except ShipitError as e:
            if not _forbidden(e):
                raise
            notes.append(unreadable_note(ref.name, forbidden=True))
            continue
        for value in secret_values(secret, ref):
            register_secret(value)
    return tuple(notes)
