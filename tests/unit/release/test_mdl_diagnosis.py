"""The diagnosis after the metadata-lock watchdog killed the migration's own DDL, and how the release keeps it."""

from __future__ import annotations

from shipit.db.ddl_watch import DdlKind, RunningDdl
from shipit.db.health import MDL_WAIT_STATE, Thread
from shipit.db.mdl import Blocker, BlockerSource, MdlAction, MdlDecision, MdlWait
from shipit.core.errors import ExitCode
from shipit.adapters.mdl_watch import mdl_diagnosis
from shipit.release.diagnosis import Diagnosis
from shipit.release.orchestrator import Release
from shipit.release.phases import ReleaseStatus
from tests.unit.release.fakes import FakeEdges, make_config

ALTER = "ALTER TABLE `users` ADD INDEX `index_users_on_email` (`email`)"


def _wait(blockers: tuple[Blocker, ...]) -> MdlWait:
    ddl = RunningDdl("primary", 31, DdlKind.ALTER_TABLE, "shop", "users", ALTER, MDL_WAIT_STATE, 12.4, False)
    victims = tuple(Thread(40 + i, "app", "10.0.0.7:5000", "shop", "Query", 9.0, MDL_WAIT_STATE,
                           "SELECT * FROM users WHERE id = 1") for i in range(3))
    return MdlWait("primary", ddl, blockers, victims, BlockerSource.PERFORMANCE_SCHEMA)


IDLE = Blocker(17, "reporting", "10.0.0.9:4711", "Sleep", 45.2, 61.0, "", "SHARED_READ",
               "select email from users where id = ?")
KILL = MdlDecision(MdlAction.KILL_OUR_DDL, 31, "killing our DDL query")


def test_diagnosis_names_the_blocking_session_the_queue_what_shipit_did_and_what_next():
    d = mdl_diagnosis(_wait((IDLE,)), KILL, log_tail=("Mysql2::Error: Query execution was interrupted",))
    assert d.what == "the migration's ALTER TABLE on users was stuck behind a metadata lock; shipit killed it"
    assert d.why == ("the ALTER TABLE on users waited 12s for a metadata lock held by session 17 "
                     "(reporting@10.0.0.9:4711, idle 45s, in a transaction for 61s, "
                     "last statement 'select email from users where id = ?'); 3 queries were queued behind it")
    assert "KILL QUERY 31" in d.did and "blocking session was left alone" in d.did and "app recovers" in d.did
    assert d.next.startswith("end the transaction of session 17") and "KILL 17" in d.next
    assert d.next.endswith("then release again")
    assert d.details[-1] == "Mysql2::Error: Query execution was interrupted"
    assert "connection 17 (reporting@10.0.0.9:4711) idle in a transaction" in d.details[0]


def test_diagnosis_for_a_running_blocker_and_for_an_unidentified_one():
    running = Blocker(18, "etl", "10.0.0.3:1", "Query", 30.0, None, "select sleep(?) from users", "SHARED_READ")
    d = mdl_diagnosis(_wait((running,)), KILL)
    assert "session 18 (etl@10.0.0.3:1, running 'select sleep(?) from users' for 30s)" in d.why
    unknown = mdl_diagnosis(_wait(()), KILL)
    assert "held by a session shipit could not identify" in unknown.why
    assert unknown.next.startswith("find the session holding a lock on users")


def test_release_keeps_what_the_watchdog_did_and_its_next_step_exit_1_when_nothing_applied():
    diagnosis = mdl_diagnosis(_wait((IDLE,)), KILL)
    edges = FakeEdges(fail={"migrate": diagnosis})
    state = Release(make_config(), edges.ports(), user="tester").run(from_ref="x")
    assert state.status is ReleaseStatus.FAILED and state.exit_code == ExitCode.FAILED_SAFELY
    assert "rollout" not in edges.names()
    assert state.diagnosis.did.startswith(diagnosis.did + "; stopped; nothing was applied")
    assert state.diagnosis.next == diagnosis.next
    # a failure without an action of the edge's own gets the orchestrator's words only
    plain = Release(make_config(), FakeEdges(fail={"migrate": Diagnosis("Job failed", "exit 1")}).ports(),
                    user="tester").run(from_ref="x")
    assert plain.diagnosis.did.startswith("stopped; nothing was applied")
