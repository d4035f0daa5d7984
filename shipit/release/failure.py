"""What a release does after a step failed: ask the policy, run the revert it calls for, and finish the record
with the one-screen diagnosis. A run whose lease was taken over only stops."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from shipit.core.config import GitRevert
from shipit.kube.serving import decide_code
from shipit.release import policy
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.phases import Phase, PhaseResult, PhaseStatus
from shipit.release.recorder import LeaseLost
from shipit.release.state import ReleaseState
from shipit.release.steps import code_context

if TYPE_CHECKING:
    from shipit.release.orchestrator import Release


def fail(r: Release, phase: Phase, failure: PhaseFailed) -> ReleaseState:
    """End the run after a failure in `phase`: the policy's verdict, the revert if it says so, the diagnosis."""
    loss = r.recorder.lost()
    if loss is not None:
        return _stop_lock_lost(r, phase, failure, loss.holder)
    if r.cancel.is_set() and not failure.diagnosis.what.startswith("interrupted"):
        # the adapter saw a cancelled wait; the person asked for the stop, so say that first
        original = failure.diagnosis
        failure = PhaseFailed(
            dataclasses.replace(original, what=f"interrupted during {phase.title.lower()} (SIGINT or SIGTERM)",
                                why=f"{original.what}: {original.why}"),
            applied=failure.applied,
        )
    verdict = policy.on_failure(phase, applied=failure.applied, automatic_revert=r.cfg.rollback.automatic,
                                code_unchanged=phase is Phase.CODE and _still_previous(r))
    notes: list[str] = []
    revert: Diagnosis | None = None
    if verdict.revert:
        revert, git_ok = _revert(r, notes)
        verdict = policy.after_revert(verdict, revert_ok=revert is None, git_revert_ok=git_ok)
    notes += _migrations_note(r, phase)
    did, next_ = policy.failure_actions(phase, verdict, applied=failure.applied, image_before=r.state.image_before)
    if failure.diagnosis.did:  # the adapter acted itself (the metadata-lock watchdog killed our DDL): say so first
        did, next_ = f"{failure.diagnosis.did}; {did}", failure.diagnosis.next or next_
    diagnosis = failure.diagnosis.with_action(did, next_)
    if revert is not None:
        diagnosis = diagnosis.with_details(f"revert failed: {revert.what}", *revert.details)
    return r.recorder.finish(verdict.status, verdict.exit_code, diagnosis.what, notes=tuple(notes),
                                diagnosis=diagnosis)

def _stop_lock_lost(r: Release, phase: Phase, failure: PhaseFailed, holder: str) -> ReleaseState:
    """Another run holds the lease now: stop without touching the cluster again (no revert) and say so."""
    diagnosis = failure.diagnosis
    if not isinstance(failure, LeaseLost):  # the loss cut a wait short: lead with it, keep what the adapter saw
        diagnosis = dataclasses.replace(diagnosis, what=policy.lock_lost_what(holder, phase, during=True),
                                        why=f"{diagnosis.what}: {diagnosis.why}")
    code = r.state.phase(Phase.CODE)
    code_started = code is not None and code.status is not PhaseStatus.SKIPPED
    verdict = policy.on_lock_lost(code_started=code_started, applied=failure.applied)
    did, next_ = policy.lock_lost_actions(phase, verdict, code_started=code_started)
    return r.recorder.finish(verdict.status, verdict.exit_code, diagnosis.what,
                                notes=tuple(_migrations_note(r, phase)), diagnosis=diagnosis.with_action(did, next_))

def _revert(r: Release, notes: list[str]) -> tuple[Diagnosis | None, bool]:
    """The automatic revert: the templates recorded before the release, then the optional git revert."""
    started = r.recorder.begin(Phase.REVERT)
    state = r.state
    diagnosis = None
    try:
        r.ports.cluster.restore(state.templates_before, code=code_context(r))
    except PhaseFailed as failed:
        diagnosis = failed.diagnosis
    except Exception as e:
        diagnosis = Diagnosis("restoring the previous templates failed", f"{type(e).__name__}: {e}")
    git_ok = True
    if diagnosis is None and r.cfg.rollback.git_revert is not GitRevert.OFF:
        try:
            notes.append(r.ports.git.git_revert(state.id, state.from_sha, state.to_sha))
        except PhaseFailed as failed:
            git_ok = False
            notes.append(f"{failed.diagnosis.what}: {failed.diagnosis.why}")
    message = f"previous templates serving ({state.image_before})" if diagnosis is None else diagnosis.what
    status = PhaseStatus.SUCCEEDED if diagnosis is None else PhaseStatus.FAILED
    r.recorder.end(PhaseResult(Phase.REVERT, status, started, r.now(), message))
    return diagnosis, git_ok

def _still_previous(r: Release) -> bool:
    """Every Deployment still runs the image from before the release (the rollout failed before changing any).
    Unsure (the cluster cannot be read) counts as changed: the revert then runs. A revert already begun (by a run
    that was killed) changed them, whatever they run now."""
    if not r.state.image_before or r.state.phase(Phase.REVERT) is not None:
        return False
    try:
        return not decide_code(r.ports.cluster.app_images(), r.state.image_before).to_roll
    except Exception:  # noqa: BLE001 - reading failed: assume changed, so the revert runs
        return False


def _migrations_note(r: Release, failed: Phase) -> list[str]:
    migrated = r.state.phase(Phase.MIGRATE)
    ok = migrated is not None and migrated.status is PhaseStatus.SUCCEEDED
    return policy.applied_migrations_notes(r.facts, migrate_succeeded=ok, failed=failed, origin=r.state.id)
