"""The judgement that a gh-ost run hung during the migration Job: seen alive during the Job, then stale on
consecutive readings. Pure: readings are built from table names and heartbeat ages."""

from __future__ import annotations

from shipit.adapters.ddl_progress import hang_diagnosis
from shipit.db.osc import HEARTBEAT_STALE_S, ServerOsc, assess, recognise
from shipit.db.osc_hang import HangJudge

ARTS = recognise("shop", ["_carts_gho", "_carts_ghc"], [])


def _runs(age: float | None, state: str = ""):
    heartbeats = {} if age is None else {"_carts_ghc": age}
    return assess(ServerOsc("primary", "shop", ARTS, heartbeats, {"_carts_ghc": state} if state else {}),
                  migration_running=True)


def test_a_run_seen_alive_then_stale_on_two_readings_in_a_row_has_hung():
    judge = HangJudge()
    assert judge.judge(_runs(0.2)) is None
    assert judge.judge(_runs(HEARTBEAT_STALE_S + 1)) is None  # one stale reading: perhaps one slow write
    hung = judge.judge(_runs(HEARTBEAT_STALE_S + 6))
    assert hung is not None and hung.table == "carts" and hung.heartbeat_age_s == HEARTBEAT_STALE_S + 6


def test_a_heartbeat_that_resumes_resets_the_count():
    judge = HangJudge()
    for age in (0.2, 15.0, 0.3, 15.0):
        assert judge.judge(_runs(age)) is None


def test_a_run_stale_from_the_first_reading_is_an_older_leftover_not_this_jobs_hang():
    judge = HangJudge()
    for _ in range(5):
        assert judge.judge(_runs(3600.0)) is None


def test_a_migrated_run_whose_heartbeat_stopped_is_done_not_hung():
    judge = HangJudge()
    judge.judge(_runs(0.2, "AllEventsUpToLockProcessed"))
    for _ in range(3):
        assert judge.judge(_runs(40.0, "Migrated")) is None


def test_the_hang_diagnosis_names_the_run_its_last_state_and_the_cleanup():
    judge = HangJudge(confirmations=1)
    judge.judge(_runs(0.2))
    hung = judge.judge(_runs(25.0, "GhostTableMigrated"))
    d = hang_diagnosis(hung, "shop-migrate-r1", ("copy: 40%",))
    assert d.what == "gh-ost on shop.carts hung during the migration; shipit stopped it"
    assert "no heartbeat for 25s" in d.why and "[last state: ghost table altered]" in d.why
    assert d.details == ("DROP TABLE IF EXISTS `shop`.`_carts_gho`;", "DROP TABLE IF EXISTS `shop`.`_carts_ghc`;",
                         "copy: 40%")
    assert "shop-migrate-r1" in d.did and "instead of waiting out the Job's timeout" in d.did
