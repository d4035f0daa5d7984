"""Online schema change tools: their artefacts recognised by name, their progress lines parsed, each run's state
decided, and the clean-up SQL for a dead run. Pure: no server."""

from __future__ import annotations

import pytest

from shipit.db.osc import (
    HEARTBEAT_STALE_S, LogProgress, OscTool, Role, RunState, ServerOsc, assess, ghost_state, leftover_report,
    parse_progress, recognise,
)


def _reading(artifacts, heartbeats=None, states=None) -> ServerOsc:
    return ServerOsc("primary", "shop", tuple(artifacts), heartbeats or {}, states or {})


def test_each_tools_tables_and_triggers_are_recognised_with_their_original_table():
    found = recognise(
        "shop_production",
        ["orders", "_orders_new", "__line_items_new", "_orders_old", "_carts_gho", "_carts_ghc", "_carts_del",
         "_carts_ghk",         "lhmn_users", "lhma_2024_01_31_12_00_00_123_users", "schema_migrations", "order_items_new"],
        ["pt_osc_shop_production_orders_ins", "pt_osc_shop_production_orders_upd", "lhmt_del_users",
         "audit_orders_ins"],
    )
    got = {(a.tool, a.role, a.name, a.table) for a in found}
    assert got == {
        (OscTool.PT_OSC, Role.SHADOW, "_orders_new", "orders"),
        (OscTool.PT_OSC, Role.SHADOW, "__line_items_new", "line_items"),  # pt-osc adds underscores until unique
        (OscTool.PT_OSC, Role.OLD, "_orders_old", "orders"),
        (OscTool.GH_OST, Role.SHADOW, "_carts_gho", "carts"),
        (OscTool.GH_OST, Role.CHANGELOG, "_carts_ghc", "carts"),
        (OscTool.GH_OST, Role.OLD, "_carts_del", "carts"),
        (OscTool.GH_OST, Role.CHECKPOINT, "_carts_ghk", "carts"),
        (OscTool.LHM, Role.SHADOW, "lhmn_users", "users"),
        (OscTool.LHM, Role.OLD, "lhma_2024_01_31_12_00_00_123_users", "users"),
        (OscTool.PT_OSC, Role.TRIGGER, "pt_osc_shop_production_orders_ins", "orders"),
        (OscTool.PT_OSC, Role.TRIGGER, "pt_osc_shop_production_orders_upd", "orders"),
        (OscTool.LHM, Role.TRIGGER, "lhmt_del_users", "users"),
    }


def test_a_pt_osc_trigger_of_another_schema_is_not_taken_for_this_ones():
    assert recognise("shop", [], ["pt_osc_other_orders_ins"]) == ()


@pytest.mark.parametrize("line, expected", [
    ("Copying `shop`.`orders`:  40% 00:43 remain", LogProgress(OscTool.PT_OSC, 40.0, 43.0)),
    ("Copying `shop`.`orders`:  97% 01:02:03 remain", LogProgress(OscTool.PT_OSC, 97.0, 3723.0)),
    ("Copy: 460900/752865 61.2%; Applied: 0; Backlog: 0/100; Time: 1m0s(total), 50s(copy); streamer: "
     "mysql-bin.000003:1234; Lag: 0.01s, HeartbeatLag: 0.01s, State: migrating; ETA: 1m19s",
     LogProgress(OscTool.GH_OST, 61.2, 79.0, "migrating")),
    ("Copy: 752865/752865 100.0%; Applied: 12; Backlog: 0/100; Time: 5m0s(total), 4m2s(copy); streamer: "
     "mysql-bin.000003:99; Lag: 0.02s, HeartbeatLag: 0.02s, State: postponing cut-over; ETA: due",
     LogProgress(OscTool.GH_OST, 100.0, None, "postponing cut-over")),
    ("\r12.50% (125/1000) complete\r40.00% (400/1000) complete", LogProgress(OscTool.LHM, 40.0)),
])
def test_progress_lines_of_each_tool(line, expected):
    assert parse_progress(line) == expected


@pytest.mark.parametrize("line", ["== 20240101 AddIndex: migrating ====", "Copying approximately 1 rows...",
                                  "-- add_index(:orders, :customer_id)", ""])
def test_other_log_lines_are_not_progress(line):
    assert parse_progress(line) is None


def test_a_postponed_gh_ost_cut_over_is_waiting_for_a_person_not_a_hang():
    arts = recognise("shop", ["_carts_gho", "_carts_ghc"], [])
    seen = parse_progress("Copy: 10/10 100.0%; Applied: 0; Backlog: 0/100; Time: 9s(total), 8s(copy); streamer: x:1; "
                          "Lag: 0.01s, HeartbeatLag: 0.01s, State: postponing cut-over; ETA: due")
    (run,) = assess(_reading(arts, {"_carts_ghc": 0.2}), progress={(OscTool.GH_OST, ""): seen})
    assert run.state is RunState.CUT_OVER_POSTPONED and not run.state.is_failure and run.state.blocks_ready
    assert "waiting for a person" in run.describe() and "postpone-cut-over-flag-file" in run.describe()


def test_gh_ost_heartbeat_decides_alive_or_stale():
    arts = recognise("shop", ["_carts_gho", "_carts_ghc"], [])
    (alive,) = assess(_reading(arts, {"_carts_ghc": 0.5}))
    assert alive.state is RunState.COPYING
    (stale,) = assess(_reading(arts, {"_carts_ghc": HEARTBEAT_STALE_S + 5}))
    assert stale.state is RunState.STALE and stale.state.is_failure
    assert "no heartbeat for 15s" in stale.describe()
    assert stale.cleanup_sql() == ("DROP TABLE IF EXISTS `shop`.`_carts_gho`;",
                                   "DROP TABLE IF EXISTS `shop`.`_carts_ghc`;")


def test_a_triggers_tool_between_chunks_is_alive_while_the_migration_runs_and_a_leftover_after():
    arts = recognise("shop", ["_orders_new"], ["pt_osc_shop_orders_ins", "pt_osc_shop_orders_upd",
                                                "pt_osc_shop_orders_del"])
    (copying,) = assess(_reading(arts), copying=[(OscTool.PT_OSC, "orders")])
    assert copying.state is RunState.COPYING
    (between,) = assess(_reading(arts), migration_running=True)
    assert between.state is RunState.COPYING
    (unknown,) = assess(_reading(arts), migration_running=None)
    assert unknown.state is RunState.UNSURE and not unknown.state.is_failure and "unsure" in unknown.describe()
    (dead,) = assess(_reading(arts), migration_running=False)
    assert dead.state is RunState.LEFTOVER
    # triggers first: while they exist every write to orders also writes the dead shadow table
    assert dead.cleanup_sql() == (
        "DROP TRIGGER IF EXISTS `shop`.`pt_osc_shop_orders_ins`;",
        "DROP TRIGGER IF EXISTS `shop`.`pt_osc_shop_orders_upd`;",
        "DROP TRIGGER IF EXISTS `shop`.`pt_osc_shop_orders_del`;",
        "DROP TABLE IF EXISTS `shop`.`_orders_new`;",
    )
    report = leftover_report([dead, copying])
    assert report[0].startswith("pt-online-schema-change on shop.orders (primary): left behind")
    assert report[1:] == tuple(f"  {s}" for s in dead.cleanup_sql())


def test_a_finished_run_that_kept_the_old_table_does_not_block_and_is_not_a_failure():
    (run,) = assess(_reading(recognise("shop", ["_orders_old"], [])))
    assert run.state is RunState.OLD_COPY_KEPT and not run.state.blocks_ready and not run.state.is_failure
    assert "drop it once the change is verified" in run.cleanup_sql()[0]


def test_lhm_progress_is_matched_to_its_run():
    arts = recognise("shop", ["lhmn_users"], ["lhmt_ins_users", "lhmt_upd_users", "lhmt_del_users"])
    seen = LogProgress(OscTool.LHM, 40.0)
    (run,) = assess(_reading(arts), migration_running=True, progress={(OscTool.LHM, "users"): seen})
    assert run.progress == seen and "copying 40.0%" in run.describe()


def test_a_dead_gh_ost_runs_checkpoint_table_is_listed_with_its_cleanup():
    arts = recognise("shop", ["_carts_gho", "_carts_ghc", "_carts_ghk"], [])
    (dead,) = assess(_reading(arts, {"_carts_ghc": HEARTBEAT_STALE_S + 20}))
    assert dead.state is RunState.STALE and "_carts_ghk" in dead.describe()
    assert dead.cleanup_sql() == ("DROP TABLE IF EXISTS `shop`.`_carts_gho`;",
                                  "DROP TABLE IF EXISTS `shop`.`_carts_ghc`;",
                                  "DROP TABLE IF EXISTS `shop`.`_carts_ghk`;")
    assert "  DROP TABLE IF EXISTS `shop`.`_carts_ghk`;" in leftover_report([dead])


def test_a_finished_gh_ost_run_keeps_its_checkpoint_with_the_old_table_and_neither_blocks():
    (run,) = assess(_reading(recognise("shop", ["_carts_del", "_carts_ghk"], [])))
    assert run.state is RunState.OLD_COPY_KEPT and not run.state.blocks_ready and not run.state.is_failure


@pytest.mark.parametrize("value, name", [
    ("GhostTableMigrated", "GhostTableMigrated"), ("Migrated", "Migrated"),
    ("AllEventsUpToLockProcessed:1733443200123456789", "AllEventsUpToLockProcessed"),
    ("ReadMigrationRangeValues", "ReadMigrationRangeValues"),
])
def test_gh_ost_changelog_state_values_are_read_by_their_name(value, name):
    assert ghost_state(value) == name


def test_a_migrated_gh_ost_changelog_means_done_even_with_a_stale_heartbeat():
    arts = recognise("shop", ["_carts_ghc", "_carts_del"], [])
    (run,) = assess(_reading(arts, {"_carts_ghc": 600.0}, {"_carts_ghc": "Migrated"}), migration_running=False)
    assert run.state is RunState.MIGRATED and not run.state.is_failure and not run.state.blocks_ready
    assert "the new table is in place" in run.describe() and leftover_report([run]) == ()


def test_gh_ost_changelog_state_is_reported_with_the_run():
    arts = recognise("shop", ["_carts_gho", "_carts_ghc"], [])
    (copying,) = assess(_reading(arts, {"_carts_ghc": 0.1}, {"_carts_ghc": "GhostTableMigrated"}))
    assert copying.state is RunState.COPYING and copying.ghost_state == "GhostTableMigrated"
    assert "[last state: ghost table altered]: copying" in copying.describe()
    (hung,) = assess(_reading(arts, {"_carts_ghc": 40.0}, {"_carts_ghc": "AllEventsUpToLockProcessed"}))
    assert hung.state is RunState.STALE and "[last state: cutting over]: no heartbeat for 40s" in hung.describe()
