"""The release's vocabulary: its phases in order, the status of a phase and of a release, and what a crashed run's
record says about where to resume. One spelling per status; records written by older versions are still read."""

from __future__ import annotations

import dataclasses
import enum

from shipit.release.gate_result import GateReading


class Phase(str, enum.Enum):
    PLAN = "plan"
    LOCK = "lock"
    PREFLIGHT = "preflight"
    MIGRATE = "migrate"
    WAIT_DDL = "wait_ddl"
    GATES = "gates"
    CODE = "code"
    VERIFY = "verify"
    POST_DEPLOY = "post_deploy"
    RECORD = "record"
    REVERT = "revert"  # not part of ORDER: runs only after a failure once the code phase has started

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    Phase.PLAN: "Plan",
    Phase.LOCK: "Lock",
    Phase.PREFLIGHT: "Preflight",
    Phase.MIGRATE: "Migrate (pre-deploy)",
    Phase.WAIT_DDL: "Wait for DDL",
    Phase.GATES: "Gates before code",
    Phase.CODE: "Code rollout",
    Phase.VERIFY: "Verify (bake)",
    Phase.POST_DEPLOY: "Post-deploy migrations",
    Phase.RECORD: "Record",
    Phase.REVERT: "Automatic revert",
}

ORDER: tuple[Phase, ...] = (
    Phase.PLAN,
    Phase.LOCK,
    Phase.PREFLIGHT,
    Phase.MIGRATE,
    Phase.WAIT_DDL,
    Phase.GATES,
    Phase.CODE,
    Phase.VERIFY,
    Phase.POST_DEPLOY,
    Phase.RECORD,
)

# A failure in one of these phases means new code may be serving: the only phases that trigger the automatic revert.
CODE_PHASES = frozenset({Phase.CODE, Phase.VERIFY})


class PhaseStatus(str, enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class ReleaseStatus(str, enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # stopped with nothing changed that the previous code cannot live with
    REVERTED = "reverted"  # code rolled out, failed, and the previous templates are serving again
    ROLLED_BACK = "rolled_back"  # a later `shipit rollback` replaced this release
    NEEDS_ATTENTION = "needs_attention"

    @classmethod
    def _missing_(cls, value: object) -> ReleaseStatus | None:
        # records written before the one vocabulary spelled these with a hyphen ("rolled-back")
        if isinstance(value, str) and "-" in value:
            return cls.__members__.get(value.replace("-", "_").upper())
        return None


@dataclasses.dataclass(frozen=True)
class PhaseResult:
    phase: Phase
    status: PhaseStatus
    started: float | None = None  # epoch seconds
    ended: float | None = None
    message: str = ""
    gates: tuple[GateReading, ...] = ()  # the gate phases: each gate's last reading

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    def to_json(self) -> dict:
        return {
            "phase": self.phase.value,
            "status": self.status.value,
            "started": self.started,
            "ended": self.ended,
            "duration_s": None if self.duration is None else round(self.duration, 3),
            "message": self.message,
            "gates": [g.to_json() for g in self.gates],
        }


def interrupted_failure(results: tuple[PhaseResult, ...]) -> Phase | None:
    """The code phase whose failure a crashed run was handling (it failed, or the revert had started), else None.

    Resuming such a run must finish that failure (the revert), never run the failed code phase again.
    """
    failed = [r.phase for r in results if r.phase in CODE_PHASES and r.status is PhaseStatus.FAILED]
    if failed:
        return failed[-1]
    if any(r.phase is Phase.REVERT for r in results):
        return Phase.CODE
    return None


def resume_from(results: tuple[PhaseResult, ...]) -> Phase:
    """The first phase of ORDER that did not finish (succeeded or skipped) in a crashed run's record."""
    done = {r.phase for r in results if r.status in (PhaseStatus.SUCCEEDED, PhaseStatus.SKIPPED)}
    for phase in ORDER:
        if phase not in done and phase not in (Phase.PLAN, Phase.LOCK):
            return phase
    return Phase.RECORD
