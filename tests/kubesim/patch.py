"""PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch for the built-in
fields kubectl and the Python client send, and server-side apply approximated as a strategic merge."""
from __future__ import annotations

import copy
import json
from typing import Any

from tests.kubesim.errors import ApiError, bad_request, unsupported_media_type

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
CONTENT_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC, APPLY)

# Lists merged element-wise by a key (patchStrategy "merge" + patchMergeKey in k8s.io/api). Keyed by field name:
# every field of that name in the types kubesim serves has the same strategy.
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "imagePullSecrets": "name", "resourceClaims": "name", "schedulingGates": "name",
    "volumeMounts": "mountPath", "volumeDevices": "devicePath", "ports": "containerPort",
    "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip", "podIPs": "ip", "hostIPs": "ip",
    "topologySpreadConstraints": "topologyKey",
}
PRIMITIVE_MERGE = {"finalizers"}        # primitive lists with patchStrategy "merge": union


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def apply_patch(obj: dict, body: Any, content_type: str) -> Any:
    kind = media_type(content_type)
    if kind not in CONTENT_TYPES:
        raise unsupported_media_type(kind)
    patch = _decode(body, kind)
    if kind == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        return json_patch(obj, patch)
    if not isinstance(patch, dict):
        raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    if kind == MERGE_PATCH:
        return merge_patch(obj, patch)
    return strategic_merge(obj, patch)


def _decode(body: Any, kind: str) -> Any:
    if not isinstance(body, (bytes, str)):
        return copy.deepcopy(body)
    try:
        if kind == APPLY:
            import yaml
            return yaml.safe_load(body)
        return json.loads(body)
    except Exception as e:  # json.JSONDecodeError or a yaml.YAMLError
        raise bad_request(f"error decoding patch: {e}") from None


# -- RFC 7386 ----------------------------------------------------------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- RFC 6902 ----------------------------------------------------------------------------------------------------------

def _unprocessable(msg: str) -> ApiError:
    return ApiError(422, "Invalid", msg)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _unprocessable(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list, token: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit():
        raise _unprocessable(f"invalid array index: {token}")
    i = int(token)
    if i > len(container) or (i == len(container) and not allow_end):
        raise _unprocessable(f"array index out of bounds: {i}")
    return i


def _parent(doc: Any, tokens: list[str], op: str, path: str) -> Any:
    cur = doc
    for token in tokens[:-1]:
        if isinstance(cur, dict) and token in cur:
            cur = cur[token]
        elif isinstance(cur, list):
            cur = cur[_index(cur, token, allow_end=False)]
        else:
            raise _unprocessable(f"jsonpatch {op} operation does not apply: doc is missing path: {path}")
    return cur


def _get(doc: Any, path: str, op: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, op, path)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise _unprocessable(f"jsonpatch {op} operation does not apply: doc is missing key: {path}")


def _remove(doc: Any, path: str, op: str) -> Any:
    tokens = _pointer(path)
    parent = _parent(doc, tokens, op, path)
    last = tokens[-1] if tokens else ""
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, allow_end=False))
    raise _unprocessable(f"jsonpatch {op} operation does not apply: doc is missing key: {path}")


def _add(doc: Any, path: str, value: Any, op: str, *, replace: bool = False) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, op, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise _unprocessable(f"jsonpatch replace operation does not apply: doc is missing key: {path}")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, allow_end=False)] = value
        else:
            parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise _unprocessable(f"jsonpatch {op} operation does not apply: doc is missing path: {path}")
    return doc


def json_patch(doc: Any, ops: list) -> Any:
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request("the server rejected our request due to an error in our request: "
                              "an operation needs 'op' and 'path'")
        name, path = op["op"], op["path"]
        if name in ("add", "replace", "test") and "value" not in op:
            raise bad_request(f"the server rejected our request due to an error in our request: "
                              f"{name} operation missing value")
        if name == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]), name)
        elif name == "replace":
            doc = _add(doc, path, copy.deepcopy(op["value"]), name, replace=True)
        elif name == "remove":
            _remove(doc, path, name)
        elif name == "move":
            value = _remove(doc, op["from"], name)
            doc = _add(doc, path, value, name)
        elif name == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op["from"], name)), name)
        elif name == "test":
            if _get(doc, path, name) != op["value"]:
                raise _unprocessable(f"testing value {path} failed: test failed")
        else:
            raise bad_request(f"Unexpected kind: {name}")
    return doc


# -- strategic merge patch ---------------------------------------------------------------------------------------------

def _strip(value: Any) -> Any:
    """Drop patch directives from a value that is being inserted as-is."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def strategic_merge(original: Any, patch: dict) -> Any:
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip(patch)
    if directive not in (None, "merge"):
        raise bad_request(f"Unknown patch directive: {directive}")
    result = dict(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = strategic_merge(result.get(key), value)
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            result[key] = value
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            kept = [v for v in result.get(field) or [] if v not in value]
            if kept:
                result[field] = kept
            else:
                result.pop(field, None)
    for key, order in patch.items():
        if key.startswith("$setElementOrder/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = _reorder(field, result[field], order)
    if "$retainKeys" in patch:
        retain = set(patch["$retainKeys"] or [])
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(field: str, original: Any, patch: list) -> list:
    original = original if isinstance(original, list) else []
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    if field in PRIMITIVE_MERGE:
        merged = list(original)
        merged.extend(v for v in patch if v not in merged)
        return merged
    key = MERGE_KEYS.get(field)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return _strip(patch)
    result = [copy.deepcopy(i) for i in original]
    for item in patch:
        if key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {key}")
        idx = next((n for n, cur in enumerate(result) if isinstance(cur, dict) and cur.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                result.pop(idx)
        elif idx is None:
            result.append(strategic_merge({}, item))
        else:
            result[idx] = strategic_merge(result[idx], item)
    return result


def _reorder(field: str, items: list, order: list) -> list:
    """`$setElementOrder`: listed elements take the listed order; elements only on the server keep theirs, after."""
    key = MERGE_KEYS.get(field)

    def ident(x: Any) -> Any:
        return x.get(key) if key and isinstance(x, dict) else x
    wanted = [ident(o) for o in order]
    listed = sorted((i for i in items if ident(i) in wanted), key=lambda i: wanted.index(ident(i)))
    return listed + [i for i in items if ident(i) not in wanted]
