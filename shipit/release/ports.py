"""The ports: every effect a release has on the world, one small protocol per concern.

One contract for all of them: a port returns its value, and reports a failure by raising `PhaseFailed` with a
Diagnosis. Any other exception is an adapter giving up (API budget spent, database unreachable); the orchestrator
treats it as a failure of the phase it happened in. Adapters (`shipit.adapters`) keep no state between calls: what a
later call needs (the plan, the health baseline, a schema snapshot) is passed in by the orchestrator.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any, Callable, Protocol

from shipit.release.diagnosis import Diagnosis
from shipit.release.gate_result import GateReading
from shipit.release.phases import Phase, PhaseResult
from shipit.release.state import PlanFacts, ReleaseState


class Cancel(Protocol):
    def is_set(self) -> bool: ...


@dataclasses.dataclass(frozen=True)
class LockLoss:
    """Who took the release lease over from a running release."""

    holder: str  # described for people: user, host, release, since when
    release_id: str | None = None  # the release the new holder runs: this one's id means a `--resume` of it


@dataclasses.dataclass(frozen=True)
class Preflight:
    problems: tuple[str, ...]  # each one stops the release
    details: tuple[str, ...] = ()  # the report, for the diagnosis
    notes: tuple[str, ...] = ()  # worth knowing, never a stop: said in the phase's message and kept on the record


@dataclasses.dataclass(frozen=True)
class PartialState:
    applied: bool  # the failed migrations left something in place
    lines: tuple[str, ...]  # the report, for the diagnosis


class Records(Protocol):
    def latest(self) -> ReleaseState | None: ...
    def last_successful(self) -> ReleaseState | None: ...
    def history(self, limit: int | None = None) -> list[ReleaseState]: ...  # newest first
    def next_sequence(self) -> int: ...
    def save(self, state: ReleaseState) -> None: ...


class Lease(Protocol):
    # raises a ShipitError with exit code 4 when held; calls on_lost (from any thread) once the lease is taken over
    def acquire_lock(self, release_id: str, *, on_lost: Callable[[], None]) -> None: ...
    def lock_lost(self) -> LockLoss | None: ...  # who took the lease over from this run, None while it is ours
    def release_lock(self) -> None: ...  # never releases a lease someone else holds now


class Planner(Protocol):
    def plan(self, from_ref: str, to_ref: str, *, accept_manual: bool = False) -> PlanFacts: ...  # manual -> pre-deploy


class Database(Protocol):
    def preflight(self, facts: PlanFacts) -> Preflight: ...
    def baseline(self) -> Any: ...  # the health the gates compare against
    def usual_load(self, baseline: Any) -> tuple[Any, ...]: ...  # its per-server load, kept in the record
    def applied_versions(self) -> Mapping[str, frozenset[str]]: ...  # each configured database's schema_migrations
    def schema(self, facts: PlanFacts, versions: tuple[str, ...]) -> Any: ...  # the tables they touch, now
    def partial_state(self, facts: PlanFacts, versions: tuple[str, ...], schema_before: Any) -> PartialState: ...
    def wait_ddl(self, facts: PlanFacts, *, timeout: float, cancel: threading.Event) -> None: ...


@dataclasses.dataclass(frozen=True)
class CodeContext:
    """What a code strategy other than `image` needs: this release, what it already applied (a resumed run), and what
    the last successful release applied (what a revert puts back)."""

    release_id: str
    to_sha: str
    applied: dict  # this release's code record ({} before its apply)
    previous: dict  # the last successful release's code record


class Cluster(Protocol):
    def current_image(self) -> str | None: ...
    def current_templates(self) -> tuple: ...
    def unrecorded(self, templates: tuple) -> tuple[str, ...]: ...  # configured workloads `templates` lack
    def unhealthy_workloads(self) -> tuple[str, ...]: ...  # each configured workload by its kind's rule
    def app_images(self) -> tuple: ...  # every configured workload's app containers' images (kube.serving)
    # returns the last progress an online schema change tool reported in the Job's log ("" when none ran)
    def migrate(self, facts: PlanFacts, *, image: str, job_id: str, command: tuple[str, ...],
                versions: tuple[str, ...], cancel: Cancel) -> str: ...
    def check_code(self, to_sha: str, image: str) -> None: ...  # BadInput before the lock: the strategy cannot run
    # `on_applied` records a code strategy's record before its watch (None with the image strategy)
    def rollout(self, image: str, *, cancel: threading.Event, code: CodeContext | None = None,
                on_applied: Callable[[dict], None] | None = None) -> None: ...
    def restore(self, templates: tuple, *, cancel: Cancel | None = None, code: CodeContext | None = None) -> None: ...


class Gates(Protocol):
    # `since`: when the release started (error-rate gates count from there); both return each gate's last reading
    # and raise PhaseFailed with them in `gates`
    def before_code(self, baseline: Any, *, since: float, cancel: threading.Event) -> tuple[GateReading, ...]: ...
    def bake(self, baseline: Any, seconds: float, *, since: float, cancel: threading.Event) -> tuple[GateReading, ...]: ...


class GitRevert(Protocol):
    def git_revert(self, release_id: str, from_sha: str, to_sha: str) -> str: ...  # what it pushed


class Notify(Protocol):
    """Deploy notifications and hooks. Never raises: a notification that fails is kept for `notes()`, and the
    release's outcome stays its own; only the pre-release hook may stop a release, before anything changes."""

    def pre_release(self, state: ReleaseState) -> Diagnosis | None: ...
    def started(self, state: ReleaseState) -> None: ...
    def phase_ended(self, state: ReleaseState, result: PhaseResult) -> None: ...
    def finished(self, state: ReleaseState) -> None: ...
    def notes(self) -> tuple[str, ...]: ...


class Quiet:
    """No notifications configured."""

    def pre_release(self, state: ReleaseState) -> Diagnosis | None:
        return None

    def started(self, state: ReleaseState) -> None:
        pass

    def phase_ended(self, state: ReleaseState, result: PhaseResult) -> None:
        pass

    def finished(self, state: ReleaseState) -> None:
        pass

    def notes(self) -> tuple[str, ...]:
        return ()


class Observer(Protocol):
    def phase_started(self, phase: Phase) -> None: ...
    def phase_ended(self, result: PhaseResult) -> None: ...


class Silent:
    def phase_started(self, phase: Phase) -> None:
        pass

    def phase_ended(self, result: PhaseResult) -> None:
        pass


@dataclasses.dataclass(frozen=True)
class Ports:
    records: Records
    lease: Lease
    planner: Planner
    database: Database
    cluster: Cluster
    gates: Gates
    git: GitRevert
    notify: Notify = dataclasses.field(default_factory=Quiet)
