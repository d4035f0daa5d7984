"""Label and field selectors: parsed once into frozen matchers, then applied to each object."""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tests.kubesim.errors import ApiError, bad_request
from tests.kubesim.resources import EVENTS, EVENTS_V1, JOBS, PODS, REPLICASETS, Resource


class Op(Enum):
    EQ = "="
    NE = "!="
    IN = "in"
    NOTIN = "notin"
    EXISTS = "exists"
    NOT_EXISTS = "!"


@dataclass(frozen=True)
class Requirement:
    key: str
    op: Op
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op is Op.EQ:
            return present and value == self.values[0]
        if self.op is Op.NE:
            return not present or value != self.values[0]
        if self.op is Op.IN:
            return present and value in self.values
        if self.op is Op.NOTIN:
            return not present or value not in self.values
        if self.op is Op.EXISTS:
            return present
        return not present


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, obj: dict) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in self.requirements)


_KEY = r"[A-Za-z0-9_./-]+"
_SET_RE = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(rf"^\s*({_KEY})\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


def _split_terms(text: str) -> list[str]:
    terms, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    terms.append("".join(cur))
    return [t for t in terms if t.strip()]


def parse_label_selector(text: str) -> LabelSelector:
    reqs: list[Requirement] = []
    for term in _split_terms(text or ""):
        if m := _SET_RE.match(term):
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(Requirement(m.group(1), Op.IN if m.group(2) == "in" else Op.NOTIN, values))
        elif m := _EQ_RE.match(term):
            reqs.append(Requirement(m.group(1), Op.NE if m.group(2) == "!=" else Op.EQ, (m.group(3),)))
        elif m := _EXISTS_RE.match(term):
            reqs.append(Requirement(m.group(2), Op.NOT_EXISTS if m.group(1) else Op.EXISTS))
        else:
            raise bad_request(f"unable to parse requirement: found '{term.strip()}', expected: in, notin, =, ==, !=, "
                              f"gt, lt")
    return LabelSelector(tuple(reqs))


def selector_from_match(selector: dict | None) -> LabelSelector:
    """A metav1.LabelSelector (matchLabels/matchExpressions) as a matcher; controllers and kubectl use it."""
    selector = selector or {}
    reqs = [Requirement(k, Op.EQ, (v,)) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    ops = {"In": Op.IN, "NotIn": Op.NOTIN, "Exists": Op.EXISTS, "DoesNotExist": Op.NOT_EXISTS}
    for expr in selector.get("matchExpressions") or []:
        reqs.append(Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ())))
    return LabelSelector(tuple(reqs))


# Field paths each type may select on; the value is how to read it from the object.
_COMMON = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}
_POD_FIELDS = {**_COMMON, "spec.nodeName": ("spec", "nodeName"), "spec.restartPolicy": ("spec", "restartPolicy"),
               "spec.schedulerName": ("spec", "schedulerName"),
               "spec.serviceAccountName": ("spec", "serviceAccountName"), "spec.hostNetwork": ("spec", "hostNetwork"),
               "status.phase": ("status", "phase"), "status.podIP": ("status", "podIP"),
               "status.podIPs": ("status", "podIP"), "status.nominatedNodeName": ("status", "nominatedNodeName")}
_EVENT_FIELDS = {**_COMMON, **{f"involvedObject.{f}": ("involvedObject", f) for f in
                               ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
                 "reason": ("reason",), "reportingComponent": ("reportingComponent",),
                 "source": ("source", "component"), "type": ("type",)}
_EXTRA = {PODS: _POD_FIELDS, EVENTS: _EVENT_FIELDS, EVENTS_V1: _EVENT_FIELDS,
          JOBS: {**_COMMON, "status.successful": ("status", "succeeded")},
          REPLICASETS: {**_COMMON, "status.replicas": ("status", "replicas")}}


def _field_value(obj: dict, path: tuple[str, ...]) -> str:
    cur: Any = obj
    for part in path:
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is None:
        return "0" if path in (("status", "succeeded"), ("status", "replicas")) else ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


@dataclass(frozen=True)
class FieldTerm:
    path: tuple[str, ...]
    negate: bool
    value: str


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[FieldTerm, ...] = ()

    def matches(self, obj: dict) -> bool:
        return all((_field_value(obj, t.path) == t.value) != t.negate for t in self.terms)


def parse_field_selector(res: Resource, text: str) -> FieldSelector:
    fields = _EXTRA.get(res, _COMMON)
    terms: list[FieldTerm] = []
    for term in (text or "").split(","):
        if not term.strip():
            continue
        m = re.match(r"^\s*([^=!]+?)\s*(==|!=|=)\s*(.*?)\s*$", term)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        name, op, value = m.groups()
        if name not in fields:
            raise _unsupported_field(res, name)
        terms.append(FieldTerm(fields[name], op == "!=", value))
    return FieldSelector(tuple(terms))


def _unsupported_field(res: Resource, name: str) -> ApiError:
    if res in (PODS, EVENTS, EVENTS_V1):
        return bad_request(f'Unable to find "{res.api_version}, Resource={res.plural}" that match label selector "", '
                           f'field selector "{name}": field label not supported: {name}')
    return bad_request(f'"{name}" is not a known field selector: only "metadata.name", "metadata.namespace"')
