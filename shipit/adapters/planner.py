"""The planner port: the git range's plan (`planning.plan`), as the facts the orchestrator works from."""

from __future__ import annotations

import dataclasses

from shipit.core.config import Config
from shipit.core.errors import BadInput
from shipit.core.log import get_logger
from shipit.db.databases import unconfigured, unconfigured_message, unreached_note
from shipit.release.state import PlanFacts

log = get_logger("shipit.release")


def plan_facts(plan, *, accept_manual: bool = False) -> PlanFacts:
    """Manual migrations accepted with --yes run too (else nobody, or the next `db:migrate` unannounced, would apply
    them): before the code, except those in db/post_migrate, which stay after it."""
    boot = plan.boot
    return PlanFacts(
        from_sha=plan.from_sha,
        to_sha=plan.to_sha,
        code_changed=plan.code_changed,
        pre_deploy=tuple(m.version for m in plan.before_code(accept_manual=accept_manual)),
        post_deploy=tuple(m.version for m in plan.after_code(accept_manual=accept_manual)),
        manual=tuple(f"{m.version} {m.name}: {m.reason}" for m in plan.manual),
        boot_stop=boot.message if boot is not None and boot.stop else "",
        notes=plan.warnings,
        summary={
            "from": plan.from_sha,
            "to": plan.to_sha,
            "code_changed": plan.code_changed,
            "phases": list(plan.phases),
            "migrations": [{"version": m.version, "name": m.name, "phase": m.phase.value} for m in plan.migrations],
        },
        plan=plan,
    )


def migrations(facts: PlanFacts, versions: tuple[str, ...]) -> tuple:
    """The plan's migrations with these versions, in the order given."""
    by_version = {m.version: m for m in facts.plan.migrations}
    return tuple(by_version[v] for v in versions)


class GitPlanner:
    """Plans from git, with what the database has applied (pending is what it lacks) and what the Deployments run
    at boot (an image that migrates when it starts would apply what the plan holds back)."""

    def __init__(self, cfg: Config, *, applied=None, deployments=None):
        self.cfg = cfg
        self.applied = applied  # () -> each database's applied versions by name; raises when one cannot be read
        self.deployments = deployments  # () -> (commands, env names) of the configured Deployments' containers

    def plan(self, from_ref: str, to_ref: str, *, accept_manual: bool = False) -> PlanFacts:
        from shipit.core.errors import ShipitError
        from shipit.planning.plan import build_plan

        applied = None
        if self.applied is not None:
            try:
                applied = self.applied()
            except ShipitError as e:  # planned from git alone, as without a database
                log.warning("database not readable for the plan: pending migrations are those absent at --from",
                            error=str(e))
        commands, env = self.deployments() if self.deployments is not None else ((), frozenset())
        plan = build_plan(self.cfg.repo, from_ref, to_ref, applied=applied, extra_paths=self.cfg.migration.paths,
                          deployment_commands=commands, deployment_env=env)
        check_databases(plan, self.cfg)
        facts = plan_facts(plan, accept_manual=accept_manual)
        note = unreached_note(plan.databases, self.cfg.database.names)
        return dataclasses.replace(facts, notes=facts.notes + (note,)) if note else facts


def check_databases(plan, cfg: Config) -> None:
    """Bad input before anything changes: a planned migration's database has no URL, so its data checks, schema
    wait and health gate would run nowhere (or against another database)."""
    missing = unconfigured(plan.migrations, cfg.database.names)
    if missing:
        raise BadInput(unconfigured_message(missing))
