"""The phases of a release, their results, and the pure policy that turns a failure into a status and exit code.

The policy lives here, away from all I/O, because it is the promise shipit makes to the people on call: which
failures leave everything as it was (exit 1), which need a person (exit 2), and when the code is reverted.
"""

from __future__ import annotations

import dataclasses
import enum

from shipit.core.errors import ExitCode


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


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """One failure explained for the one-screen diagnosis: what, why, the evidence, what shipit did, what next."""

    what: str
    why: str
    details: tuple[str, ...] = ()  # log tail, events, SQL error, partial-state lines
    did: str = ""
    next: str = ""

    def with_action(self, did: str, next: str) -> Diagnosis:
        return dataclasses.replace(self, did=did, next=next)

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"details": list(self.details)}


@dataclasses.dataclass(frozen=True)
class PhaseResult:
    phase: Phase
    status: PhaseStatus
    started: float | None = None  # epoch seconds
    ended: float | None = None
    message: str = ""

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
        }


class PhaseFailed(Exception):
    """Raised inside the orchestrator by a phase that failed; carries the diagnosis and whether state changed."""

    def __init__(self, diagnosis: Diagnosis, *, applied: bool = False):
        super().__init__(diagnosis.what)
        self.diagnosis = diagnosis
        self.applied = applied


@dataclasses.dataclass(frozen=True)
class Verdict:
    status: ReleaseStatus
    exit_code: ExitCode
    revert: bool  # run the automatic revert of the code


def on_failure(phase: Phase, *, applied: bool, automatic_revert: bool) -> Verdict:
    """What a failure in `phase` means, before any revert ran.

    `applied`: the failing phase left part of its work in place (a migration applied some statements, a DDL is still
    running). Pre-deploy migrations that fully applied are additive by classification, so the previous code is
    compatible with them and stopping afterwards is still a safe stop.
    """
    if phase in CODE_PHASES:
        if automatic_revert:
            return Verdict(ReleaseStatus.REVERTED, ExitCode.FAILED_SAFELY, revert=True)
        return Verdict(ReleaseStatus.NEEDS_ATTENTION, ExitCode.NEEDS_PERSON, revert=False)
    if applied:
        return Verdict(ReleaseStatus.NEEDS_ATTENTION, ExitCode.NEEDS_PERSON, revert=False)
    return Verdict(ReleaseStatus.FAILED, ExitCode.FAILED_SAFELY, revert=False)


def after_revert(verdict: Verdict, *, revert_ok: bool, git_revert_ok: bool = True) -> Verdict:
    """The final verdict once the automatic revert (and the optional git revert) has run."""
    if not verdict.revert:
        return verdict
    if revert_ok and git_revert_ok:
        return Verdict(ReleaseStatus.REVERTED, ExitCode.FAILED_SAFELY, revert=True)
    return Verdict(ReleaseStatus.NEEDS_ATTENTION, ExitCode.NEEDS_PERSON, revert=True)


def on_lock_lost(*, code_started: bool, applied: bool) -> Verdict:
    """The release lease was taken over: the new holder may be changing the cluster, so this run changes nothing more
    (not even a revert). Once new code may be serving or a migration is half-applied, a person decides."""
    if code_started or applied:
        return Verdict(ReleaseStatus.NEEDS_ATTENTION, ExitCode.NEEDS_PERSON, revert=False)
    return Verdict(ReleaseStatus.FAILED, ExitCode.FAILED_SAFELY, revert=False)


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

