"""config/rbac.yaml grants exactly what shipit's code calls: every API method named in shipit/ is found (by reading
the source, so a new call without a new permission fails here), mapped to (API group, resource, verb) with the same
`permission_for` that words 403 messages, and compared with the Role's rules in both directions."""

from __future__ import annotations

import ast
import collections
from pathlib import Path

import yaml
from kubernetes import client

from shipit.kube.api import permission_for

ROOT = Path(__file__).resolve().parents[3]
GROUPS = {"core": ("", client.CoreV1Api), "apps": ("apps", client.AppsV1Api), "batch": ("batch", client.BatchV1Api),
          "coordination": ("coordination.k8s.io", client.CoordinationV1Api)}


def _api_method(node: ast.AST) -> tuple[str, str] | None:
    """`<x>.core.list_namespaced_pod` -> ("core", "list_namespaced_pod")."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr in GROUPS:
        return node.value.attr, node.attr
    return None


def calls_in_source() -> set[tuple[str, str, bool]]:
    """(api, method, watched) for every Kubernetes API method shipit's code uses."""
    found: set[tuple[str, str, bool]] = set()
    for path in (ROOT / "shipit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            method = _api_method(node)
            if method:
                found.add((*method, False))
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr in ("add", "watch"):  # WatchMux.add(key, list_fn, ...) / Kube.watch(list_fn, ...)
                for arg in node.args[:2]:
                    method = _api_method(arg)
                    if method:
                        found.add((*method, True))
            if node.func.attr == "request_json":  # raw requests name their generated equivalent (Lease MicroTime)
                for kw in node.keywords:
                    if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                        api = next(a for a, (_, cls) in GROUPS.items() if hasattr(cls, kw.value.value))
                        found.add((api, kw.value.value, False))
    return found


def needed() -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for api, method, watched in calls_in_source():
        group, cls = GROUPS[api]
        assert hasattr(cls, method), f"{cls.__name__} has no method {method}"
        verb, resource = permission_for(method, watched)
        out[(group, resource)].add(verb)
        if watched:  # a watch starts with a list (and re-lists after 410)
            out[(group, resource)].add("list")
    return dict(out)


def granted() -> tuple[dict[tuple[str, str], set[str]], list[dict]]:
    docs = list(yaml.safe_load_all((ROOT / "config" / "rbac.yaml").read_text()))
    role = next(d for d in docs if d["kind"] == "Role")
    out: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out[(group, resource)].update(rule["verbs"])
    return dict(out), docs


def test_source_scan_sees_the_calls_it_must():
    calls = calls_in_source()
    assert ("batch", "create_namespaced_job", False) in calls
    assert ("core", "list_namespaced_pod", True) in calls
    assert ("coordination", "replace_namespaced_lease", False) in calls
    assert ("core", "read_namespaced_pod_log", False) in calls


# A namespaced Role cannot grant cluster-scoped reads; shipit's one such read (does the namespace exist, to tell a
# typo from "no release yet") takes a 403 as "unknown" and goes on.
CLUSTER_SCOPED_PROBES = {("", "namespaces"): {"get"}}


def test_role_grants_exactly_what_the_code_uses():
    want = {k: v - CLUSTER_SCOPED_PROBES.get(k, set()) for k, v in needed().items()}
    want = {k: v for k, v in want.items() if v}
    have, _ = granted()
    missing = {k: sorted(v - have.get(k, set())) for k, v in want.items() if v - have.get(k, set())}
    extra = {k: sorted(v - want.get(k, set())) for k, v in have.items() if v - want.get(k, set())}
    assert not missing, f"config/rbac.yaml lacks {missing}"
    assert not extra, f"config/rbac.yaml grants more than shipit uses: {extra}"


def _check_fields(value, model: type, where: str) -> None:
    """Every key is a field of the API model (by its JSON name), recursively: a typo would be silently dropped."""
    fields = {json_name: model.openapi_types[attr] for attr, json_name in model.attribute_map.items()}
    for key, sub in value.items():
        assert key in fields, f"{where}.{key} is not a field of {model.__name__}"
        kind = fields[key]
        inner = kind[len("list["):-1] if kind.startswith("list[") else kind
        cls = getattr(client, inner, None)
        if cls is not None and hasattr(cls, "attribute_map"):
            for i, item in enumerate(sub if kind.startswith("list[") else [sub]):
                _check_fields(item, cls, f"{where}.{key}[{i}]")


def test_manifests_are_valid_objects_that_fit_together(kubesim):
    _, docs = granted()
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"ServiceAccount", "Role", "RoleBinding"}
    for kind, doc in kinds.items():
        _check_fields(doc, getattr(client, f"V1{kind}"), kind)
    binding = kinds["RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": kinds["Role"]["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": kinds["ServiceAccount"]["metadata"]["name"]}]
    # kubesim serves no RBAC API, so real kubectl validates and creates the ServiceAccount only.
    result = kubesim.kubectl("apply", "-f", "-", input=yaml.safe_dump(kinds["ServiceAccount"]))
    assert "serviceaccount/shipit created" in result.stdout
