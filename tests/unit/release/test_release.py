"""The release state machine (phase order and failure policy) over an in-memory fake of its ports."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from shipit.core.errors import BadInput, ExitCode, ShipitError
from shipit.release.orchestrator import Release
from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus, resume_from
from shipit.release.policy import after_revert, on_failure
from shipit.release.rollback import Rollback, rollback_target
from shipit.release.state import PlanFacts
from shipit.release.diagnosis import Diagnosis
from shipit.release.ports import PartialState
from tests.unit.release.fakes import FakeEdges, diag, make_config


class Crash(BaseException):
    """Stands in for kill -9: nothing in the orchestrator may catch it."""


def release(edges, **kw):
    cfg = kw.pop("cfg", None) or make_config()
    return Release(cfg, edges.ports(), user="tester", **kw)


def statuses(state):
    return {r.phase: r.status for r in state.phases}


def test_happy_path_runs_phases_in_order_and_records_success():
    edges = FakeEdges(facts=PlanFacts("a" * 40, "b" * 40, True, pre_deploy=("1",), post_deploy=("2",)))
    state = release(edges).run(from_ref="main~1")
    assert edges.names() == [
        "plan", "check_code", "acquire_lock", "preflight", "migrate", "wait_ddl", "gates", "rollout", "bake", "migrate",
        "release_lock",
    ]
    assert edges.calls[4][1:] == ("registry.example/shop:" + "b" * 40, ("1",), False)
    assert edges.calls[9][2:] == (("2",), True)
    assert state.status is ReleaseStatus.SUCCEEDED and state.exit_code == 0
    assert [r.phase for r in state.phases] == [
        Phase.PLAN, Phase.LOCK, Phase.PREFLIGHT, Phase.MIGRATE, Phase.WAIT_DDL, Phase.GATES, Phase.CODE,
        Phase.VERIFY, Phase.POST_DEPLOY, Phase.RECORD,
    ]
    assert all(r.status is PhaseStatus.SUCCEEDED for r in state.phases)
    assert state.templates_before == ("web-template-v1", "worker-template-v1")
    assert state.image_before == "registry.example/shop:old"
    assert [u.server for u in state.usual_load] == ["primary (baseline 1)"]  # the pre-release load, for a later diagnosis
    assert edges.records == [state] and not edges.lock_held_by_us


def test_default_from_is_the_last_successful_release_and_first_release_needs_from():
    edges = FakeEdges()
    with pytest.raises(BadInput, match="--from"):
        release(edges).run()
    first = release(edges).run(from_ref="x")
    release(edges).run()
    assert [c for c in edges.calls if c[0] == "plan"] == [("plan", "x", "HEAD", False), ("plan", first.to_sha, "HEAD", False)]
    assert [r.id for r in edges.records] == ["r0001", "r0002"]


def test_preflight_failure_changes_nothing_and_exits_1():
    edges = FakeEdges(fail={"preflight": diag("3 orphaned rows in orders.customer_id")})
    state = release(edges).run(from_ref="x")
    assert "migrate" not in edges.names() and "rollout" not in edges.names() and "restore" not in edges.names()
    assert state.status is ReleaseStatus.FAILED and state.exit_code == ExitCode.FAILED_SAFELY
    assert state.diagnosis.what == "3 orphaned rows in orders.customer_id"
    assert "nothing was changed" in state.diagnosis.did
    assert statuses(state)[Phase.PREFLIGHT] is PhaseStatus.FAILED
    assert not edges.lock_held_by_us


def test_job_exiting_0_without_applying_fails_before_code():
    """The outage's failure mode: a Job that exits 0 without applying the migrations."""
    edges = FakeEdges(job_applies=False)
    state = release(edges).run(from_ref="x")
    assert "rollout" not in edges.names() and "wait_ddl" not in edges.names()
    assert state.exit_code == ExitCode.FAILED_SAFELY
    assert "exited 0 but did not apply 20240101000000" in state.diagnosis.what
    assert "schema_migrations" in state.diagnosis.why


def test_partly_applied_migration_needs_a_person():
    edges = FakeEdges(
        fail={"migrate": diag("migration Job failed: exit code 1")},
        partial=PartialState(True, ("applied: index index_orders_on_customer_id", "not applied: fk_rails_0123456789")),
    )
    state = release(edges).run(from_ref="x")
    assert state.status is ReleaseStatus.NEEDS_ATTENTION and state.exit_code == ExitCode.NEEDS_PERSON
    assert "not applied: fk_rails_0123456789" in state.diagnosis.details
    assert "rollout" not in edges.names() and "restore" not in edges.names()
    assert "part of the migration is applied" in state.diagnosis.did


def test_rollout_failure_reverts_and_exits_1_with_migrations_note():
    edges = FakeEdges(fail={"rollout": diag("web: CrashLoopBackOff")})
    state = release(edges).run(from_ref="x")
    assert edges.names()[-2:] == ["restore", "release_lock"]
    assert edges.calls[-2] == ("restore", ("web-template-v1", "worker-template-v1"))
    assert state.status is ReleaseStatus.REVERTED and state.exit_code == ExitCode.FAILED_SAFELY
    assert statuses(state)[Phase.REVERT] is PhaseStatus.SUCCEEDED
    assert any("stays applied" in n and "20240101000000" in n for n in state.notes)
    assert "bake" not in edges.names()


def test_bake_failure_reverts():
    edges = FakeEdges(fail={"bake": diag("HTTP gate /healthz returned 500")})
    state = release(edges).run(from_ref="x")
    assert "restore" in edges.names() and state.status is ReleaseStatus.REVERTED and state.exit_code == 1


def test_failed_revert_needs_a_person():
    edges = FakeEdges(fail={"rollout": diag("web: ImagePullBackOff"), "restore": diag("web did not become healthy")})
    state = release(edges).run(from_ref="x")
    assert state.status is ReleaseStatus.NEEDS_ATTENTION and state.exit_code == ExitCode.NEEDS_PERSON
    assert "revert failed: web did not become healthy" in state.diagnosis.details
    assert statuses(state)[Phase.REVERT] is PhaseStatus.FAILED


def test_without_automatic_rollback_the_code_stays_and_a_person_decides():
    edges = FakeEdges(fail={"rollout": diag("web: CrashLoopBackOff")})
    state = release(edges, cfg=make_config(automatic=False)).run(from_ref="x")
    assert "restore" not in edges.names() and state.exit_code == ExitCode.NEEDS_PERSON


def test_git_revert_runs_after_the_cluster_revert_and_its_failure_needs_a_person():
    edges = FakeEdges(fail={"bake": diag("pile-up")})
    state = release(edges, cfg=make_config(git_revert="branch")).run(from_ref="x")
    assert edges.names()[-3:] == ["restore", "git_revert", "release_lock"]
    assert "pushed shipit/revert-r0001" in state.notes and state.exit_code == 1
    edges = FakeEdges(fail={"bake": diag("pile-up"), "git_revert": Diagnosis("git revert failed", "push rejected")})
    state = release(edges, cfg=make_config(git_revert="push")).run(from_ref="x")
    assert state.exit_code == ExitCode.NEEDS_PERSON and "git revert failed: push rejected" in state.notes


def test_lock_held_exits_4_and_records_nothing():
    edges = FakeEdges(lock_holder="alice@ci")
    with pytest.raises(ShipitError) as e:
        release(edges).run(from_ref="x")
    assert e.value.exit_code == ExitCode.LOCKED and edges.records == []
    assert "preflight" not in edges.names()


def test_manual_migrations_stop_unless_yes():
    facts = PlanFacts("a" * 40, "b" * 40, True, pre_deploy=("1",), manual=("1 raw_sql: execute of raw SQL",))
    edges = FakeEdges(facts=facts)
    with pytest.raises(ShipitError, match="--yes") as e:
        release(edges).run(from_ref="x")
    assert e.value.exit_code == ExitCode.FAILED_SAFELY and "acquire_lock" not in edges.names()
    assert release(edges).run(from_ref="x", yes=True).status is ReleaseStatus.SUCCEEDED
    # accepted manual migrations are planned into the pre-deploy Job, not silently left out
    assert [c for c in edges.calls if c[0] == "plan"][-1][-1] is True


def test_deployments_already_on_the_target_image_skip_rollout_and_bake():
    edges = FakeEdges(facts=PlanFacts("a" * 40, "b" * 40, False, pre_deploy=("1",)),
                      serving="registry.example/shop:" + "b" * 40)
    state = release(edges).run(from_ref="x")
    assert "rollout" not in edges.names() and "bake" not in edges.names()
    assert statuses(state)[Phase.CODE] is PhaseStatus.SKIPPED and state.exit_code == 0
    assert state.serving == {"web": {"web": "registry.example/shop:" + "b" * 40},
                             "worker": {"web": "registry.example/shop:" + "b" * 40}}


def test_a_migration_only_commit_still_rolls_out_when_the_deployments_run_an_older_image():
    """git says no code changed, but the cluster runs another image: the record must not claim the target serves."""
    edges = FakeEdges(facts=PlanFacts("a" * 40, "b" * 40, False, pre_deploy=("1",)))
    state = release(edges).run(from_ref="x")
    assert "rollout" in edges.names() and "bake" in edges.names() and state.exit_code == 0
    assert statuses(state)[Phase.CODE] is PhaseStatus.SUCCEEDED
    assert {i for d in state.serving.values() for i in d.values()} == {"registry.example/shop:" + "b" * 40}


def test_already_applied_migrations_are_skipped():
    edges = FakeEdges(applied={"20240101000000"})
    state = release(edges).run(from_ref="x")
    assert "migrate" not in edges.names() and statuses(state)[Phase.MIGRATE] is PhaseStatus.SKIPPED


def test_a_rollout_refused_before_any_deployment_changed_is_a_clean_stop_without_a_revert():
    edges = FakeEdges(fail={"rollout": ShipitError("Kubernetes API: 503 Service Unavailable")}, rollout_patches=False)
    state = release(edges).run(from_ref="x")
    assert "restore" not in edges.names()
    assert (state.status, state.exit_code) == (ReleaseStatus.FAILED, 1)
    assert state.diagnosis.did == "stopped; no Deployment changed, they all still run registry.example/shop:old"


def test_edge_exception_in_code_phase_still_reverts():
    edges = FakeEdges(fail={"rollout": ShipitError("Kubernetes API unreachable after 5 attempts")})
    state = release(edges).run(from_ref="x")
    assert "restore" in edges.names() and state.status is ReleaseStatus.REVERTED
    assert "unreachable" in state.diagnosis.why


def test_cancel_between_phases_stops_cleanly():
    edges = FakeEdges()
    r = release(edges)
    edges.on_call["migrate"] = r.cancel.set
    state = r.run(from_ref="x")
    assert "wait_ddl" not in edges.names() and not edges.lock_held_by_us
    assert state.diagnosis.what.startswith("interrupted before wait for ddl")
    assert statuses(state)[Phase.WAIT_DDL] is PhaseStatus.FAILED


def test_cancel_during_rollout_reverts():
    edges = FakeEdges()
    r = release(edges)

    def interrupt():
        r.cancel.set()
        edges.fail["rollout"] = diag("rollout cancelled")

    edges.on_call["rollout"] = interrupt
    state = r.run(from_ref="x")
    assert "restore" in edges.names() and state.status is ReleaseStatus.REVERTED
    # the diagnosis leads with the interruption, and keeps what the edge saw as the why
    assert state.diagnosis.what == "interrupted during code rollout (SIGINT or SIGTERM)"
    assert "rollout cancelled" in state.diagnosis.why


def crash_in(edges, name):
    def boom():
        raise Crash()

    edges.on_call[name] = boom


@pytest.mark.parametrize("crash_at", ["wait_ddl", "rollout"])
def test_resume_after_crash_continues_from_the_unfinished_phase(crash_at):
    edges = FakeEdges()
    crash_in(edges, crash_at)
    with pytest.raises(Crash):
        release(edges).run(from_ref="x")
    crashed = edges.latest()
    assert crashed.status is ReleaseStatus.RUNNING
    assert statuses(crashed)[Phase.MIGRATE] is PhaseStatus.SUCCEEDED
    del edges.on_call[crash_at]
    edges.calls.clear()
    state = release(edges).resume()
    assert "migrate" not in edges.names() and "preflight" not in edges.names()
    assert crash_at in edges.names() and edges.names()[-1] == "release_lock"
    assert ("plan", crashed.from_sha, crashed.to_sha, True) in edges.calls
    assert state.id == crashed.id and state.status is ReleaseStatus.SUCCEEDED
    assert state.templates_before == crashed.templates_before
    assert any("resumed" in n for n in state.notes)


def test_the_baseline_travels_from_preflight_to_the_gates_and_a_resumed_run_takes_its_own():
    edges = FakeEdges()
    release(edges).run(from_ref="x")
    assert edges.baselines_taken == 1 and edges.gated_with == ["baseline 1", "baseline 1"]
    edges = FakeEdges()
    crash_in(edges, "gates")
    with pytest.raises(Crash):
        release(edges).run(from_ref="x")
    del edges.on_call["gates"]
    edges.gated_with.clear()
    edges.calls.clear()
    state = release(edges).resume()  # a new process: nothing of the crashed run's preflight is in memory
    assert state.status is ReleaseStatus.SUCCEEDED and "preflight" not in edges.names()
    assert edges.baselines_taken == 2 and edges.gated_with == ["baseline 2", "baseline 2"]


def test_resume_refuses_when_nothing_is_running():
    edges = FakeEdges()
    with pytest.raises(BadInput, match="nothing to resume"):
        release(edges).resume()
    release(edges).run(from_ref="x")
    with pytest.raises(BadInput, match="is succeeded"):
        release(edges).resume()


def test_post_deploy_failure_does_not_revert_the_verified_code():
    edges = FakeEdges(facts=PlanFacts("a" * 40, "b" * 40, True, post_deploy=("9",)), fail={})
    edges.on_call["bake"] = lambda: edges.fail.update(migrate=diag("remove_column failed"))
    state = release(edges).run(from_ref="x")
    assert "restore" not in edges.names() and state.exit_code == ExitCode.FAILED_SAFELY
    assert "new code stays deployed" in state.diagnosis.did


# --- pure policy -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phase,applied,automatic,expected",
    [
        (Phase.PREFLIGHT, False, True, (ReleaseStatus.FAILED, 1, False)),
        (Phase.MIGRATE, False, True, (ReleaseStatus.FAILED, 1, False)),
        (Phase.MIGRATE, True, True, (ReleaseStatus.NEEDS_ATTENTION, 2, False)),
        (Phase.WAIT_DDL, True, True, (ReleaseStatus.NEEDS_ATTENTION, 2, False)),
        (Phase.GATES, False, True, (ReleaseStatus.FAILED, 1, False)),
        (Phase.CODE, False, True, (ReleaseStatus.REVERTED, 1, True)),
        (Phase.VERIFY, False, True, (ReleaseStatus.REVERTED, 1, True)),
        (Phase.CODE, False, False, (ReleaseStatus.NEEDS_ATTENTION, 2, False)),
        (Phase.POST_DEPLOY, True, True, (ReleaseStatus.NEEDS_ATTENTION, 2, False)),
    ],
)
def test_failure_policy(phase, applied, automatic, expected):
    v = on_failure(phase, applied=applied, automatic_revert=automatic)
    assert (v.status, int(v.exit_code), v.revert) == expected


def test_after_revert():
    v = on_failure(Phase.CODE, applied=False, automatic_revert=True)
    assert after_revert(v, revert_ok=True).exit_code == 1
    assert after_revert(v, revert_ok=False).exit_code == 2
    assert after_revert(v, revert_ok=True, git_revert_ok=False).status is ReleaseStatus.NEEDS_ATTENTION


def test_resume_from_skips_finished_and_skipped_phases():
    done = lambda p, s=PhaseStatus.SUCCEEDED: PhaseResult(p, s)  # noqa: E731
    assert resume_from((done(Phase.PLAN), done(Phase.LOCK))) is Phase.PREFLIGHT
    assert resume_from(
        (done(Phase.PREFLIGHT), done(Phase.MIGRATE, PhaseStatus.SKIPPED), done(Phase.WAIT_DDL),
         done(Phase.GATES), done(Phase.CODE, PhaseStatus.RUNNING))
    ) is Phase.CODE


# --- rollback ----------------------------------------------------------------------------------------------------------


def three_releases():
    """r0001..r0003 succeeded, each recording the templates it found (v0, v1, v2) before changing anything."""
    edges = FakeEdges()
    for n in range(3):
        edges.current_templates = lambda n=n: (f"web-v{n}",)
        edges.facts = PlanFacts(f"{n}" * 40, f"{n + 1}" * 40, True, pre_deploy=(f"2024000{n}",))
        release(edges).run(from_ref="x")
    edges.current_templates = lambda: ("web-v3",)
    edges.calls.clear()
    return edges


def test_rollback_restores_the_previous_release_and_marks_the_replaced_one():
    edges = three_releases()
    state = Rollback(make_config(), edges.ports(), user="tester").run()
    assert ("restore", ("web-v2",)) in edges.calls  # r0003 recorded v2 = what r0002 left serving
    assert state.status is ReleaseStatus.SUCCEEDED and state.id == "r0004" and state.to_sha == "2" * 40
    assert state.plan_summary == {"rollback_to": "r0002"} and state.templates_before == ("web-v3",)
    assert [r.status for r in edges.records] == [ReleaseStatus.SUCCEEDED] * 2 + [
        ReleaseStatus.ROLLED_BACK, ReleaseStatus.SUCCEEDED]
    assert edges.last_successful().id == "r0004" and not edges.lock_held_by_us


def test_rollback_to_a_named_release():
    edges = three_releases()
    Rollback(make_config(), edges.ports(), user="t").run(to="r0001")
    assert ("restore", ("web-v1",)) in edges.calls
    assert [r.status for r in edges.records[1:3]] == [ReleaseStatus.ROLLED_BACK] * 2


def test_rollback_target_errors_are_bad_input():
    edges = FakeEdges()
    release(edges).run(from_ref="x")
    with pytest.raises(BadInput, match="no previous successful release"):
        rollback_target(edges.history(), None)
    with pytest.raises(BadInput, match="--to r0009"):
        rollback_target(edges.history(), "r0009")
    with pytest.raises(BadInput, match="nothing to roll back"):
        rollback_target(edges.history(), "r0001")


def test_failed_rollback_needs_a_person():
    edges = three_releases()
    edges.fail["restore"] = diag("web did not become healthy")
    state = Rollback(make_config(), edges.ports(), user="t").run()
    assert state.exit_code == ExitCode.NEEDS_PERSON and edges.records[2].status is ReleaseStatus.SUCCEEDED


def test_a_preflight_note_is_said_in_the_message_and_kept_on_the_record_without_stopping():
    note = "index build progress will not be shown on primary: performance_schema off; to enable it: ..."
    state = release(FakeEdges(preflight_notes=(note,))).run(from_ref="x")
    assert state.status is ReleaseStatus.SUCCEEDED
    assert state.phase(Phase.PREFLIGHT).message.endswith("; " + note) and note in state.notes


# --- the boot-time stop, through the real planner over a real git repository ---------------------------------------

BOOT_COMMAND = "sh -c 'bin/rails db:migrate && exec bundle exec puma'"


def boot_app(tmp_path, *, entrypoint: bool):
    """A git repository whose last commit adds a post-deploy migration (and, with `entrypoint`, an image that runs
    db:prepare from bin/docker-entrypoint): (path, from sha)."""
    import git

    from tests.unit.planning.conftest import AppRepo, migration

    app = AppRepo(tmp_path, git.Repo.init(tmp_path, initial_branch="main"))
    files = {"db/migrate/20230101000000_create_users.rb": migration("CreateUsers", "create_table :users do |t|\nend")}
    if entrypoint:
        files["bin/docker-entrypoint"] = ('#!/bin/bash -e\nif [ "${@: -2:1}" == "./bin/rails" ]; then\n'
                                          '  ./bin/rails db:prepare\nfi\nexec "${@}"\n')
    base = app.commit(files, "initial")
    app.commit({"db/post_migrate/20240301000001_drop_legacy_events.rb": migration(
        "DropLegacyEvents", "drop_table :legacy_events")}, "drop legacy events after the code")
    return tmp_path, base


@pytest.mark.parametrize("where", ["the Deployment's command/args", "bin/docker-entrypoint"])
def test_an_image_that_migrates_at_boot_stops_the_release_before_anything_changes(tmp_path, where):
    from shipit.adapters.planner import GitPlanner

    repo, base = boot_app(tmp_path, entrypoint=where == "bin/docker-entrypoint")
    edges = FakeEdges(boot=(BOOT_COMMAND,) if where.startswith("the Deployment") else ())
    cfg = dataclasses.replace(make_config(), repo=repo)
    ports = dataclasses.replace(edges.ports(), planner=GitPlanner(cfg, applied=edges.applied_versions,
                                                                 deployments=edges.boot_commands))
    with pytest.raises(ShipitError) as stopped:
        Release(cfg, ports, user="tester").run(from_ref=base, yes=True)
    assert stopped.value.exit_code == ExitCode.FAILED_SAFELY == 1
    message = str(stopped.value)
    assert message.startswith("release stopped before anything changed: the app migrates at boot (")
    assert where in message and "20240301000001" in message
    assert "SHIPIT_MANAGED_MIGRATIONS=1` in the Deployment's env" in message  # the fix is named
    assert edges.names() == ["boot_commands", "check_code"]  # read only: no lock, no Job, no patch
    assert not edges.lock_held_by_us and edges.records == []
    assert edges.serving == "registry.example/shop:old"


def test_a_deployment_that_sets_the_guard_releases_past_the_boot_check(tmp_path):
    """The same image and migration, with the guard variable set on the Deployment: no stop, the lock is taken."""
    import git

    from shipit.adapters.planner import GitPlanner
    from tests.unit.planning.conftest import AppRepo

    repo, base = boot_app(tmp_path, entrypoint=True)
    AppRepo(repo, git.Repo(repo)).commit({"bin/docker-entrypoint": (
        '#!/bin/bash -e\nif [ -z "$SHIPIT_MANAGED_MIGRATIONS" ]; then\n  ./bin/rails db:prepare\nfi\nexec "${@}"\n')})
    edges = FakeEdges(boot_env=frozenset({"SHIPIT_MANAGED_MIGRATIONS"}))
    cfg = dataclasses.replace(make_config(), repo=repo)
    ports = dataclasses.replace(edges.ports(), planner=GitPlanner(cfg, applied=edges.applied_versions,
                                                                 deployments=edges.boot_commands))
    state = Release(cfg, ports, user="tester").run(from_ref=base, yes=True)
    assert "acquire_lock" in edges.names() and state.status is ReleaseStatus.SUCCEEDED, state.diagnosis


def test_a_rollback_whose_record_lacks_a_configured_workload_is_bad_input_before_anything_changes():
    edges = three_releases()
    edges.unrecorded_workloads = ("StatefulSet/mailer",)
    with pytest.raises(BadInput) as e:
        Rollback(make_config(), edges.ports(), user="t").run()
    assert str(e.value).startswith("r0003's record holds no template of StatefulSet/mailer")
    assert "cannot tell what StatefulSet/mailer ran at r0002. Nothing was changed" in str(e.value)
    assert not any(c[0] == "restore" for c in edges.calls) and len(edges.records) == 3 and not edges.lock_held_by_us


def test_the_baseline_is_sampled_while_the_preflight_checks_run():
    """Its samples are spaced in time; run one after the other, those pauses would add to every release."""
    sampling, overlapped = threading.Event(), []

    class Overlapping(FakeEdges):
        def preflight(self, facts):
            overlapped.append(sampling.wait(2))  # one after the other, the sampling would start only after this
            return super().preflight(facts)

        def baseline(self):
            sampling.set()
            return super().baseline()

    edges = Overlapping()
    state = release(edges).run(from_ref="x")
    assert state.status is ReleaseStatus.SUCCEEDED and overlapped == [True]
    assert edges.gated_with == ["baseline 1", "baseline 1"]


def test_a_stopping_preflight_is_reported_even_when_the_baseline_fails_too():
    class NoBaseline(FakeEdges):
        def baseline(self):
            raise ShipitError("database unreachable while sampling")

    edges = NoBaseline(fail={"preflight": Diagnosis("orphans", "3 orphaned rows")})
    state = release(edges).run(from_ref="x")
    assert state.status is ReleaseStatus.FAILED and state.diagnosis.what == "orphans"
    assert "migrate" not in edges.names()
