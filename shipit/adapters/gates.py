"""The gates port: every configured gate kind (HTTP, metrics, error rate: `release.gate_kinds`) and the database
health gate, before the code and during the bake, against the health baseline the orchestrator passes in. Each gate's
last reading goes to the live view as it is taken and back to the orchestrator (for the record) when the gates end."""

from __future__ import annotations

import threading
from typing import Any

from shipit.core.config import Config
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.gate_kinds import configured_gates
from shipit.release.gate_result import GateReading
from shipit.release.gates import DbHealthGate, GateDecision, Mode, run_gates

HEALTH_INTERVAL = 0.25
GATE_QUIET_REPEAT = 5.0  # seconds between progress lines of a gate whose state has not changed


class HealthGates:
    def __init__(self, cfg: Config, view, database):
        self.cfg, self.view, self.database = cfg, view, database

    def before_code(self, baseline: Any, *, since: float, cancel: threading.Event) -> tuple[GateReading, ...]:
        return self._run(baseline, Mode.UNTIL, self.cfg.rollout.timeout, since, cancel, "a gate before the code failed")

    def bake(self, baseline: Any, seconds: float, *, since: float, cancel: threading.Event) -> tuple[GateReading, ...]:
        return self._run(baseline, Mode.KEEP, seconds, since, cancel, "a gate failed during the bake")

    def _health_sample(self, baseline: Any) -> tuple[bool | None, str]:
        from shipit.db.health import HealthLevel, compare, take_snapshot

        th = self.database.thresholds()
        verdict = compare(baseline, take_snapshot(self.database.health_servers(), th), th)
        reason = "; ".join(verdict.reasons) or "within thresholds"
        return {HealthLevel.OK: True, HealthLevel.HOLD: None}.get(verdict.level, False), reason

    def _run(self, baseline: Any, mode: Mode, duration: float, since: float, cancel: threading.Event,
             what: str) -> tuple[GateReading, ...]:
        gates: list = configured_gates(self.cfg.gates, release_started=since)
        gates.append(DbHealthGate(lambda: self._health_sample(baseline), interval=HEALTH_INTERVAL))
        shown: dict[str, tuple[str, float]] = {}  # gate -> (state, when) last shown

        def on_probe(reading: GateReading, decision: GateDecision) -> None:
            # a line when a gate's state changes, else one per GATE_QUIET_REPEAT: a long bake stays a few log lines
            state, at = shown.get(reading.gate, ("", 0.0))
            if decision.state.value != state or reading.at - at >= GATE_QUIET_REPEAT:
                shown[reading.gate] = (decision.state.value, reading.at)
                self.view.gate_progress(reading, decision.state.value)

        report = run_gates(gates, mode=mode, duration=duration, cancel=cancel, on_probe=on_probe)
        readings = report.readings()
        if not report.ok:
            raise PhaseFailed(Diagnosis(f"{what}: {report.failed}", report.reason, details=report.evidence()),
                              gates=readings)
        return readings
