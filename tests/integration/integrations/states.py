"""Release states as the orchestrator records them, for notifier and hook tests."""

from __future__ import annotations

import dataclasses

from shipit.core import config
from shipit.release.orchestrator import ReleaseState
from shipit.release.diagnosis import Diagnosis
from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus
from tests.unit.core.configs import MINIMAL

FROM, TO = "a" * 40, "b" * 40
T0 = 1764936000.0


TOKENS = {"SLACK_TOKEN": "xoxb-test-token", "GH_TOKEN": "ghp_testtoken", "ROLLBAR_WRITE": "rollbar-write-token",
          "ROLLBAR_READ": "rollbar-read-token", "SENTRY_TOKEN": "sntrys-test-token"}


def load(extra: str, env: dict | None = None) -> config.Config:
    return config.parse(MINIMAL + extra, env={**TOKENS, **(env or {})})


def running() -> ReleaseState:
    return ReleaseState(id="r0007", sequence=7, app="shop", status=ReleaseStatus.RUNNING, from_sha=FROM, to_sha=TO,
                        image_after=f"reg/shop:{TO}", user="alice", started=T0,
                        phases=(PhaseResult(Phase.PLAN, PhaseStatus.SUCCEEDED, T0, T0 + 1, "1 migration"),))


def phase(state: ReleaseState, p: Phase, status=PhaseStatus.SUCCEEDED, message="done") -> tuple[ReleaseState, PhaseResult]:
    result = PhaseResult(p, status, T0 + 2, T0 + 5, message)
    return state.with_phase(result), result


def reverted(state: ReleaseState) -> ReleaseState:
    d = Diagnosis("a gate failed during the bake: metric error-ratio", "error-ratio 0.31 > 0.05",
                  details=("metric error-ratio @ 12:00:01: FAIL error-ratio 0.31 > 0.05",),
                  did="reverted the Deployments to the previous templates", next="look at the errors of " + TO[:7])
    return dataclasses.replace(state, status=ReleaseStatus.REVERTED, ended=T0 + 60, exit_code=1, diagnosis=d,
                               message="reverted")


def succeeded(state: ReleaseState) -> ReleaseState:
    return dataclasses.replace(state, status=ReleaseStatus.SUCCEEDED, ended=T0 + 60, message="released")
