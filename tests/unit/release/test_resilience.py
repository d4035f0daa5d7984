"""Resuming a run killed while it handled a code-phase failure, a lost release lock (release and rollback), and the
migrations note after a revert (manual migrations are not additive)."""

from __future__ import annotations

import threading

import pytest

from shipit.core.errors import ExitCode
from shipit.release.orchestrator import Release
from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus, interrupted_failure, resume_from
from shipit.release.policy import migrations_staying, on_lock_lost
from shipit.release.rollback import Rollback
from shipit.release.state import PlanFacts
from tests.unit.release.fakes import FakeEdges, diag, make_config


class Crash(BaseException):
    """Stands in for kill -9: nothing in the orchestrator may catch it."""


def release(edges, **kw):
    cfg = kw.pop("cfg", None) or make_config()
    return Release(cfg, edges.ports(), user="tester", **kw)


def statuses(state):
    return {r.phase: r.status for r in state.phases}


def crash_on_save(edges, when):
    """Kill the run at the first record write for which `when(state)` holds (before that write lands)."""
    save = edges.save

    def saving(state):
        if when(state):
            edges.save = save
            raise Crash()
        save(state)

    edges.save = saving


def crash_in(edges, name):
    def boom():
        raise Crash()

    edges.on_call[name] = boom


def resume(edges, **kw):
    edges.calls.clear()
    return release(edges, **kw).resume()


# --- 1. resume after a crash while a code-phase failure was being handled ----------------------------------------------


def test_resume_after_a_crash_during_the_revert_finishes_the_revert():
    edges = FakeEdges(fail={"rollout": diag("web: CrashLoopBackOff")})
    crash_in(edges, "restore")
    with pytest.raises(Crash):
        release(edges).run(from_ref="x")
    crashed = edges.latest()
    assert crashed.status is ReleaseStatus.RUNNING and statuses(crashed)[Phase.REVERT] is PhaseStatus.RUNNING
    del edges.on_call["restore"]
    state = resume(edges)
    assert "rollout" not in edges.names() and "bake" not in edges.names()  # the failed code never goes out again
    assert ("restore", crashed.templates_before) in edges.calls and edges.names()[-1] == "release_lock"
    assert state.id == crashed.id and state.status is ReleaseStatus.REVERTED and state.exit_code == ExitCode.FAILED_SAFELY
    assert statuses(state)[Phase.REVERT] is PhaseStatus.SUCCEEDED and statuses(state)[Phase.CODE] is PhaseStatus.FAILED
    assert state.diagnosis.what == "web: CrashLoopBackOff" and "rolled the workloads back" in state.diagnosis.did
    assert any("finishing the failure of code rollout" in n for n in state.notes)
    assert not edges.lock_held_by_us



def test_resume_after_the_killed_revert_had_restored_the_templates_still_reports_the_revert():
    """The killed run's revert had already patched the templates back: the Deployments run the old image again, yet
    the new code did go out. Resume must finish the revert and say so, never "failed before changing anything"."""
    edges = FakeEdges(fail={"rollout": diag("web: CrashLoopBackOff")})
    edges.rollout_patches = True

    def restored_then_killed():
        edges.serving = edges.latest().image_before
        raise Crash()

    edges.on_call["restore"] = restored_then_killed
    with pytest.raises(Crash):
        release(edges).run(from_ref="x")
    del edges.on_call["restore"]
    state = resume(edges)
    assert any(name == "restore" for name, *_ in edges.calls), edges.calls
    assert state.status is ReleaseStatus.REVERTED and "rolled the workloads back" in state.diagnosis.did, state

def test_resume_whose_revert_fails_needs_a_person():
    edges = FakeEdges(fail={"bake": diag("HTTP gate /healthz returned 500")})
    crash_in(edges, "restore")
    with pytest.raises(Crash):
        release(edges).run(from_ref="x")
    del edges.on_call["restore"]
    edges.fail["restore"] = diag("web did not become healthy")
    state = resume(edges)
    assert state.status is ReleaseStatus.NEEDS_ATTENTION and state.exit_code == ExitCode.NEEDS_PERSON
    assert "revert failed: web did not become healthy" in state.diagnosis.details


@pytest.mark.parametrize("failing_edge,phase", [("rollout", Phase.CODE), ("bake", Phase.VERIFY)])
def test_resume_after_a_code_phase_failed_but_before_the_revert_started_reverts(failing_edge, phase):
    edges = FakeEdges(fail={failing_edge: diag(f"{failing_edge} broke")})
    # killed right after the failure was recorded, before the revert's first record write
    crash_on_save(edges, lambda s: any(r.phase is Phase.REVERT for r in s.phases))
    with pytest.raises(Crash):
        release(edges).run(from_ref="x")
    crashed = edges.latest()
    assert statuses(crashed)[phase] is PhaseStatus.FAILED and Phase.REVERT not in statuses(crashed)
    del edges.fail[failing_edge]
    state = resume(edges)
    assert edges.names() == ["acquire_lock", "plan", "restore", "release_lock"]
    assert state.status is ReleaseStatus.REVERTED and state.exit_code == 1
    assert state.diagnosis.what == f"{failing_edge} broke"


def test_resume_of_a_failed_code_phase_without_automatic_rollback_leaves_it_to_a_person():
    cfg = make_config(automatic=False)
    edges = FakeEdges(fail={"rollout": diag("web: CrashLoopBackOff")})
    crash_on_save(edges, lambda s: s.status is not ReleaseStatus.RUNNING)  # killed before the outcome was written
    with pytest.raises(Crash):
        release(edges, cfg=cfg).run(from_ref="x")
    del edges.fail["rollout"]
    state = resume(edges, cfg=cfg)
    assert "rollout" not in edges.names() and "restore" not in edges.names()
    assert state.status is ReleaseStatus.NEEDS_ATTENTION and state.exit_code == ExitCode.NEEDS_PERSON


def test_interrupted_failure_is_pure_and_leaves_running_phases_to_resume_from():
    done = lambda p, s=PhaseStatus.SUCCEEDED: PhaseResult(p, s)  # noqa: E731
    before = (done(Phase.PREFLIGHT), done(Phase.MIGRATE), done(Phase.WAIT_DDL), done(Phase.GATES))
    assert interrupted_failure(before + (done(Phase.CODE, PhaseStatus.RUNNING),)) is None  # killed mid-rollout: redo
    assert resume_from(before + (done(Phase.CODE, PhaseStatus.RUNNING),)) is Phase.CODE
    assert interrupted_failure(before + (done(Phase.CODE, PhaseStatus.FAILED),)) is Phase.CODE
    assert interrupted_failure(before + (done(Phase.CODE), done(Phase.VERIFY, PhaseStatus.FAILED),
                                         done(Phase.REVERT, PhaseStatus.RUNNING))) is Phase.VERIFY
    assert interrupted_failure(before + (done(Phase.REVERT, PhaseStatus.RUNNING),)) is Phase.CODE
    assert interrupted_failure(before[:1] + (done(Phase.MIGRATE, PhaseStatus.FAILED),)) is None


# --- 2. a lost release lock stops the run ------------------------------------------------------------------------------


def test_lock_taken_over_between_phases_stops_before_the_next_phase_and_exits_1():
    edges = FakeEdges()
    edges.on_call["migrate"] = lambda: edges.take_over_lock("bob on ci-7, release r0002", release_id="r0002")
    state = release(edges).run(from_ref="x")
    assert edges.latest() == state  # another release took over: this one's record is still its own to finish
    assert "wait_ddl" not in edges.names() and "rollout" not in edges.names() and "restore" not in edges.names()
    assert state.status is ReleaseStatus.FAILED and state.exit_code == ExitCode.FAILED_SAFELY
    assert state.diagnosis.what == (
        "the release lock was taken over by bob on ci-7, release r0002; this run stopped before wait for ddl"
    )
    assert Phase.WAIT_DDL not in statuses(state)  # nothing of it ran
    assert "changes nothing more" in state.diagnosis.did


@pytest.mark.parametrize("edge,phase", [("rollout", Phase.CODE), ("bake", Phase.VERIFY)])
def test_lock_taken_over_during_a_code_phase_stops_without_a_revert_and_needs_a_person(edge, phase):
    edges = FakeEdges()
    r = release(edges)

    def taken():
        edges.take_over_lock("bob on ci-7")
        assert r.cancel.is_set()  # the run's waits are cut short, not left to run out
        edges.fail[edge] = diag(f"{edge} cancelled")

    edges.on_call[edge] = taken
    state = r.run(from_ref="x")
    assert "restore" not in edges.names() and "migrate" not in edges.names()[edges.names().index(edge):]
    assert state.status is ReleaseStatus.NEEDS_ATTENTION and state.exit_code == ExitCode.NEEDS_PERSON
    assert state.diagnosis.what == f"the release lock was taken over by bob on ci-7; this run stopped during {phase.title.lower()}"
    assert f"{edge} cancelled" in state.diagnosis.why and "without a revert" in state.diagnosis.did
    assert statuses(state)[phase] is PhaseStatus.FAILED and Phase.REVERT not in statuses(state)


def test_lock_taken_over_after_the_code_rolled_out_needs_a_person():
    edges = FakeEdges(facts=PlanFacts("a" * 40, "b" * 40, True, post_deploy=("9",)))
    edges.on_call["bake"] = lambda: edges.take_over_lock("bob")
    state = release(edges).run(from_ref="x")
    assert "migrate" not in edges.names() and state.exit_code == ExitCode.NEEDS_PERSON
    assert state.diagnosis.what.endswith("this run stopped before post-deploy migrations")


def test_lock_taken_over_during_the_ddl_wait_needs_a_person():
    edges = FakeEdges()

    def taken():
        edges.take_over_lock("bob")
        edges.fail["wait_ddl"] = diag("interrupted while waiting for the schema change")

    edges.on_call["wait_ddl"] = taken
    state = release(edges).run(from_ref="x")
    assert "gates" not in edges.names() and state.exit_code == ExitCode.NEEDS_PERSON
    assert state.diagnosis.what.endswith("this run stopped during wait for ddl")
    assert "the schema change is not ready everywhere" in state.diagnosis.did
    assert any("stays applied" in n for n in state.notes)


@pytest.mark.parametrize("new_holder_release", ["r0001", None])
def test_a_resume_of_the_same_release_taking_the_lock_owns_the_record(new_holder_release):
    """The run was presumed dead and someone ran --resume (or the lease is gone, maybe released by a resume that
    already finished): this run stops and writes nothing more to the record."""
    edges = FakeEdges()

    def taken():
        edges.take_over_lock("bob", release_id=new_holder_release)
        edges.fail["bake"] = diag("bake cancelled")

    edges.on_call["bake"] = taken
    state = release(edges).run(from_ref="x")
    assert state.exit_code == ExitCode.NEEDS_PERSON and "restore" not in edges.names()
    recorded = edges.latest()
    assert recorded.status is ReleaseStatus.RUNNING and statuses(recorded)[Phase.VERIFY] is PhaseStatus.RUNNING


def test_the_migration_job_survives_a_lost_lock_but_not_ctrl_c():
    from shipit.release.steps import UnlessLeaseLost

    edges = FakeEdges()
    cancel = threading.Event()
    edges.acquire_lock("r0001", on_lost=cancel.set)
    job_cancel = UnlessLeaseLost(cancel, edges)
    assert not job_cancel.is_set()
    cancel.set()
    assert job_cancel.is_set()  # Ctrl-C: the Job is deleted
    edges.take_over_lock("bob")
    assert not job_cancel.is_set()  # the new holder (maybe a --resume adopting the Job) keeps it


def test_lock_loss_policy():
    assert int(on_lock_lost(code_started=False, applied=False).exit_code) == 1
    assert int(on_lock_lost(code_started=True, applied=False).exit_code) == 2
    assert int(on_lock_lost(code_started=False, applied=True).exit_code) == 2
    assert not on_lock_lost(code_started=True, applied=True).revert


def three_releases():
    edges = FakeEdges()
    for n in range(3):
        edges.current_templates = lambda n=n: (f"web-v{n}",)
        release(edges).run(from_ref="x")
    edges.calls.clear()
    return edges


@pytest.mark.parametrize("new_holder_release", ["r0004", None])
def test_rollback_whose_lease_is_taken_over_during_the_restore_stops_and_leaves_the_records_alone(new_holder_release):
    """The new holder may be a --resume of the rollback's own record (r0004) or a run after `unlock --force`: the
    rollback stops, says so, writes nothing more to its record and does not mark the replaced release."""
    edges = three_releases()
    rb = Rollback(make_config(), edges.ports(), user="t")

    def taken():
        edges.take_over_lock("bob on ci-7", release_id=new_holder_release)
        assert rb.cancel.is_set()  # the restore's watch is cut short, not left to run out
        edges.fail["restore"] = diag("web cancelled")

    edges.on_call["restore"] = taken
    state = rb.run()
    assert state.status is ReleaseStatus.NEEDS_ATTENTION and state.exit_code == ExitCode.NEEDS_PERSON
    assert state.diagnosis.what == "the release lock was taken over by bob on ci-7; this rollback stopped during code rollout"
    assert "web cancelled" in state.diagnosis.why and "without a revert" in state.diagnosis.did
    assert edges.records[2].status is ReleaseStatus.SUCCEEDED  # r0003 is not marked rolled back
    recorded = edges.latest()
    assert recorded.id == "r0004" and recorded.status is ReleaseStatus.RUNNING  # the last write before the loss
    assert statuses(recorded)[Phase.CODE] is PhaseStatus.RUNNING
    assert edges.names() == ["acquire_lock", "restore", "release_lock"]


def test_rollback_whose_lease_is_taken_over_after_the_restore_still_leaves_the_replaced_record_alone():
    edges = three_releases()
    edges.on_call["restore"] = lambda: edges.take_over_lock("bob", release_id="r0005")
    state = Rollback(make_config(), edges.ports(), user="t").run()
    assert state.exit_code == ExitCode.NEEDS_PERSON and state.diagnosis.what.endswith("stopped during code rollout")
    assert edges.records[2].status is ReleaseStatus.SUCCEEDED
    assert edges.latest().id == "r0004" and edges.latest().status is ReleaseStatus.NEEDS_ATTENTION  # still its own


def test_rollback_whose_lease_is_taken_over_before_the_restore_changes_nothing():
    edges = three_releases()

    def templates():
        edges.take_over_lock("bob", release_id="r0005")
        return ("web-v3",)

    edges.current_templates = templates
    state = Rollback(make_config(), edges.ports(), user="t").run()
    assert "restore" not in edges.names() and state.exit_code == ExitCode.FAILED_SAFELY
    assert state.status is ReleaseStatus.FAILED
    assert state.diagnosis.what == "the release lock was taken over by bob; this rollback stopped before code rollout"
    assert edges.records[2].status is ReleaseStatus.SUCCEEDED


# --- 3. the migrations note after a revert -----------------------------------------------------------------------------


def test_revert_note_warns_about_manual_migrations_accepted_with_yes():
    facts = PlanFacts(
        "a" * 40, "b" * 40, True, pre_deploy=("1", "2"), manual=("2 backfill: execute of raw SQL",),
        summary={"migrations": [{"version": "1", "name": "add_index", "phase": "pre_deploy"},
                                {"version": "2", "name": "backfill", "phase": "manual"}]},
    )
    edges = FakeEdges(facts=facts, fail={"rollout": diag("web: CrashLoopBackOff")})
    state = release(edges).run(from_ref="x", yes=True)
    assert state.status is ReleaseStatus.REVERTED
    notes = [n for n in state.notes if "stays applied" in n]
    assert notes == [
        "migration 1 add_index from r0001 stays applied (pre_deploy: additive by classification, the previous code "
        "is compatible)",
        "migration 2 backfill from r0001 stays applied (manual: NOT known to be additive (accepted with --yes): "
        "check the previous code works with it)",
    ]


def test_rollback_notes_come_from_the_same_code():
    migrations = [{"version": "2", "name": "backfill", "phase": "manual"}, {"version": "3", "name": "drop", "phase": "post_deploy"}]
    notes = migrations_staying(migrations, origin="r0003", code="the restored code")
    assert "NOT known to be additive" in notes[0] and "NOT additive: check the restored code" in notes[1]
    edges = FakeEdges()
    for n in range(2):
        edges.current_templates = lambda n=n: (f"web-v{n}",)
        edges.facts = PlanFacts(f"{n}" * 40, f"{n + 1}" * 40, True, pre_deploy=("2",), manual=("2 backfill: raw",),
                                summary={"migrations": migrations[:1]})
        release(edges).run(from_ref="x", yes=True)
    state = Rollback(make_config(), edges.ports(), user="t").run()
    assert state.notes == tuple(migrations_staying(migrations[:1], origin="r0002", code="the restored code"))


def test_a_first_record_that_cannot_be_written_is_a_safe_failure_before_any_change():
    """The API answers 500 to the record's creation (after the client's retries): nothing ran, the lock is given
    back, and the error is a ShipitError (exit 1) saying so, not an unexpected one (exit 2)."""
    from kubernetes.client.exceptions import ApiException

    from shipit.core.errors import ShipitError

    edges = FakeEdges()

    def refuse(state):
        e = ApiException(status=500, reason="Internal Server Error")
        e.body = '{"message": "etcd is down"}'
        raise e

    edges.save = refuse
    with pytest.raises(ShipitError) as e:
        release(edges).run(from_ref="x")
    assert e.value.exit_code == ExitCode.FAILED_SAFELY
    assert "did not start, nothing was changed: its record could not be written" in str(e.value)
    assert "500" in str(e.value) and "etcd is down" in str(e.value)
    assert edges.names()[-1] == "release_lock" and "migrate" not in edges.names() and "rollout" not in edges.names()
