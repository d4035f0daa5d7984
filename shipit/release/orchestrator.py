"""The release orchestrator: runs the steps in order, records each transition, and applies the failure policy.

`Release` owns sequencing only. What each phase does is in `steps.STEPS`, what a failure means in `policy` (and
`failure` carries it out), the record and the lease in `Recorder`, and every effect on the world goes through
`ports.Ports`, so the state machine runs over in-memory fakes in unit tests and over `shipit.adapters` in production
and end-to-end tests.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable

from shipit.core import unexpected
from shipit.core.config import Config
from shipit.core.errors import BadInput, ExitCode, ShipitError
from shipit.release import policy
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.phases import ORDER, Phase, PhaseResult, PhaseStatus, ReleaseStatus, interrupted_failure, resume_from
from shipit.release.ports import Observer, Ports, Silent
from shipit.release.recorder import LeaseLost, Recorder
from shipit.release.state import PlanFacts, ReleaseState, release_id
from shipit.release.failure import fail
from shipit.release.steps import STEPS, Done, Step, plan_message


class Release:
    def __init__(self, cfg: Config, ports: Ports, *, user: str, cancel: threading.Event | None = None,
                 observer: Observer | None = None, now: Callable[[], float] = time.time):
        self.cfg, self.ports, self.user, self.now = cfg, ports, user, now
        self.cancel = cancel or threading.Event()
        self.observer = observer or Silent()
        self.recorder = Recorder(ports.records, ports.lease, self.observer, now, ports.notify)
        self.facts: PlanFacts | None = None
        self.baseline: Any = None  # the database health before the release, taken in preflight (or on resume)

    @property
    def state(self) -> ReleaseState | None:
        return self.recorder.state

    def run(self, *, from_ref: str | None = None, to_ref: str = "HEAD", yes: bool = False) -> ReleaseState:
        started = self.now()
        self.observer.phase_started(Phase.PLAN)
        if from_ref is None:
            last = self.ports.records.last_successful()
            if last is None:
                raise BadInput("no successful release is recorded yet: pass --from REF for the first release")
            from_ref = last.to_sha
        facts = self.ports.planner.plan(from_ref, to_ref, accept_manual=yes)
        self.ports.cluster.check_code(facts.to_sha, self.cfg.image.for_commit(facts.to_sha))
        if facts.boot_stop:
            raise ShipitError(f"release stopped before anything changed: {facts.boot_stop}")
        if facts.manual and not yes:
            raise ShipitError(
                "release stopped before anything changed: these migrations need a person "
                f"({'; '.join(facts.manual)}). Review them, then rerun with --yes."
            )
        plan_result = PhaseResult(Phase.PLAN, PhaseStatus.SUCCEEDED, started, self.now(), plan_message(facts))
        self.observer.phase_ended(plan_result)
        lock_started = self.now()
        with self.recorder.leased(self.cancel):
            sequence = self.recorder.sequence()
            self.facts = facts
            self.recorder.start(ReleaseState(
                id=release_id(sequence), sequence=sequence, app=self.cfg.app, status=ReleaseStatus.RUNNING,
                from_sha=facts.from_sha, to_sha=facts.to_sha, image_after=self.cfg.image.for_commit(facts.to_sha),
                user=self.user, started=started, plan_summary=facts.summary, phases=(plan_result,), notes=facts.notes,
            ), lock_started, "lease taken")
            return self._continue(Phase.PREFLIGHT)

    def resume(self) -> ReleaseState:
        """Continue the latest RUNNING release (left by a crash) from its first unfinished phase; when the crashed run
        was handling a code-phase failure, finish that failure (revert included) instead of rolling it out again."""
        latest = self.ports.records.latest()
        if latest is None or latest.status is not ReleaseStatus.RUNNING:
            what = "no release is recorded" if latest is None else f"the latest release {latest.id} is {latest.status.value}"
            raise BadInput(f"nothing to resume: {what}")
        started = self.now()
        with self.recorder.leased(self.cancel, latest.id):
            # a recorded release got past the plan, so its manual migrations were accepted with --yes
            self.facts = self.ports.planner.plan(latest.from_sha, latest.to_sha, accept_manual=True)
            failed = interrupted_failure(latest.phases)
            if failed is not None:
                note = f"resumed by {self.user}: finishing the failure of {failed.title.lower()}"
                self.recorder.start(dataclasses.replace(latest, notes=latest.notes + (note,)), started,
                                    "lease taken to resume")
                recorded = latest.phase(failed)
                what = recorded.message if recorded is not None and recorded.message else f"{failed.title} failed"
                why = "recorded by the run that was stopped (killed) while handling this failure; --resume finished it"
                return fail(self, failed, PhaseFailed(Diagnosis(what, why)))
            start = resume_from(latest.phases)
            kept = tuple(r for r in latest.phases if r.phase in ORDER and ORDER.index(r.phase) < ORDER.index(start))
            note = f"resumed by {self.user} at phase {start.value}"
            self.recorder.start(dataclasses.replace(latest, phases=kept, notes=latest.notes + (note,)), started,
                                "lease taken to resume")
            return self._continue(start)

    def _continue(self, start: Phase) -> ReleaseState:
        for step in STEPS:
            if ORDER.index(step.phase) < ORDER.index(start):
                continue
            try:
                self._step(step)
            except PhaseFailed as failure:
                return fail(self, step.phase, failure)
        self.recorder.begin(Phase.RECORD)
        self.recorder.end(PhaseResult(Phase.RECORD, PhaseStatus.SUCCEEDED, self.now(), self.now(), "release recorded"))
        return self.recorder.finish(ReleaseStatus.SUCCEEDED, ExitCode.OK, "released")

    def _step(self, step: Step) -> None:
        phase = step.phase
        loss = self.recorder.lost()
        if loss is not None:  # nothing of this phase ran, so nothing of it is recorded
            raise LeaseLost(Diagnosis(policy.lock_lost_what(loss.holder, phase, during=False), policy.LOCK_LOST_WHY))
        if self.cancel.is_set():
            self.recorder.begin(phase)
            self.recorder.end(PhaseResult(phase, PhaseStatus.FAILED, self.now(), self.now(), "interrupted"))
            raise PhaseFailed(Diagnosis(f"interrupted before {phase.title.lower()}", "SIGINT or SIGTERM received"))
        started = self.recorder.begin(phase)
        try:
            outcome = step.run(self)
        except PhaseFailed as failure:
            self.recorder.end(PhaseResult(phase, PhaseStatus.FAILED, started, self.now(), failure.diagnosis.what,
                                          failure.gates))
            raise
        except Exception as e:  # an adapter gave up (API budget, database unreachable): a failure of this phase,
            # so a code phase still gets its revert and the record its outcome
            why = str(e) if isinstance(e, ShipitError) else unexpected.describe(e, command=None).message
            self.recorder.end(PhaseResult(phase, PhaseStatus.FAILED, started, self.now(), why))
            raise PhaseFailed(Diagnosis(f"{phase.title} failed", why), applied=phase is Phase.WAIT_DDL) from e
        done = outcome if isinstance(outcome, Done) else Done(outcome) if isinstance(outcome, str) else None
        if done is None:
            self.recorder.end(PhaseResult(phase, PhaseStatus.SKIPPED, started, self.now(), outcome.message))
        else:
            self.recorder.end(PhaseResult(phase, PhaseStatus.SUCCEEDED, started, self.now(), done.message, done.gates))
