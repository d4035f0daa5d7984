"""Pending is per database: a version counts as applied only in its own database's schema_migrations."""

from __future__ import annotations

import types

from shipit.db.migration_state import unplanned_versions
from shipit.release.state import PlanFacts


def _facts(*migrations: tuple[str, str]) -> PlanFacts:
    plan = types.SimpleNamespace(migrations=tuple(types.SimpleNamespace(version=v, database=d) for v, d in migrations),
                                 databases=tuple(dict.fromkeys(d for _, d in migrations)))
    return PlanFacts("a" * 40, "b" * 40, True, pre_deploy=tuple(v for v, _ in migrations), plan=plan)


def test_a_version_is_applied_only_in_its_own_databases_schema_migrations():
    facts = _facts(("20240101000001", "primary"), ("20240101000002", "queue"))
    assert facts.database_of("20240101000002") == "queue" and facts.database_of("20990101000000") == "primary"
    assert facts.databases_of(("20240101000002", "20240101000001", "20240101000003")) == ("queue", "primary")
    # the queue's version recorded in the primary's table does not make it applied
    applied = {"primary": frozenset({"20240101000002"}), "queue": frozenset()}
    assert facts.pending(facts.pre_deploy, applied) == ("20240101000001", "20240101000002")
    applied = {"primary": frozenset({"20240101000001"}), "queue": frozenset({"20240101000002"})}
    assert facts.pending(facts.pre_deploy, applied) == ()
    assert facts.pending(facts.pre_deploy, {"primary": frozenset({"20240101000001"})}) == ("20240101000002",)


def test_facts_without_a_plan_speak_for_the_primary():
    facts = PlanFacts("a" * 40, "b" * 40, True, pre_deploy=("1",))
    assert facts.database_of("1") == "primary" and facts.pending(("1",), {"primary": frozenset({"1"})}) == ()


def test_versions_the_job_applied_unplanned_are_found_in_any_database():
    before = {"primary": frozenset({"1"}), "queue": frozenset({"2"})}
    after = {"primary": frozenset({"1", "3"}), "queue": frozenset({"2", "4", "5"})}
    found = unplanned_versions(before, after, ("3", "4"), to_sha="c" * 40)
    assert found is not None and found.versions == ("5",)
    assert unplanned_versions(before, after, ("3", "4", "5"), to_sha="c" * 40) is None


def test_a_release_over_two_databases_checks_each_versions_own_database():
    from shipit.release.orchestrator import Release
    from shipit.release.phases import Phase
    from tests.unit.release.fakes import FakeEdges, make_config

    facts = _facts(("20240101000001", "primary"), ("20240101000002", "queue"))
    edges = FakeEdges(facts=facts)
    state = Release(make_config(), edges.ports(), user="tester").run(from_ref="x")
    assert state.exit_code == 0, state.diagnosis
    assert state.phase(Phase.WAIT_DDL).message == "schema ready on every server of databases primary, queue"
    assert edges.calls[[c[0] for c in edges.calls].index("migrate")][2] == ("20240101000001", "20240101000002")

    # the queue's version recorded only in the primary's table: still pending, and the Job must apply it
    edges = FakeEdges(facts=facts, applied={"primary:20240101000001", "primary:20240101000002"}, job_applies=False)
    state = Release(make_config(), edges.ports(), user="tester").run(from_ref="x")
    assert state.exit_code == 1, state.diagnosis
    assert state.diagnosis.what.endswith("did not apply 20240101000002 (database queue)"), state.diagnosis
