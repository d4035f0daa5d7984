"""`shipit rollback`: restore a previous release's templates, watched, recorded as a release of its own.

It shares the Recorder with `Release`: the same lease, sequence and record guard, so a rollback whose lease is taken
over stops at once and leaves the new holder's records alone.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Callable

from shipit.core.config import Config
from shipit.core.errors import BadInput, ExitCode
from shipit.release import policy
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus
from shipit.release.ports import LockLoss, Observer, Ports, Silent
from shipit.release.recorder import Recorder
from shipit.release.state import ReleaseState, release_id


@dataclasses.dataclass(frozen=True)
class RollbackTarget:
    target: ReleaseState  # the release whose code comes back
    templates: tuple  # the workloads' templates as that release left them
    replaced: tuple[ReleaseState, ...]  # successful releases after it, marked rolled back afterwards
    source: str = ""  # the release whose record holds those templates


def rollback_target(history: list[ReleaseState], to: str | None) -> RollbackTarget:
    """Pure: which release `shipit rollback [--to ID]` restores, and from which record its templates come.

    A record's `templates_before` are the templates just before that release changed anything, i.e. what the
    release before it left serving. So the target's templates are the `templates_before` of the first later
    release that recorded them.
    """
    oldest_first = sorted(history, key=lambda r: r.sequence)
    good = [r for r in oldest_first if r.status in (ReleaseStatus.SUCCEEDED, ReleaseStatus.ROLLED_BACK)]
    if to is None:
        succeeded = [r for r in oldest_first if r.status is ReleaseStatus.SUCCEEDED]
        if len(succeeded) < 2:
            raise BadInput("no previous successful release to roll back to (shipit history lists the releases)")
        target = succeeded[-2]
    else:
        target = next((r for r in good if r.id == to), None)
        if target is None:
            known = ", ".join(r.id for r in good) or "none"
            raise BadInput(f"--to {to}: not a successful release on record (successful: {known})")
    later = [r for r in oldest_first if r.sequence > target.sequence]
    source = next((r for r in later if r.templates_before), None)
    if source is None:
        raise BadInput(f"{target.id} is what the workloads run now: nothing to roll back")
    replaced = tuple(r for r in later if r.status is ReleaseStatus.SUCCEEDED)
    return RollbackTarget(target, tuple(source.templates_before), replaced, source.id)


def refuse_unrecorded(choice: RollbackTarget, unrecorded: tuple[str, ...]) -> None:
    """Pure: BadInput when configured workloads have no template in the record: what they ran at the target is
    unknown (their previous revision is the target only by chance), so nothing is changed."""
    if not unrecorded:
        return
    names = ", ".join(unrecorded)
    raise BadInput(f"{choice.source}'s record holds no template of {names} (the record predates their "
                   f"configuration), so shipit cannot tell what {names} ran at {choice.target.id}. Nothing was "
                   "changed. Roll back to a release recorded after they were configured (shipit history), or set "
                   "their images yourself")


class Rollback:
    def __init__(self, cfg: Config, ports: Ports, *, user: str, cancel: threading.Event | None = None,
                 observer: Observer | None = None, now: Callable[[], float] = time.time):
        self.cfg, self.ports, self.user, self.now = cfg, ports, user, now
        self.cancel = cancel or threading.Event()
        self.recorder = Recorder(ports.records, ports.lease, observer or Silent(), now)

    def run(self, to: str | None = None) -> ReleaseState:
        choice = rollback_target(self.ports.records.history(), to)
        started = self.now()
        cluster = self.ports.cluster
        refuse_unrecorded(choice, cluster.unrecorded(choice.templates))
        with self.recorder.leased(self.cancel):
            sequence = self.recorder.sequence()
            latest_ok = self.ports.records.last_successful()
            self.recorder.start(ReleaseState(
                id=release_id(sequence), sequence=sequence, app=self.cfg.app, status=ReleaseStatus.RUNNING,
                from_sha=latest_ok.to_sha if latest_ok else "", to_sha=choice.target.to_sha,
                image_after=choice.target.image_after, user=self.user, started=started,
                image_before=cluster.current_image(), templates_before=cluster.current_templates(),
                plan_summary={"rollback_to": choice.target.id},
            ), started, "lease taken")
            loss = self.recorder.lost()
            if loss is not None:
                return self._stop_lock_lost(loss, None, code_started=False)
            begun = self.recorder.begin(Phase.CODE)
            diagnosis = None
            try:
                cluster.restore(choice.templates, cancel=self.cancel)
            except PhaseFailed as failed:
                diagnosis = failed.diagnosis
            except Exception as e:  # the adapter gave up: the templates may be half restored
                diagnosis = Diagnosis(f"restoring the templates of {choice.target.id} failed", f"{type(e).__name__}: {e}")
            loss = self.recorder.lost()
            if loss is not None or diagnosis is not None:
                self.recorder.end(PhaseResult(Phase.CODE, PhaseStatus.FAILED, begun, self.now(),
                                              diagnosis.what if diagnosis else "lease taken over"))
            if loss is not None:
                return self._stop_lock_lost(loss, diagnosis, code_started=True)
            notes = _remaining_migrations(choice.replaced)
            if diagnosis is not None:
                diagnosis = diagnosis.with_action(
                    f"restored the templates of {choice.target.id}, but they did not become healthy",
                    "check the workloads now (`kubectl get pods`); fix forward or roll back to another release",
                )
                return self.recorder.finish(ReleaseStatus.NEEDS_ATTENTION, ExitCode.NEEDS_PERSON, diagnosis.what,
                                            notes=notes, diagnosis=diagnosis)
            self.recorder.end(PhaseResult(Phase.CODE, PhaseStatus.SUCCEEDED, begun, self.now(),
                                          f"templates of {choice.target.id} serving and healthy"))
            for r in choice.replaced:
                self.recorder.save_other(dataclasses.replace(r, status=ReleaseStatus.ROLLED_BACK,
                                                             notes=r.notes + (f"rolled back by {self.recorder.state.id}",)))
            self.recorder.end(PhaseResult(Phase.RECORD, PhaseStatus.SUCCEEDED, self.now(), self.now(), "rollback recorded"))
            return self.recorder.finish(ReleaseStatus.SUCCEEDED, ExitCode.OK, f"rolled back to {choice.target.id}",
                                        notes=notes)

    def _stop_lock_lost(self, loss: LockLoss, seen: Diagnosis | None, *, code_started: bool) -> ReleaseState:
        """Another run holds the lease now: stop without touching the cluster or any record of the new holder."""
        what = policy.lock_lost_what(loss.holder, Phase.CODE, during=code_started, run="rollback")
        why = f"{seen.what}: {seen.why}" if seen else policy.LOCK_LOST_WHY
        verdict = policy.on_lock_lost(code_started=code_started, applied=False)
        did, next_ = policy.lock_lost_actions(Phase.CODE, verdict, code_started=code_started)
        diagnosis = Diagnosis(what, why, details=seen.details if seen else ()).with_action(did, next_)
        return self.recorder.finish(verdict.status, verdict.exit_code, what, diagnosis=diagnosis)


def _remaining_migrations(replaced: tuple[ReleaseState, ...]) -> tuple[str, ...]:
    return tuple(
        note for r in replaced
        for note in policy.migrations_staying(r.plan_summary.get("migrations") or (), origin=r.id, code="the restored code")
    )
