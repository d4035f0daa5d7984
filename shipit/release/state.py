"""What a release knows about itself: the plan's facts, and the state recorded after every phase transition."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipit.core.errors import ExitCode
from shipit.release.diagnosis import Diagnosis
from shipit.release.phases import Phase, PhaseResult, ReleaseStatus

if TYPE_CHECKING:
    from shipit.planning.plan import Plan


def release_id(sequence: int) -> str:
    """The one format of a release id: r0007."""
    return f"r{sequence:04d}"


@dataclasses.dataclass(frozen=True)
class PlanFacts:
    """What the orchestrator needs from the plan, and the full plan the database and cluster ports work from."""

    from_sha: str
    to_sha: str
    code_changed: bool
    pre_deploy: tuple[str, ...] = ()  # migration versions the pre-deploy Job applies (manual ones once accepted)
    post_deploy: tuple[str, ...] = ()
    manual: tuple[str, ...] = ()  # "version name: reason", one per migration that cannot be staged safely
    boot_stop: str = ""  # the image migrates at boot and would apply what the plan holds back: stop, and why
    notes: tuple[str, ...] = ()  # about the range itself (a --from off --to's history, edited old migrations)
    summary: dict = dataclasses.field(default_factory=dict)
    plan: Plan | None = dataclasses.field(default=None, compare=False, repr=False)

    def database_of(self, version: str) -> str:
        """The database a planned migration runs on (config/database.yml's name; `primary` when unknown)."""
        found = next((m for m in self.plan.migrations if m.version == version), None) if self.plan else None
        return found.database if found is not None else "primary"

    def databases_of(self, versions: tuple[str, ...]) -> tuple[str, ...]:
        """The databases these migrations run on, each once, in the versions' order."""
        return tuple(dict.fromkeys(self.database_of(v) for v in versions))

    def pending(self, versions: tuple[str, ...], applied: Mapping[str, frozenset[str]]) -> tuple[str, ...]:
        """Pure: the versions that their own database's schema_migrations (`applied`, by database) lacks."""
        return tuple(v for v in versions if v not in applied.get(self.database_of(v), frozenset()))


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
    templates_before: tuple[Any, ...] = ()  # opaque Deployment templates from the cluster port, restored on revert
    serving: dict = dataclasses.field(default_factory=dict)  # Deployment -> container -> image, read after the code
    code: dict = dataclasses.field(default_factory=dict)  # a code strategy's record: strategy, packed objects, revision
    plan_summary: dict = dataclasses.field(default_factory=dict)
    phases: tuple[PhaseResult, ...] = ()
    ended: float | None = None
    message: str = ""
    diagnosis: Diagnosis | None = None
    notes: tuple[str, ...] = ()
    usual_load: tuple[Any, ...] = ()  # db.health.UsualLoad per server before the release, for a later diagnosis
    exit_code: int = int(ExitCode.OK)

    def with_phase(self, result: PhaseResult) -> ReleaseState:
        kept = tuple(r for r in self.phases if r.phase is not result.phase)
        return dataclasses.replace(self, phases=kept + (result,))

    def phase(self, phase: Phase) -> PhaseResult | None:
        return next((r for r in self.phases if r.phase is phase), None)

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else max(0.0, self.ended - self.started)
