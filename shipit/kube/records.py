"""Release records: one readable ConfigMap per release, in the app's namespace.

Written after every phase transition so a crashed run can be resumed and `shipit status` can say what happened
without a database of its own. Helm keeps release state in opaque Secrets; these are JSON a person can read with
`kubectl get cm -l shipit.dev/app=shop -o yaml`. Labels carry app, status and sequence so listing needs no parsing;
the newest `records.keep` are kept, and never the two latest successful ones (the default `--from` and what
`shipit rollback` goes back to) nor a running one. The last successful release is the default `--from` of the next one.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from shipit.kube.client import Kube
from shipit.kube.pods import utcnow
from shipit.kube.rollout import DeploymentTemplate
from shipit.core.errors import BadInput, ShipitError
from shipit.core.log import get_logger
from shipit.core.redact import redact_value
from shipit.release.phases import ReleaseStatus  # the one status vocabulary; reads the old hyphenated spellings
from shipit.release.state import release_id

log = get_logger()

LABEL_APP = "shipit.dev/app"
LABEL_STATUS = "shipit.dev/status"
LABEL_SEQUENCE = "shipit.dev/sequence"
LABEL_KIND = "shipit.dev/record"
DATA_KEY = "release.json"


def now_iso() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class PhaseRecord:
    name: str
    status: str
    started: str | None = None
    ended: str | None = None
    message: str = ""


@dataclasses.dataclass(frozen=True)
class ReleaseRecord:
    id: str
    sequence: int
    app: str
    status: ReleaseStatus = ReleaseStatus.RUNNING
    from_sha: str | None = None
    to_sha: str | None = None
    image_before: str | None = None
    image_after: str | None = None
    templates_before: tuple[DeploymentTemplate, ...] = ()
    plan_summary: dict = dataclasses.field(default_factory=dict)
    serving: dict = dataclasses.field(default_factory=dict)  # Deployment -> container -> image, read after the code phase
    phases: tuple[PhaseRecord, ...] = ()
    started: str | None = None
    ended: str | None = None
    user: str | None = None
    message: str = ""

    def with_phase(self, name: str, status: str, *, started: str | None = None, ended: str | None = None, message: str = "") -> "ReleaseRecord":
        """This record with phase `name` added or updated (its start time kept once set)."""
        phases = list(self.phases)
        for i, p in enumerate(phases):
            if p.name == name:
                phases[i] = PhaseRecord(name, status, p.started or started, ended or p.ended, message or p.message)
                return dataclasses.replace(self, phases=tuple(phases))
        phases.append(PhaseRecord(name, status, started or now_iso(), ended, message))
        return dataclasses.replace(self, phases=tuple(phases))

    def with_status(self, status: ReleaseStatus, message: str = "", *, ended: str | None = None) -> "ReleaseRecord":
        finished = status is not ReleaseStatus.RUNNING
        return dataclasses.replace(
            self, status=status, message=message or self.message, ended=ended or (now_iso() if finished else self.ended)
        )

    def phase(self, name: str) -> PhaseRecord | None:
        return next((p for p in self.phases if p.name == name), None)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["templates_before"] = [t.to_json() for t in self.templates_before]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "ReleaseRecord":
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["status"] = ReleaseStatus(values.get("status", ReleaseStatus.RUNNING.value))
        values["templates_before"] = tuple(DeploymentTemplate.from_json(t) for t in values.get("templates_before") or ())
        values["phases"] = tuple(PhaseRecord(**p) for p in values.get("phases") or ())
        values["plan_summary"] = dict(values.get("plan_summary") or {})
        values["serving"] = dict(values.get("serving") or {})
        return cls(**values)


def sequence_of(cm: dict) -> int | None:
    """The record's sequence from its label, else from its JSON; None when neither is a number (edited by hand)."""
    label = ((cm.get("metadata") or {}).get("labels") or {}).get(LABEL_SEQUENCE)
    if isinstance(label, str) and label.isdigit():
        return int(label)
    try:
        seq = json.loads((cm.get("data") or {}).get(DATA_KEY) or "{}").get("sequence")
    except (ValueError, AttributeError):
        return None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None


@dataclasses.dataclass(frozen=True)
class StoredRecord:
    """What pruning needs to know about one record ConfigMap."""

    name: str
    sequence: int | None
    status: str


def stored_record(cm: dict) -> StoredRecord:
    meta = cm.get("metadata") or {}
    status = (meta.get("labels") or {}).get(LABEL_STATUS, "")
    return StoredRecord(meta.get("name", ""), sequence_of(cm), status)


def records_to_prune(stored: list[StoredRecord], keep: int, *, keep_name: str | None = None) -> tuple[str, ...]:
    """Pure: the ConfigMaps to delete so that about `keep` remain, newest first by sequence. Never the two newest
    succeeded releases (the next release's `--from` and the one `shipit rollback` returns to), never a running one,
    never `keep_name`, never one whose sequence cannot be read (its age is unknown)."""
    known = sorted((r for r in stored if r.sequence is not None), key=lambda r: r.sequence or 0, reverse=True)
    succeeded = [r.name for r in known if r.status == ReleaseStatus.SUCCEEDED.value][:2]
    running = {r.name for r in known if r.status == ReleaseStatus.RUNNING.value}
    spared = set(succeeded) | running | ({keep_name} if keep_name else set())
    return tuple(r.name for r in known[max(1, keep):] if r.name not in spared)


def configmap_name(app: str, rid: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", f"shipit-{app}-{rid}".lower()).strip("-")[:253]


def record_to_configmap(record: ReleaseRecord, namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(record.app, record.id),
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "shipit",
                LABEL_KIND: "release",
                LABEL_APP: record.app,
                LABEL_STATUS: record.status.value,
                LABEL_SEQUENCE: str(record.sequence),
            },
        },
        # records are ConfigMaps, readable by more people than Secrets: nothing secret goes in
        "data": {DATA_KEY: json.dumps(redact_value(record.to_json()), indent=2, sort_keys=True)},
    }


def record_from_configmap(cm: dict) -> ReleaseRecord | None:
    raw = (cm.get("data") or {}).get(DATA_KEY)
    if not raw:
        return None
    try:
        return ReleaseRecord.from_json(json.loads(raw))
    except (ValueError, TypeError, KeyError) as e:
        log.warning("unreadable release record ignored", configmap=cm.get("metadata", {}).get("name"), error=str(e))
        return None


class RecordStore:
    def __init__(self, kube: Kube, app: str, *, keep: int = 20):
        self.kube = kube
        self.app = app
        self.keep = max(1, keep)
        self._written: set[str] = set()  # ConfigMaps this store created or replaced: the next write replaces

    def _list_raw(self, extra_selector: str = "") -> list[dict]:
        selector = f"{LABEL_KIND}=release,{LABEL_APP}={self.app}" + (f",{extra_selector}" if extra_selector else "")
        items, _ = self.kube.list_json(self.kube.core.list_namespaced_config_map, self.kube.namespace, label_selector=selector)
        for cm in items:
            label = ((cm.get("metadata") or {}).get("labels") or {}).get(LABEL_SEQUENCE)
            if not (isinstance(label, str) and label.isdigit()):
                log.warning("release record with a sequence label that is not a number", configmap=cm["metadata"].get("name"),
                            label=label, fix=f"set label {LABEL_SEQUENCE} to the record's sequence number")
        return sorted(items, key=lambda cm: sequence_of(cm) or -1, reverse=True)

    def next_sequence(self) -> int:
        return max((sequence_of(cm) or 0 for cm in self._list_raw()), default=0) + 1

    def save(self, record: ReleaseRecord) -> None:
        """Create or replace the record's ConfigMap; a new record prunes the oldest beyond `keep`."""
        from kubernetes.client.exceptions import ApiException

        body = record_to_configmap(record, self.kube.namespace)
        name = body["metadata"]["name"]
        if name in self._written:  # one call per write of a running release, not a create refused then a replace
            try:
                self.kube.send(self.kube.core.replace_namespaced_config_map, name, self.kube.namespace, body)
                return
            except ApiException as e:
                if e.status != 404:  # deleted meanwhile (by hand): created again below
                    raise
        try:
            self.kube.send(self.kube.core.create_namespaced_config_map, self.kube.namespace, body)
        except ApiException as e:
            if e.status != 409:
                raise
            self.kube.send(self.kube.core.replace_namespaced_config_map, name, self.kube.namespace, body)
            self._written.add(name)
            return
        self._written.add(name)
        self.prune(keep_name=name)

    def prune(self, *, keep_name: str | None = None) -> list[str]:
        """Delete what `records_to_prune` picks; returns the deleted ConfigMap names."""
        from kubernetes.client.exceptions import ApiException

        deleted = []
        stored = [stored_record(cm) for cm in self._list_raw()]
        for name in records_to_prune(stored, self.keep, keep_name=keep_name):
            try:
                self.kube.send(self.kube.core.delete_namespaced_config_map, name, self.kube.namespace)
                deleted.append(name)
            except ApiException as e:
                if e.status != 404:
                    raise
        return deleted

    def get(self, id: str) -> ReleaseRecord | None:
        from kubernetes.client.exceptions import ApiException

        try:
            cm = self.kube.get_json(self.kube.core.read_namespaced_config_map, configmap_name(self.app, id), self.kube.namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return record_from_configmap(cm)

    def list(self, limit: int | None = None) -> list[ReleaseRecord]:
        """Newest first."""
        records = [r for r in (record_from_configmap(cm) for cm in self._list_raw()) if r is not None]
        return records[:limit] if limit is not None else records

    def last_successful(self) -> ReleaseRecord | None:
        """None when no release succeeded yet; a namespace that does not exist is bad input, not "no release"."""
        items = self._list_raw(f"{LABEL_STATUS}={ReleaseStatus.SUCCEEDED.value}")
        found = next((r for r in (record_from_configmap(cm) for cm in items) if r is not None), None)
        if found is None and self._namespace_missing():
            raise BadInput(f"namespace {self.kube.namespace!r} does not exist in this cluster: check "
                           f"kubernetes.namespace and kubernetes.context in the configuration (kubectl get namespaces)")
        return found

    def _namespace_missing(self) -> bool:
        """True only on a definite 404; shipit may not be allowed to read namespaces, which proves nothing."""
        from kubernetes.client.exceptions import ApiException

        try:
            self.kube.get_json(self.kube.core.read_namespace, self.kube.namespace)
        except ApiException as e:
            return e.status == 404
        except ShipitError:
            return False
        return False

    def latest(self) -> ReleaseRecord | None:
        items = self._list_raw()
        return next((r for r in (record_from_configmap(cm) for cm in items) if r is not None), None)

    def new(self, **fields: Any) -> ReleaseRecord:
        """A RUNNING record with the next sequence number (not saved yet)."""
        seq = self.next_sequence()
        return ReleaseRecord(id=release_id(seq), sequence=seq, app=self.app, started=now_iso(), **fields)
