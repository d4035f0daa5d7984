"""The release orchestrator: runs the phases in order, records each transition, and applies the failure policy.

`Release` owns sequencing and policy only. Everything it touches in the world goes through `Edges` (git, lock,
records, database, cluster, HTTP), so the state machine can be driven by in-memory fakes in unit tests and by the
real modules (`shipit.adapters.edges`) in production and end-to-end tests.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Callable, Protocol

from shipit.core.config import Config, GitRevert
from shipit.core.errors import BadInput, ExitCode, ShipitError
from shipit.core.log import get_logger
from shipit.release.phases import (
    CODE_PHASES,
    ORDER,
    Diagnosis,
    Phase,
    PhaseFailed,
    PhaseResult,
    PhaseStatus,
    ReleaseStatus,
    Verdict,
    after_revert,
    interrupted_failure,
    on_failure,
    on_lock_lost,
    resume_from,
)

log = get_logger("shipit.release")


@dataclasses.dataclass(frozen=True)
class PlanFacts:
    """What the orchestrator needs from the plan; the edges keep the full Plan for the database checks."""

    from_sha: str
    to_sha: str
    code_changed: bool
    pre_deploy: tuple[str, ...] = ()  # migration versions
    post_deploy: tuple[str, ...] = ()
    manual: tuple[str, ...] = ()  # "version name: reason", one per migration that cannot be staged safely
    summary: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ReleaseState:
    """A release as recorded: written after every phase transition so a crashed run can be resumed."""

    id: str
    sequence: int
    app: str
    status: ReleaseStatus
    from_sha: str
    to_sha: str
    image_after: str
    user: str
    started: float
    image_before: str | None = None
    templates_before: tuple = ()  # opaque deployment templates from the cluster edge, restored on revert
    plan_summary: dict = dataclasses.field(default_factory=dict)
    phases: tuple[PhaseResult, ...] = ()
    ended: float | None = None
    message: str = ""
    diagnosis: Diagnosis | None = None
    notes: tuple[str, ...] = ()
    exit_code: int = int(ExitCode.OK)

    def with_phase(self, result: PhaseResult) -> ReleaseState:
        kept = tuple(r for r in self.phases if r.phase is not result.phase)
        return dataclasses.replace(self, phases=kept + (result,))

    def phase(self, phase: Phase) -> PhaseResult | None:
        return next((r for r in self.phases if r.phase is phase), None)

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else max(0.0, self.ended - self.started)


@dataclasses.dataclass(frozen=True)
class LockLoss:
    """Who took the release lease over from a running release."""

    holder: str  # described for people: user, host, release, since when
    release_id: str | None = None  # the release the new holder runs: this one's id means a `--resume` of it


class Edges(Protocol):
    """Every effect a release has on the world. Methods return a Diagnosis on failure and None on success."""

    def last_successful(self) -> ReleaseState | None: ...
    def latest(self) -> ReleaseState | None: ...
    def history(self) -> list[ReleaseState]: ...  # newest first
    def next_sequence(self) -> int: ...
    def save(self, state: ReleaseState) -> None: ...
    def plan(self, from_ref: str, to_ref: str, *, accept_manual: bool = False) -> PlanFacts: ...  # manual -> pre-deploy
    # raises a ShipitError with exit code 4 when held; calls on_lost (from any thread) if the lease is taken over
    def acquire_lock(self, release_id: str, *, on_lost: Callable[[], None] | None = None) -> None: ...
    def lock_lost(self) -> LockLoss | None: ...  # who took the lease over from this run, None while it is ours
    def release_lock(self) -> None: ...  # never releases a lease someone else holds now
    def current_image(self) -> str | None: ...
    def current_templates(self) -> tuple: ...
    def preflight(self, facts: PlanFacts) -> Diagnosis | None: ...
    def applied_versions(self) -> frozenset[str]: ...
    def migrate(
        self, image: str, release_id: str, *, versions: tuple[str, ...], post_deploy: bool, cancel: threading.Event
    ) -> Diagnosis | None: ...
    def partial_state(self, versions: tuple[str, ...]) -> tuple[bool, tuple[str, ...]]: ...  # (anything applied, report)
    def wait_ddl(self, *, timeout: float, cancel: threading.Event) -> Diagnosis | None: ...
    def gates(self, *, cancel: threading.Event) -> Diagnosis | None: ...
    def rollout(self, image: str, *, cancel: threading.Event) -> Diagnosis | None: ...
    def bake(self, seconds: float, *, cancel: threading.Event) -> Diagnosis | None: ...
    def restore(self, templates: tuple) -> Diagnosis | None: ...
    def git_revert(self, release_id: str, from_sha: str, to_sha: str) -> str: ...  # what it pushed; raises on failure


class Observer(Protocol):
    def phase_started(self, phase: Phase) -> None: ...
    def phase_ended(self, result: PhaseResult) -> None: ...


class _Silent:
    def phase_started(self, phase: Phase) -> None:
        pass

    def phase_ended(self, result: PhaseResult) -> None:
        pass


class _Skip(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _LockLost(PhaseFailed):
    """Raised before a phase starts when the release lease was taken over."""


class Release:
    def __init__(
        self,
        cfg: Config,
        edges: Edges,
        *,
        user: str,
        cancel: threading.Event | None = None,
        observer: Observer | None = None,
        now: Callable[[], float] = time.time,
    ):
        self.cfg, self.edges, self.user = cfg, edges, user
        self.cancel = cancel or threading.Event()
        self.observer = observer or _Silent()
        self.now = now
        self.state: ReleaseState | None = None
        self.facts: PlanFacts | None = None

    # --- entry points ------------------------------------------------------------------------------------------------

    def run(self, *, from_ref: str | None = None, to_ref: str = "HEAD", yes: bool = False) -> ReleaseState:
        started = self.now()
        self.observer.phase_started(Phase.PLAN)
        if from_ref is None:
            last = self.edges.last_successful()
            if last is None:
                raise BadInput("no successful release is recorded yet: pass --from REF for the first release")
            from_ref = last.to_sha
        facts = self.edges.plan(from_ref, to_ref, accept_manual=yes)
        if facts.manual and not yes:
            raise ShipitError(
                "release stopped before anything changed: these migrations need a person "
                f"({'; '.join(facts.manual)}). Review them, then rerun with --yes."
            )
        plan_result = PhaseResult(Phase.PLAN, PhaseStatus.SUCCEEDED, started, self.now(), _plan_message(facts))
        self.observer.phase_ended(plan_result)

        self.observer.phase_started(Phase.LOCK)
        lock_started = self.now()
        self.edges.acquire_lock(f"r{self.edges.next_sequence():04d}", on_lost=self.cancel.set)
        try:
            sequence = self.edges.next_sequence()  # again under the lock: a release may have finished meanwhile
            self.facts = facts
            self.state = ReleaseState(
                id=f"r{sequence:04d}",
                sequence=sequence,
                app=self.cfg.app,
                status=ReleaseStatus.RUNNING,
                from_sha=facts.from_sha,
                to_sha=facts.to_sha,
                image_after=self.cfg.image.for_commit(facts.to_sha),
                user=self.user,
                started=started,
                plan_summary=facts.summary,
                phases=(plan_result,),
            )
            self._end(PhaseResult(Phase.LOCK, PhaseStatus.SUCCEEDED, lock_started, self.now(), "lease taken"))
            return self._continue(Phase.PREFLIGHT)
        finally:
            self.edges.release_lock()

    def resume(self) -> ReleaseState:
        """Continue the latest RUNNING release (left by a crash) from its first unfinished phase."""
        latest = self.edges.latest()
        if latest is None or latest.status is not ReleaseStatus.RUNNING:
            what = "no release is recorded" if latest is None else f"the latest release {latest.id} is {latest.status.value}"
            raise BadInput(f"nothing to resume: {what}")
        started = self.now()
        self.observer.phase_started(Phase.LOCK)
        self.edges.acquire_lock(latest.id, on_lost=self.cancel.set)
        try:
            # a recorded release got past the plan, so its manual migrations were accepted with --yes
            self.facts = self.edges.plan(latest.from_sha, latest.to_sha, accept_manual=True)
            failed = interrupted_failure(latest.phases)
            if failed is not None:
                return self._finish_interrupted_failure(latest, failed, started)
            start = resume_from(latest.phases)
            kept = tuple(r for r in latest.phases if r.phase in ORDER and ORDER.index(r.phase) < ORDER.index(start))
            self.state = dataclasses.replace(
                latest, phases=kept, notes=latest.notes + (f"resumed by {self.user} at phase {start.value}",)
            )
            self._end(PhaseResult(Phase.LOCK, PhaseStatus.SUCCEEDED, started, self.now(), "lease taken to resume"))
            return self._continue(start)
        finally:
            self.edges.release_lock()

    def _finish_interrupted_failure(self, latest: ReleaseState, failed: Phase, started: float) -> ReleaseState:
        """The crashed run had a code phase fail (and maybe started the revert): finish that failure, revert included,
        instead of rolling the failed code out again."""
        self.state = dataclasses.replace(
            latest, notes=latest.notes + (f"resumed by {self.user}: finishing the failure of {failed.title.lower()}",)
        )
        self._end(PhaseResult(Phase.LOCK, PhaseStatus.SUCCEEDED, started, self.now(), "lease taken to resume"))
        recorded = latest.phase(failed)
        what = recorded.message if recorded is not None and recorded.message else f"{failed.title} failed"
        why = "recorded by the run that was stopped (killed) while handling this failure; --resume finished it"
        return self._fail(failed, PhaseFailed(Diagnosis(what, why)))

    # --- sequencing --------------------------------------------------------------------------------------------------

    def _continue(self, start: Phase) -> ReleaseState:
        steps = {
            Phase.PREFLIGHT: self._preflight,
            Phase.MIGRATE: lambda: self._migrate(post_deploy=False),
            Phase.WAIT_DDL: self._wait_ddl,
            Phase.GATES: self._gates,
            Phase.CODE: self._code,
            Phase.VERIFY: self._verify,
            Phase.POST_DEPLOY: lambda: self._migrate(post_deploy=True),
        }
        for phase in ORDER[ORDER.index(start) :]:
            if phase is Phase.RECORD:
                break
            try:
                self._step(phase, steps[phase])
            except PhaseFailed as failure:
                return self._fail(phase, failure)
        self._begin(Phase.RECORD)
        self._end(PhaseResult(Phase.RECORD, PhaseStatus.SUCCEEDED, self.now(), self.now(), "release recorded"))
        return self._finish(ReleaseStatus.SUCCEEDED, ExitCode.OK, "released", notes=())

    def _step(self, phase: Phase, fn: Callable[[], str]) -> None:
        loss = self.edges.lock_lost()
        if loss is not None:  # nothing of this phase ran, so nothing of it is recorded
            raise _LockLost(Diagnosis(
                f"the release lock was taken over by {loss.holder}; this run stopped before {phase.title.lower()}",
                "another run holds the release lease now (this run's lease expired or was removed with "
                "`shipit unlock --force`), so this run must not change the cluster any more",
            ))
        if self.cancel.is_set():
            self._begin(phase)
            self._end(PhaseResult(phase, PhaseStatus.FAILED, self.now(), self.now(), "interrupted"))
            raise PhaseFailed(Diagnosis(f"interrupted before {phase.title.lower()}", "SIGINT or SIGTERM received"))
        started = self._begin(phase)
        try:
            message = fn()
            status = PhaseStatus.SUCCEEDED
        except _Skip as skip:
            message, status = skip.message, PhaseStatus.SKIPPED
        except PhaseFailed as failure:
            self._end(PhaseResult(phase, PhaseStatus.FAILED, started, self.now(), failure.diagnosis.what))
            raise
        except Exception as e:  # an edge gave up (API budget, database unreachable): a failure of this phase,
            # so a code phase still gets its revert and the record its outcome
            why = str(e) if isinstance(e, ShipitError) else f"{type(e).__name__}: {e}"
            self._end(PhaseResult(phase, PhaseStatus.FAILED, started, self.now(), why))
            raise PhaseFailed(Diagnosis(f"{phase.title} failed", why), applied=phase is Phase.WAIT_DDL) from e
        self._end(PhaseResult(phase, status, started, self.now(), message))

    def _begin(self, phase: Phase) -> float:
        started = self.now()
        # recorded before it is announced: what the output says has started, a crash leaves on record
        self._save(self.state.with_phase(PhaseResult(phase, PhaseStatus.RUNNING, started)))
        self.observer.phase_started(phase)
        return started

    def _end(self, result: PhaseResult) -> None:
        self._save(self.state.with_phase(result))
        self.observer.phase_ended(result)

    def _save(self, state: ReleaseState) -> None:
        self.state = state
        loss = self.edges.lock_lost()
        if loss is not None and loss.release_id in (None, state.id):
            # the new holder may be a --resume of this very release (or one that already finished it): its record
            # is no longer this run's to write; the outcome still goes to the output
            log.warning("not recording: the release lock was taken over", release=state.id, holder=loss.holder)
            return
        self.edges.save(state)

    def _finish(self, status: ReleaseStatus, code: ExitCode, message: str, *, notes: tuple[str, ...],
                diagnosis: Diagnosis | None = None) -> ReleaseState:
        self._save(
            dataclasses.replace(
                self.state, status=status, exit_code=int(code), message=message, ended=self.now(),
                diagnosis=diagnosis, notes=self.state.notes + notes,
            )
        )
        log.info("release finished", release=self.state.id, status=status.value, exit_code=int(code))
        return self.state

    # --- phases ------------------------------------------------------------------------------------------------------

    def _preflight(self) -> str:
        # The templates are recorded before anything changes: they are what the automatic revert restores.
        self._save(
            dataclasses.replace(
                self.state, image_before=self.edges.current_image(), templates_before=self.edges.current_templates()
            )
        )
        diagnosis = self.edges.preflight(self.facts)
        if diagnosis is not None:
            raise PhaseFailed(diagnosis)
        return f"database, data and Deployments ready; target image {self.state.image_after}"

    def _migrate(self, *, post_deploy: bool) -> str:
        versions = self.facts.post_deploy if post_deploy else self.facts.pre_deploy
        kind = "post-deploy" if post_deploy else "pre-deploy"
        if not versions:
            raise _Skip(f"no {kind} migrations")
        pending = tuple(v for v in versions if v not in self.edges.applied_versions())
        if not pending:
            raise _Skip(f"all {len(versions)} {kind} migrations already applied")
        diagnosis = self.edges.migrate(
            self.state.image_after, self.state.id, versions=pending, post_deploy=post_deploy, cancel=self.cancel
        )
        missing = tuple(v for v in pending if v not in self.edges.applied_versions())
        if diagnosis is None and not missing:
            return f"applied {len(pending)} {kind} migration(s): {', '.join(pending)}"
        applied, report = self.edges.partial_state(pending)
        if diagnosis is None:  # the outage's failure mode: "succeeded" without applying the migrations
            diagnosis = Diagnosis(
                what=f"the {kind} migration Job exited 0 but did not apply {', '.join(missing)}",
                why="the versions are missing from schema_migrations: wrong migration command, or the migrations "
                "are not in the image",
            )
        raise PhaseFailed(dataclasses.replace(diagnosis, details=diagnosis.details + report), applied=applied)

    def _wait_ddl(self) -> str:
        if not self.facts.pre_deploy:
            raise _Skip("no schema changes to wait for")
        diagnosis = self.edges.wait_ddl(timeout=self.cfg.gates.ddl_timeout, cancel=self.cancel)
        if diagnosis is not None:
            raise PhaseFailed(diagnosis, applied=True)
        return "schema ready on the primary and every replica"

    def _gates(self) -> str:
        diagnosis = self.edges.gates(cancel=self.cancel)
        if diagnosis is not None:
            raise PhaseFailed(diagnosis)
        return "database health and HTTP checks pass"

    def _code(self) -> str:
        if not self.facts.code_changed:
            raise _Skip("no code change")
        diagnosis = self.edges.rollout(self.state.image_after, cancel=self.cancel)
        if diagnosis is not None:
            raise PhaseFailed(diagnosis)
        names = ", ".join(d.name for d in self.cfg.deployments)
        return f"{names} serving {self.state.image_after}"

    def _verify(self) -> str:
        if not self.facts.code_changed:
            raise _Skip("no code change")
        diagnosis = self.edges.bake(self.cfg.gates.bake, cancel=self.cancel)
        if diagnosis is not None:
            raise PhaseFailed(diagnosis)
        return f"healthy for {self.cfg.gates.bake:g}s"

    # --- failure -----------------------------------------------------------------------------------------------------

    def _fail(self, phase: Phase, failure: PhaseFailed) -> ReleaseState:
        loss = self.edges.lock_lost()
        if loss is not None:
            return self._stop_lock_lost(phase, failure, loss.holder)
        if self.cancel.is_set() and not failure.diagnosis.what.startswith("interrupted"):
            # the edge saw a cancelled wait; the person asked for the stop, so say that first
            original = failure.diagnosis
            failure = PhaseFailed(
                dataclasses.replace(original, what=f"interrupted during {phase.title.lower()} (SIGINT or SIGTERM)",
                                    why=f"{original.what}: {original.why}"),
                applied=failure.applied,
            )
        verdict = on_failure(phase, applied=failure.applied, automatic_revert=self.cfg.rollback.automatic)
        notes: list[str] = []
        revert_diagnosis: Diagnosis | None = None
        if verdict.revert:
            revert_ok, revert_diagnosis, git_ok = self._revert(notes)
            verdict = after_revert(verdict, revert_ok=revert_ok, git_revert_ok=git_ok)
        notes += self._migrations_note(phase)
        did, next_ = _actions(phase, verdict, failure.applied, self.state, revert_diagnosis)
        if failure.diagnosis.did:  # the edge acted itself (the metadata-lock watchdog killed our DDL): say so first
            did, next_ = f"{failure.diagnosis.did}; {did}", failure.diagnosis.next or next_
        diagnosis = failure.diagnosis.with_action(did, next_)
        if revert_diagnosis is not None:
            diagnosis = dataclasses.replace(
                diagnosis, details=diagnosis.details + (f"revert failed: {revert_diagnosis.what}",) + revert_diagnosis.details
            )
        return self._finish(verdict.status, verdict.exit_code, diagnosis.what, notes=tuple(notes), diagnosis=diagnosis)

    def _stop_lock_lost(self, phase: Phase, failure: PhaseFailed, holder: str) -> ReleaseState:
        """Another run holds the lease now: stop without touching the cluster again (no revert) and say so."""
        diagnosis = failure.diagnosis
        if not isinstance(failure, _LockLost):  # the loss cut a wait short: lead with it, keep what the edge saw
            diagnosis = dataclasses.replace(
                diagnosis, what=f"the release lock was taken over by {holder}; this run stopped during "
                f"{phase.title.lower()}", why=f"{diagnosis.what}: {diagnosis.why}",
            )
        code = self.state.phase(Phase.CODE)
        code_started = code is not None and code.status is not PhaseStatus.SKIPPED
        verdict = on_lock_lost(code_started=code_started, applied=failure.applied)
        if verdict.exit_code is ExitCode.NEEDS_PERSON:
            where = ("new code may be serving" if code_started else
                     "the schema change is not ready everywhere" if phase is Phase.WAIT_DDL else "a migration is partly applied")
            did = f"stopped at once without a revert ({where}): the lock's new holder may be changing the cluster"
            next_ = ("agree with the lock's holder who continues; check the Deployments and `shipit status`, then "
                     "`shipit rollback` or release again")
        else:
            did = "stopped before the code rollout; this run changes nothing more"
            next_ = "wait for the lock's holder to finish (`shipit status`), then release again"
        return self._finish(verdict.status, verdict.exit_code, diagnosis.what, notes=tuple(self._migrations_note(phase)),
                            diagnosis=diagnosis.with_action(did, next_))

    def _revert(self, notes: list[str]) -> tuple[bool, Diagnosis | None, bool]:
        started = self._begin(Phase.REVERT)
        log.info("automatic revert starting", release=self.state.id)
        try:
            diagnosis = self.edges.restore(self.state.templates_before)
        except Exception as e:
            diagnosis = Diagnosis("restoring the previous templates failed", f"{type(e).__name__}: {e}")
        git_ok = True
        if diagnosis is None and self.cfg.rollback.git_revert is not GitRevert.OFF:
            try:
                notes.append(self.edges.git_revert(self.state.id, self.state.from_sha, self.state.to_sha))
            except ShipitError as e:
                git_ok = False
                notes.append(f"git revert failed: {e}")
        status = PhaseStatus.SUCCEEDED if diagnosis is None else PhaseStatus.FAILED
        message = f"previous templates serving ({self.state.image_before})" if diagnosis is None else diagnosis.what
        self._end(PhaseResult(Phase.REVERT, status, started, self.now(), message))
        return diagnosis is None, diagnosis, git_ok

    def _migrations_note(self, failed: Phase) -> list[str]:
        migrated = self.state.phase(Phase.MIGRATE)
        if migrated is None or migrated.status is not PhaseStatus.SUCCEEDED or failed is Phase.MIGRATE:
            return []
        manual = {entry.split(" ", 1)[0] for entry in self.facts.manual}  # "version name: reason"
        names = {m.get("version"): m.get("name", "") for m in self.facts.summary.get("migrations") or ()}
        applied = [
            {"version": v, "name": names.get(v, ""), "phase": "manual" if v in manual else "pre_deploy"}
            for v in self.facts.pre_deploy
        ]
        return migrations_staying(applied, origin=self.state.id, code="the previous code")


def _plan_message(facts: PlanFacts) -> str:
    parts = [f"{facts.from_sha[:7]}..{facts.to_sha[:7]}"]
    parts.append(f"{len(facts.pre_deploy)} pre-deploy, {len(facts.post_deploy)} post-deploy migration(s)")
    if facts.manual:
        parts.append(f"{len(facts.manual)} manual (accepted with --yes)")
    parts.append("code changed" if facts.code_changed else "no code change")
    return "; ".join(parts)


def _actions(
    phase: Phase, verdict: Verdict, applied: bool, state: ReleaseState, revert: Diagnosis | None
) -> tuple[str, str]:
    """What shipit did and what the person should do next, for the diagnosis."""
    if phase in CODE_PHASES and verdict.revert:
        if verdict.status is ReleaseStatus.REVERTED:
            return (
                f"rolled the Deployments back to the previous templates ({state.image_before}); they are healthy",
                "fix the code, build a new image and release again",
            )
        return (
            "tried to roll the Deployments back, but the revert did not finish",
            "check the Deployments now (`shipit status`, `kubectl get pods`); run `shipit rollback` once the cause is clear",
        )
    if phase in CODE_PHASES:
        return ("left the new code in place (rollback.automatic is false)", "run `shipit rollback` or fix forward")
    if phase is Phase.MIGRATE or phase is Phase.POST_DEPLOY:
        code = "the new code was not rolled out" if phase is Phase.MIGRATE else "the new code stays deployed"
        if applied:
            return (
                f"stopped; part of the migration is applied and {code}",
                "read the partial state above, fix the migration or the data, clean up what a rerun would hit, "
                "then release again",
            )
        return (f"stopped; nothing was applied and {code}", "fix the cause above, then release again")
    if phase is Phase.WAIT_DDL:
        return (
            "stopped before the code rollout; the schema change is not ready everywhere",
            "watch it with `shipit db status`; release again (or --resume) once it finished",
        )
    return ("stopped; nothing was changed", "fix the cause above, then release again")


# --- rollback ------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RollbackTarget:
    target: ReleaseState  # the release whose code comes back
    templates: tuple  # the Deployments' templates as that release left them
    replaced: tuple[ReleaseState, ...]  # successful releases after it, marked rolled back afterwards


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
        raise BadInput(f"{target.id} is what the Deployments run now: nothing to roll back")
    replaced = tuple(r for r in later if r.status is ReleaseStatus.SUCCEEDED)
    return RollbackTarget(target, tuple(source.templates_before), replaced)


class Rollback:
    """`shipit rollback`: restore a previous release's templates, watched, recorded as a release of its own."""

    def __init__(self, cfg: Config, edges: Edges, *, user: str, observer: Observer | None = None,
                 now: Callable[[], float] = time.time):
        self.cfg, self.edges, self.user = cfg, edges, user
        self.observer = observer or _Silent()
        self.now = now

    def run(self, to: str | None = None) -> ReleaseState:
        choice = rollback_target(self.edges.history(), to)
        started = self.now()
        self.observer.phase_started(Phase.LOCK)
        self.edges.acquire_lock(f"r{self.edges.next_sequence():04d}")
        try:
            sequence = self.edges.next_sequence()
            latest_ok = self.edges.last_successful()
            state = ReleaseState(
                id=f"r{sequence:04d}", sequence=sequence, app=self.cfg.app, status=ReleaseStatus.RUNNING,
                from_sha=latest_ok.to_sha if latest_ok else "", to_sha=choice.target.to_sha,
                image_after=choice.target.image_after, user=self.user, started=started,
                image_before=self.edges.current_image(), templates_before=self.edges.current_templates(),
                plan_summary={"rollback_to": choice.target.id},
            )
            state = self._phase(state, PhaseResult(Phase.LOCK, PhaseStatus.SUCCEEDED, started, self.now(), "lease taken"))
            t = self.now()
            self.observer.phase_started(Phase.CODE)
            diagnosis = self.edges.restore(choice.templates)
            notes = _remaining_migrations(choice.replaced)
            if diagnosis is not None:
                state = self._phase(state, PhaseResult(Phase.CODE, PhaseStatus.FAILED, t, self.now(), diagnosis.what))
                diagnosis = diagnosis.with_action(
                    f"restored the templates of {choice.target.id}, but they did not become healthy",
                    "check the Deployments now (`kubectl get pods`); fix forward or roll back to another release",
                )
                return self._done(state, ReleaseStatus.NEEDS_ATTENTION, ExitCode.NEEDS_PERSON, diagnosis.what,
                                  notes, diagnosis)
            state = self._phase(state, PhaseResult(
                Phase.CODE, PhaseStatus.SUCCEEDED, t, self.now(), f"templates of {choice.target.id} serving and healthy"
            ))
            for r in choice.replaced:
                self.edges.save(dataclasses.replace(r, status=ReleaseStatus.ROLLED_BACK,
                                                    notes=r.notes + (f"rolled back by {state.id}",)))
            state = self._phase(state, PhaseResult(Phase.RECORD, PhaseStatus.SUCCEEDED, self.now(), self.now(),
                                                   "rollback recorded"))
            return self._done(state, ReleaseStatus.SUCCEEDED, ExitCode.OK, f"rolled back to {choice.target.id}", notes)
        finally:
            self.edges.release_lock()

    def _phase(self, state: ReleaseState, result: PhaseResult) -> ReleaseState:
        state = state.with_phase(result)
        self.edges.save(state)
        self.observer.phase_ended(result)
        return state

    def _done(self, state, status, code, message, notes, diagnosis=None) -> ReleaseState:
        state = dataclasses.replace(state, status=status, exit_code=int(code), message=message, ended=self.now(),
                                    notes=state.notes + tuple(notes), diagnosis=diagnosis)
        self.edges.save(state)
        return state


def _remaining_migrations(replaced: tuple[ReleaseState, ...]) -> list[str]:
    return [
        note for r in replaced
        for note in migrations_staying(r.plan_summary.get("migrations") or (), origin=r.id, code="the restored code")
    ]


def migrations_staying(migrations, *, origin: str, code: str) -> list[str]:
    """Migrations are never rolled back (by the automatic revert or `shipit rollback`): one note per migration that
    stays applied, saying whether `code` can live with it. Only `pre_deploy` ones are additive by classification;
    `manual` ones (accepted with --yes) and `post_deploy` ones are not, and a person must check them."""
    notes = []
    for m in migrations:
        kind = m.get("phase", "")
        if kind == "pre_deploy":
            verdict = f"additive by classification, {code} is compatible"
        elif kind == "manual":
            verdict = f"NOT known to be additive (accepted with --yes): check {code} works with it"
        else:
            verdict = f"NOT additive: check {code} does not need what it removed"
        name = f" {m['name']}" if m.get("name") else ""
        notes.append(f"migration {m.get('version')}{name} from {origin} stays applied ({kind}: {verdict})")
    return notes
