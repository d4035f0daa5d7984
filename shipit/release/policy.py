"""The failure policy: what a failure means for the release, and what the person reads about it.

Pure, and apart from all I/O, because it is the promise shipit makes to the people on call: which failures leave
everything as it was (exit 1), which need a person (exit 2), when the code is reverted, and the did/next text.
"""

from __future__ import annotations

import dataclasses

from shipit.core.errors import ExitCode
from shipit.release.phases import CODE_PHASES, Phase, ReleaseStatus


@dataclasses.dataclass(frozen=True)
class Verdict:
    status: ReleaseStatus
    exit_code: ExitCode
    revert: bool  # run the automatic revert of the code


def on_failure(phase: Phase, *, applied: bool, automatic_revert: bool, code_unchanged: bool = False) -> Verdict:
    """What a failure in `phase` means, before any revert ran.

    `applied`: the failing phase left part of its work in place (a migration applied some statements, a DDL is still
    running). Pre-deploy migrations that fully applied are additive by classification, so the previous code is
    compatible with them and stopping afterwards is still a safe stop. `code_unchanged`: the code phase failed before
    any Deployment changed (every one still runs the previous image), so there is nothing to revert.
    """
    if phase in CODE_PHASES and code_unchanged:
        return Verdict(ReleaseStatus.FAILED, ExitCode.FAILED_SAFELY, revert=False)
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


def failure_actions(phase: Phase, verdict: Verdict, *, applied: bool, image_before: str | None) -> tuple[str, str]:
    """What shipit did and what the person should do next, after a failure in `phase` and its revert if any."""
    if phase in CODE_PHASES and verdict.revert:
        if verdict.status is ReleaseStatus.REVERTED:
            return (
                f"rolled the workloads back to the previous templates ({image_before}); they are healthy",
                "fix the code, build a new image and release again",
            )
        return (
            "tried to roll the workloads back, but the revert did not finish",
            "check the workloads now (`shipit status`, `kubectl get pods`); run `shipit rollback` once the cause is clear",
        )
    if phase in CODE_PHASES and verdict.status is ReleaseStatus.FAILED:
        return (f"stopped; no Deployment changed, they all still run {image_before}",
                "fix the cause above, then release again")
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


def lock_lost_actions(phase: Phase, verdict: Verdict, *, code_started: bool) -> tuple[str, str]:
    """What a run whose lease was taken over did (stopped, no revert) and what the person does next."""
    if verdict.exit_code is ExitCode.NEEDS_PERSON:
        where = ("new code may be serving" if code_started else
                 "the schema change is not ready everywhere" if phase is Phase.WAIT_DDL else "a migration is partly applied")
        return (
            f"stopped at once without a revert ({where}): the lock's new holder may be changing the cluster",
            "agree with the lock's holder who continues; check the workloads and `shipit status`, then "
            "`shipit rollback` or release again",
        )
    return ("stopped before the code rollout; this run changes nothing more",
            "wait for the lock's holder to finish (`shipit status`), then release again")


def lock_lost_what(holder: str, phase: Phase, *, during: bool, run: str = "run") -> str:
    return f"the release lock was taken over by {holder}; this {run} stopped {'during' if during else 'before'} " \
           f"{phase.title.lower()}"


LOCK_LOST_WHY = ("another run holds the release lease now (this run's lease expired or was removed with "
                 "`shipit unlock --force`), so this run must not change the cluster any more")


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


def applied_migrations_notes(facts, *, migrate_succeeded: bool, failed: Phase, origin: str) -> list[str]:
    """The notes on a failed release's pre-deploy migrations: they stay applied once its migrate phase succeeded."""
    if not migrate_succeeded or failed is Phase.MIGRATE:
        return []
    manual = {entry.split(" ", 1)[0] for entry in facts.manual}  # "version name: reason"
    names = {m.get("version"): m.get("name", "") for m in facts.summary.get("migrations") or ()}
    applied = [{"version": v, "name": names.get(v, ""), "phase": "manual" if v in manual else "pre_deploy"}
               for v in facts.pre_deploy]
    return migrations_staying(applied, origin=origin, code="the previous code")
