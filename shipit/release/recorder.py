"""The record of one run, shared by `shipit release` and `shipit rollback`: the lease around it, the sequence taken
under the lease, and every phase transition written before it is announced, unless the lease was taken over."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import Callable, Iterator

from shipit.core import unexpected
from shipit.core.errors import ExitCode, ShipitError
from shipit.core.log import get_logger
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus
from shipit.release.ports import Lease, LockLoss, Notify, Observer, Quiet, Records
from shipit.release.state import ReleaseState, release_id

log = get_logger("shipit.release")


class Recorder:
    def __init__(self, records: Records, lease: Lease, observer: Observer, now: Callable[[], float],
                 notify: Notify | None = None):
        self.records, self.lease, self.observer, self.now = records, lease, observer, now
        self.notify = notify or Quiet()
        self.state: ReleaseState | None = None

    @contextlib.contextmanager
    def leased(self, cancel: threading.Event, rid: str | None = None) -> Iterator[None]:
        """Hold the release lease for the block; its loss sets `cancel` so the run's waits stop too. A new run
        asks for the lease in the name of the next id (taken again under the lease: `sequence()`)."""
        self.observer.phase_started(Phase.LOCK)
        self.lease.acquire_lock(rid or release_id(self.records.next_sequence()), on_lost=cancel.set)
        try:
            yield
        finally:
            self.lease.release_lock()

    def sequence(self) -> int:
        """The next sequence number, read under the lease: a release may have finished while this one waited."""
        return self.records.next_sequence()

    def lost(self) -> LockLoss | None:
        return self.lease.lock_lost()

    def start(self, state: ReleaseState, lock_started: float, message: str) -> None:
        """The first write of the run's record; when it cannot be written nothing has changed yet, so that failure
        is a safe one (exit 1), not one that may have stopped half-way."""
        result = PhaseResult(Phase.LOCK, PhaseStatus.SUCCEEDED, lock_started, self.now(), message)
        try:
            self.save(state.with_phase(result))
        except ShipitError:
            raise
        except Exception as e:  # noqa: BLE001 - any adapter error here is before the first change
            why = unexpected.describe(e, command="status").message
            raise ShipitError(f"release {state.id} did not start, nothing was changed: its record could not be "
                              f"written ({why})") from e
        self.notify.started(state)
        self.observer.phase_ended(result)
        self.notify.phase_ended(self.state, result)

    def begin(self, phase: Phase) -> float:
        started = self.now()
        # recorded before it is announced: what the output says has started, a crash leaves on record
        self.save(self.state.with_phase(PhaseResult(phase, PhaseStatus.RUNNING, started)))
        self.observer.phase_started(phase)
        return started

    def end(self, result: PhaseResult) -> None:
        self.save(self.state.with_phase(result))
        self.observer.phase_ended(result)
        self.notify.phase_ended(self.state, result)

    def save(self, state: ReleaseState) -> None:
        self.state = state
        loss = self.lease.lock_lost()
        if loss is not None and loss.release_id in (None, state.id):
            # the new holder may be a --resume of this very record (or one that already finished it): the record is
            # no longer this run's to write; the outcome still goes to the output
            log.warning("not recording: the release lock was taken over", release=state.id, holder=loss.holder)
            return
        self.records.save(state)

    def save_other(self, other: ReleaseState) -> None:
        """Another release's record (marked rolled back), written only while the lease is still this run's."""
        if self.lease.lock_lost() is None:
            self.records.save(other)

    def finish(self, status: ReleaseStatus, code: ExitCode, message: str, *, notes: tuple[str, ...] = (),
               diagnosis: Diagnosis | None = None) -> ReleaseState:
        final = dataclasses.replace(
            self.state, status=status, exit_code=int(code), message=message, ended=self.now(),
            diagnosis=diagnosis, notes=self.state.notes + tuple(notes),
        )
        self.notify.finished(final)
        # a notification that failed is listed in the record and the summary, never changes the outcome
        self.save(dataclasses.replace(final, notes=final.notes + self.notify.notes()))
        log.info("release finished", release=self.state.id, status=status.value, exit_code=int(code))
        return self.state


class LeaseLost(PhaseFailed):
    """Raised before a phase starts when the release lease was taken over: nothing of that phase ran."""
