"""The steps of a release after the lease is taken, one function per phase, in the module-level table `STEPS`.

A step reads what it needs from the run (config, plan facts, recorded state, health baseline), calls ports, and
returns the phase's message (or `Skip`). It reports a failure by raising `PhaseFailed`. A new check is one function
and one row in `STEPS` (a new phase also needs its place in `phases.ORDER`).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable

from shipit.core.errors import ShipitError
from shipit.db.migration_state import unplanned_versions
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.migration_command import pre_deploy_command
from shipit.kube.serving import decide_code
from shipit.release.phases import Phase, PhaseStatus
from shipit.release.ports import CodeContext, Lease
from shipit.release.state import PlanFacts

if TYPE_CHECKING:
    from shipit.release.orchestrator import Release


@dataclasses.dataclass(frozen=True)
class Skip:
    """A step with nothing to do: the phase is recorded as skipped with this message."""

    message: str


@dataclasses.dataclass(frozen=True)
class Done:
    """A gate phase's message and each gate's last reading, recorded on the phase."""

    message: str
    gates: tuple = ()


@dataclasses.dataclass(frozen=True)
class Step:
    phase: Phase
    run: Callable[[Release], str | Skip | Done]


def preflight(r: Release) -> str:
    # The baseline's samples are spaced in time: taken while the checks run, their pauses cost the release nothing.
    # Leaving the block waits for them, so no sampling outlives the phase, also when a check stopped the release.
    with ThreadPoolExecutor(1, thread_name_prefix="baseline") as pool:
        baseline = pool.submit(r.ports.database.baseline)
        stop = r.ports.notify.pre_release(r.state)  # a failing pre_release hook stops the release before any change
        if stop is not None:
            raise PhaseFailed(stop)
        cluster = r.ports.cluster
        # The templates are recorded before anything changes: they are what the automatic revert restores.
        r.recorder.save(dataclasses.replace(
            r.state, image_before=cluster.current_image(), templates_before=cluster.current_templates()
        ))
        report = r.ports.database.preflight(r.facts)
        problems = report.problems + tuple(cluster.unhealthy_workloads())
        if problems:
            raise PhaseFailed(Diagnosis(
                what="preflight stopped the release" + ("" if len(problems) == 1 else f" ({len(problems)} problems)"),
                why="; ".join(problems),
                details=report.details,
            ))
        r.baseline = baseline.result()
    r.recorder.save(dataclasses.replace(r.state, notes=r.state.notes + report.notes,
                                        usual_load=r.ports.database.usual_load(r.baseline)))
    return "; ".join((f"database, data and workloads ready; target image {r.state.image_after}",) + report.notes)


class UnlessLeaseLost:
    """The migration Job's cancel: a person's Ctrl-C deletes the Job, a lost lease does not. The lease's new holder
    may be a `--resume` of this release that adopted the running Job; deleting it would cut its migration short."""

    def __init__(self, cancel, lease: Lease) -> None:
        self.cancel, self.lease = cancel, lease

    def is_set(self) -> bool:
        return self.cancel.is_set() and self.lease.lock_lost() is None


def _migrate(r: Release, *, post_deploy: bool) -> str | Skip:
    versions = r.facts.post_deploy if post_deploy else r.facts.pre_deploy
    kind = "post-deploy" if post_deploy else "pre-deploy"
    if not versions:
        return Skip(f"no {kind} migrations")
    db = r.ports.database
    applied_before = db.applied_versions()  # one read: the lease keeps every other release's migrations out
    pending = r.facts.pending(versions, applied_before)
    if not pending:
        return Skip(f"all {len(versions)} {kind} migrations already applied")
    diagnosis, schema_before = None, None
    try:
        command = _command(r.cfg.migration.command, r.facts, pending, applied_before, post_deploy=post_deploy)
        schema_before = db.schema(r.facts, pending)  # what a failure's partial-state report compares removals with
        tool = r.ports.cluster.migrate(
            r.facts, image=r.state.image_after, job_id=f"{r.state.id}-post" if post_deploy else r.state.id,
            command=command, versions=pending, cancel=UnlessLeaseLost(r.cancel, r.ports.lease),
        )
    except PhaseFailed as failed:
        diagnosis = failed.diagnosis
    applied_after = db.applied_versions()
    unplanned = unplanned_versions(applied_before, applied_after, pending, to_sha=r.facts.to_sha)
    if unplanned is not None:  # the image does not match the commit: it carried migrations the plan never saw
        found = Diagnosis(unplanned.what(), unplanned.why(), next=unplanned.next_step())
        raise PhaseFailed(found.with_details(*((diagnosis.what,) if diagnosis else ())), applied=True)
    missing = r.facts.pending(pending, applied_after)
    if diagnosis is None and not missing:
        return f"applied {len(pending)} {kind} migration(s): {', '.join(pending)}" + (f"; {tool}" if tool else "")
    partial = db.partial_state(r.facts, pending, schema_before)
    if diagnosis is None:  # the outage's failure mode: "succeeded" without applying the migrations
        diagnosis = Diagnosis(
            what=f"the {kind} migration Job exited 0 but did not apply {', '.join(_named(r.facts, missing))}",
            why="the versions are missing from schema_migrations: wrong migration command, or the migrations "
            "are not in the image",
        )
    raise PhaseFailed(diagnosis.with_details(*partial.lines), applied=partial.applied)


def _named(facts: PlanFacts, versions: tuple[str, ...]) -> tuple[str, ...]:
    """Versions as a person reads them: another database's carry its name."""
    return tuple(v if facts.database_of(v) == "primary" else f"{v} (database {facts.database_of(v)})"
                 for v in versions)


def _command(command, facts: PlanFacts, pending, applied, *, post_deploy: bool) -> tuple[str, ...]:
    if post_deploy:
        return tuple(command)
    try:
        multi = facts.plan is not None and len(facts.plan.databases) > 1
        databases = {v: facts.database_of(v) for v in pending} if multi else None
        everywhere = frozenset(v for versions in applied.values() for v in versions)
        return pre_deploy_command(tuple(command), pending, facts.post_deploy, everywhere, databases=databases)
    except ShipitError as e:
        raise PhaseFailed(Diagnosis("the pre-deploy migrations cannot be run on their own", str(e))) from e


def migrate(r: Release) -> str | Skip:
    return _migrate(r, post_deploy=False)


def post_deploy(r: Release) -> str | Skip:
    return _migrate(r, post_deploy=True)


def wait_ddl(r: Release) -> str | Skip:
    if not r.facts.pre_deploy:
        return Skip("no schema changes to wait for")
    try:
        r.ports.database.wait_ddl(r.facts, timeout=r.cfg.gates.ddl_timeout, cancel=r.cancel)
    except PhaseFailed as failed:
        raise PhaseFailed(failed.diagnosis, applied=True) from failed
    names = r.facts.databases_of(r.facts.pre_deploy)
    if names == ("primary",):
        return "schema ready on the primary and every replica"
    return f"schema ready on every server of database{'s' * (len(names) > 1)} {', '.join(names)}"


def _baseline(r: Release):
    if r.baseline is None:  # resumed after preflight: take the baseline now
        r.baseline = r.ports.database.baseline()
    return r.baseline


def gates(r: Release) -> str | Skip | Done:
    readings = r.ports.gates.before_code(_baseline(r), since=r.state.started, cancel=r.cancel)
    return Done(f"{len(readings)} gate(s) passed", readings)


def code(r: Release) -> str | Skip:
    """Rolls out whenever the code changed or a Deployment's app containers are not on the target image (a hand-set
    image, a skipped or undone rollout); the record then says what the cluster runs, not what was meant. A changed
    code whose image already serves is still watched: a run stopped mid-rollout resumes here."""
    before = decide_code(r.ports.cluster.app_images(), r.state.image_after)
    if not before.to_roll and not r.facts.code_changed:
        r.recorder.save(dataclasses.replace(r.state, serving=before.serving))
        return Skip(before.skip_reason())
    r.ports.cluster.rollout(r.state.image_after, cancel=r.cancel, code=code_context(r),
                            on_applied=lambda record: r.recorder.save(dataclasses.replace(r.state, code=record)))
    after = decide_code(r.ports.cluster.app_images(), r.state.image_after)
    r.recorder.save(dataclasses.replace(r.state, serving=after.serving))
    return after.describe()


def code_context(r: Release) -> CodeContext:
    last = r.ports.records.last_successful()
    return CodeContext(r.state.id, r.state.to_sha, dict(r.state.code),
                       dict(last.code) if last is not None and last.id != r.state.id else {})


def verify(r: Release) -> str | Skip | Done:
    code = r.state.phase(Phase.CODE)
    if code is not None and code.status is PhaseStatus.SKIPPED:
        return Skip("nothing was rolled out")
    readings = r.ports.gates.bake(_baseline(r), r.cfg.gates.bake, since=r.state.started, cancel=r.cancel)
    return Done(f"healthy for {r.cfg.gates.bake:g}s", readings)


STEPS: tuple[Step, ...] = (
    Step(Phase.PREFLIGHT, preflight),
    Step(Phase.MIGRATE, migrate),
    Step(Phase.WAIT_DDL, wait_ddl),
    Step(Phase.GATES, gates),
    Step(Phase.CODE, code),
    Step(Phase.VERIFY, verify),
    Step(Phase.POST_DEPLOY, post_deploy),
)


def plan_message(facts: PlanFacts) -> str:
    parts = [f"{facts.from_sha[:7]}..{facts.to_sha[:7]}"]
    parts.append(f"{len(facts.pre_deploy)} pre-deploy, {len(facts.post_deploy)} post-deploy migration(s)")
    if facts.manual:
        parts.append(f"{len(facts.manual)} manual (accepted with --yes)")
    parts.append("code changed" if facts.code_changed else "no code change")
    return "; ".join(parts)
