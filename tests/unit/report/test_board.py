"""The live panel's content: bars per server, one line per workload, the log tail; every line within the width."""

from __future__ import annotations

from shipit.db.ddl_watch import DdlKind, DdlProgress, ProgressSource, RunningDdl
from shipit.db.health import LagSource, ReplicaLag
from shipit.kube.rollout import RolloutProgress
from shipit.report.board import Bar, Board, ddl_bars, duration, lag_bars, render, rows_occupied, workload


def plain(lines) -> list[str]:
    return [line.plain for line in lines]


def test_durations_tick_in_a_readable_form():
    assert [duration(s) for s in (0.4, 9.9, 65, 3599, 3720)] == ["0s", "9s", "1m05s", "59m59s", "1h02m"]


def test_an_index_build_is_a_bar_per_server_with_percent_stage_and_eta():
    progress = (
        DdlProgress(RunningDdl("primary", 5, DdlKind.ALTER_TABLE, "shop", "orders", "ALTER ...", "", 30.0, False),
                    "sorting", 50.0, ProgressSource.PERFORMANCE_SCHEMA, 31.0),
        DdlProgress(RunningDdl("replica1", 9, DdlKind.ALTER_TABLE, "shop", "orders", "ALTER ...", "", 2.0, True),
                    "waiting for metadata lock", None, ProgressSource.NONE, None),
    )
    bars = ddl_bars(progress)
    assert bars == (Bar("primary", "alter_table on orders", 50.0, "sorting", 31.0),
                    Bar("replica1 (replaying)", "alter_table on orders", None, "waiting for metadata lock"))
    lines = plain(render(Board("Wait for DDL", 75.0, bars=bars), 120, 30))
    assert lines[0] == "▸ Wait for DDL  1m15s"
    # 119 usable cells: bars of 119 // 6 = 19 cells, labels as wide as the widest (20)
    assert lines[1] == ("    " + f"{'primary':<20}  " + "█" * 9 + "░" * 10
                        + "  50.0%  sorting · ETA 31s · alter_table on orders")
    assert lines[2] == "    replica1 (replaying)  " + "·" * 19 + "        waiting for metadata lock · alter_table on orders"


def test_replica_catch_up_is_the_share_of_its_peak_lag_made_up():
    lags = (ReplicaLag("replica1", 5.0, True, True, LagSource.REPLICA_STATUS),
            ReplicaLag("replica2", 0.0, True, True, LagSource.REPLICA_STATUS),
            ReplicaLag("replica3", None, False, True, LagSource.REPLICA_STATUS),
            ReplicaLag("replica4", 9.0, True, True, LagSource.REPLICA_STATUS))
    bars = lag_bars(lags, {"replica1": 20.0, "replica4": 9.0}, busy={"replica4"})
    assert bars == (Bar("replica1", "catching up", 75.0, "5s behind"),
                    Bar("replica3", "replication", None, "lag unknown (replication IO thread stopped)"))


def test_each_workload_is_one_line_of_counts():
    w = workload(RolloutProgress("web", 3, 2, 2, 1, 1, "waiting"))
    lines = plain(render(Board("Code rollout", 3.2, workloads=(w, workload(RolloutProgress("worker", 1, 1, 1, 1, 0, "")))),
                         100, 30))
    assert lines[1:] == ["    web     2/3 updated  2 ready  1 available  1 old",
                         "    worker  1/1 updated  1 ready  1 available"]


def test_the_log_tail_gives_way_to_a_short_terminal_and_every_line_fits():
    log = tuple(("migrate", f"-- line {i} " + "z" * 300) for i in range(20))
    board = Board("Migrate (pre-deploy)", 4.0, notes=("metadata-lock watchdog: nothing waits",), log=log)
    tall = plain(render(board, 80, 40))
    assert len(tall) == 1 + 1 + 8 and tall[-1].startswith("    migrate -- line 19 ")
    short = plain(render(board, 80, 6))
    assert len(short) == 4 and short[-2].startswith("    migrate -- line 18 ") and short[-1].startswith("    migrate -- line 19 ")
    assert all(len(line) <= 79 and (line.endswith("…") or "z" not in line) for line in tall + short)
    assert all(len(line) <= 120 for line in plain(render(board, 400, 40)))  # the panel stays a panel on wide screens


def test_rows_occupied_counts_reflowed_rows_after_a_shrink():
    assert rows_occupied((10, 119, 60), 120) == 3
    assert rows_occupied((10, 119, 60), 50) == 1 + 3 + 2
    assert rows_occupied((10, 40), 200) == 2
    assert rows_occupied((), 80) == 0
