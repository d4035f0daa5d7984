"""The planner port: the git range's plan (`planning.plan`), as the facts the orchestrator works from."""

from __future__ import annotations

from shipit.core.config import Config
from shipit.release.state import PlanFacts


def pre_deploy_migrations(plan, *, accept_manual: bool) -> tuple:
    """The migrations the pre-deploy Job runs: manual ones too once a person accepted them with --yes (they would
    otherwise be applied by nobody, or by the next `db:migrate` unannounced)."""
    chosen = plan.pre_deploy + (plan.manual if accept_manual else ())
    return tuple(sorted(chosen, key=lambda m: m.version))


def plan_facts(plan, *, accept_manual: bool = False) -> PlanFacts:
    return PlanFacts(
        from_sha=plan.from_sha,
        to_sha=plan.to_sha,
        code_changed=plan.code_changed,
        pre_deploy=tuple(m.version for m in pre_deploy_migrations(plan, accept_manual=accept_manual)),
        post_deploy=tuple(m.version for m in plan.post_deploy),
        manual=tuple(f"{m.version} {m.name}: {m.reason}" for m in plan.manual),
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
    def __init__(self, cfg: Config):
        self.cfg = cfg

    def plan(self, from_ref: str, to_ref: str, *, accept_manual: bool = False) -> PlanFacts:
        from shipit.planning.plan import build_plan

        return plan_facts(build_plan(self.cfg.repo, from_ref, to_ref), accept_manual=accept_manual)
