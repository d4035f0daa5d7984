"""The records port over the Kubernetes record store: ReleaseState <-> ReleaseRecord (one ConfigMap per release)."""

from __future__ import annotations

import time
from datetime import datetime

from shipit.release.diagnosis import Diagnosis
from shipit.release.gate_result import GateReading
from shipit.release.phases import Phase, PhaseResult, PhaseStatus
from shipit.release.state import ReleaseState


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def state_to_record(state: ReleaseState):
    """ReleaseState -> the Kubernetes layer's ReleaseRecord. Outcome details the record has no field for (exit code,
    diagnosis, notes, the gate phases' readings) travel in plan_summary["outcome"]."""
    from shipit.kube.records import PhaseRecord, ReleaseRecord

    return ReleaseRecord(
        id=state.id,
        sequence=state.sequence,
        app=state.app,
        status=state.status,
        from_sha=state.from_sha,
        to_sha=state.to_sha,
        image_before=state.image_before,
        image_after=state.image_after,
        templates_before=tuple(state.templates_before),
        serving=dict(state.serving),
        plan_summary={
            "plan": state.plan_summary,
            "code": state.code,
            "outcome": {
                "exit_code": state.exit_code,
                "diagnosis": state.diagnosis.to_json() if state.diagnosis else None,
                "notes": list(state.notes),
                "usual_load": [u.to_json() for u in state.usual_load],
                "gates": {r.phase.value: [g.to_json() for g in r.gates] for r in state.phases if r.gates},
            },
        },
        phases=tuple(
            PhaseRecord(r.phase.value, r.status.value, _iso(r.started), _iso(r.ended), r.message) for r in state.phases
        ),
        started=_iso(state.started),
        ended=_iso(state.ended),
        user=state.user,
        message=state.message,
    )


def usual_load_of(record) -> tuple:
    """The per-server load before the recorded release (an older record has none)."""
    from shipit.db.health import UsualLoad

    outcome = (record.plan_summary or {}).get("outcome") or {}
    try:
        return tuple(UsualLoad.from_json(u) for u in outcome.get("usual_load") or ())
    except (KeyError, TypeError, ValueError):
        return ()


def record_to_state(record) -> ReleaseState:
    outcome = (record.plan_summary or {}).get("outcome") or {}
    diag = outcome.get("diagnosis")
    gates = outcome.get("gates") or {}
    phases = []
    for p in record.phases:
        try:
            readings = tuple(GateReading.from_json(g) for g in gates.get(p.name) or ())
            phases.append(PhaseResult(Phase(p.name), PhaseStatus(p.status), _epoch(p.started), _epoch(p.ended), p.message,
                                      readings))
        except ValueError:
            continue  # a phase name from another shipit version: not ours to resume
    return ReleaseState(
        id=record.id,
        sequence=record.sequence,
        app=record.app,
        status=record.status,
        from_sha=record.from_sha or "",
        to_sha=record.to_sha or "",
        image_after=record.image_after or "",
        user=record.user or "",
        started=_epoch(record.started) or 0.0,
        image_before=record.image_before,
        templates_before=tuple(record.templates_before),
        serving=dict(record.serving or {}),
        plan_summary=(record.plan_summary or {}).get("plan") or {},
        code=(record.plan_summary or {}).get("code") or {},
        phases=tuple(phases),
        ended=_epoch(record.ended),
        message=record.message,
        diagnosis=Diagnosis.from_json(diag) if diag else None,
        notes=tuple(outcome.get("notes") or ()),
        usual_load=usual_load_of(record),
        exit_code=int(outcome.get("exit_code") or 0),
    )


class KubeRecords:
    """Release records as ConfigMaps in the app's namespace."""

    def __init__(self, kube, app: str, *, keep: int):
        from shipit.kube.records import RecordStore

        self.store = RecordStore(kube, app, keep=keep)

    def latest(self) -> ReleaseState | None:
        r = self.store.latest()
        return record_to_state(r) if r else None

    def last_successful(self) -> ReleaseState | None:
        r = self.store.last_successful()
        return record_to_state(r) if r else None

    def history(self, limit: int | None = None) -> list[ReleaseState]:
        return [record_to_state(r) for r in self.store.list(limit)]

    def next_sequence(self) -> int:
        return self.store.next_sequence()

    def save(self, state: ReleaseState) -> None:
        self.store.save(state_to_record(state))
