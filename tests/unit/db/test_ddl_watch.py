"""Recognising DDL statements and reading their progress, from processlist and performance_schema rows."""

from __future__ import annotations

import pytest

from shipit.db.ddl_watch import (
    DdlKind,
    ProgressSource,
    RunningDdl,
    StageReading,
    estimate_eta,
    find_ddl,
    parse_ddl,
    parse_progress_rows,
    phase_name,
    pick_progress,
)
from shipit.db.health import Thread


@pytest.mark.parametrize("sql, kind, schema, table", [
    ("ALTER TABLE `orders` ADD INDEX `index_orders_on_user_id` (`user_id`)", DdlKind.ALTER_TABLE, None, "orders"),
    ("/* rails */ alter table shop.orders add constraint fk_rails_1 foreign key (user_id) references users (id)",
     DdlKind.ALTER_TABLE, "shop", "orders"),
    ("CREATE UNIQUE INDEX `index_users_on_email` ON `users` (`email`)", DdlKind.CREATE_INDEX, None, "users"),
    ("CREATE INDEX idx USING BTREE ON `my``odd` (a)", DdlKind.CREATE_INDEX, None, "my`odd"),
    ("DROP INDEX `idx` ON `events`", DdlKind.DROP_INDEX, None, "events"),
    ("RENAME TABLE a TO b", DdlKind.RENAME_TABLE, None, "a"),
    ("insert /* gh-ost `shop`.`orders` */ ignore into `shop`.`_orders_gho` (`id`) (select `id` from `shop`.`orders`)",
     DdlKind.GH_OST, None, "orders"),
    ("INSERT LOW_PRIORITY IGNORE INTO `shop`.`_orders_new` (`id`) SELECT `id` FROM `shop`.`orders` "
     "/*pt-online-schema-change 4242 copy nibble*/", DdlKind.PT_OSC, None, "orders"),
    ("INSERT IGNORE INTO `lhmn_orders` (`id`) SELECT `id` FROM `orders`", DdlKind.LHM, None, "orders"),
])
def test_parse_ddl(sql, kind, schema, table):
    target = parse_ddl(sql)
    assert (target.kind, target.schema, target.table) == (kind, schema, table)


@pytest.mark.parametrize("sql", ["SELECT * FROM orders", "INSERT INTO orders VALUES (1)", "", "UPDATE t SET a=1"])
def test_not_ddl(sql):
    assert parse_ddl(sql) is None


def _ddl(state="altering table", stage=0, max_stage=0, progress=0.0, kind=DdlKind.ALTER_TABLE):
    return RunningDdl("primary", 7, kind, "shop", "orders", "ALTER TABLE orders ADD INDEX i (a)", state, 12.0,
                      False, stage, max_stage, progress)


def test_progress_source_priority():
    stage = StageReading(7, "stage/innodb/alter table (merge sort)", 600, 1000)
    r = pick_progress(_ddl(), stage, 35.0, 1)
    assert (r.pct, r.source, r.phase) == (60.0, ProgressSource.PERFORMANCE_SCHEMA, "sorting")
    r = pick_progress(_ddl(), None, 35.0, 1)
    assert (r.pct, r.source) == (35.0, ProgressSource.ONLINEDDL_STATUS)
    # the InnoDB counter is server-global: with two DDLs it cannot be attributed
    assert pick_progress(_ddl(), None, 35.0, 2).source is ProgressSource.NONE
    copy = _ddl(state="copy to tmp table", stage=1, max_stage=2, progress=50.0)
    r = pick_progress(copy, None, None, 1)
    assert (r.pct, r.source, r.phase) == (25.0, ProgressSource.PROCESSLIST, "copying rows")
    waiting = pick_progress(_ddl(state="Waiting for table metadata lock"), stage, 35.0, 1)
    assert (waiting.pct, waiting.phase) == (None, "waiting for metadata lock")
    # MariaDB's completed work can overshoot its estimate; never above 100
    assert pick_progress(_ddl(), StageReading(7, "stage/innodb/alter table (log apply index)", 124134, 120000),
                         None, 1).pct == 100.0


def test_progress_rows_carry_stages_and_the_mariadb_counter_in_one_result():
    rows = [{"conn_id": 7, "stage": "stage/innodb/alter table (insert)", "done": "300", "est": "1200"},
            {"conn_id": None, "stage": "Innodb_onlineddl_pct_progress", "done": "4217", "est": None}]
    stages, onlineddl = parse_progress_rows(rows)
    assert stages == {7: StageReading(7, "stage/innodb/alter table (insert)", 300, 1200)} and onlineddl == 42.17
    assert parse_progress_rows([{"conn_id": None, "stage": "Innodb_onlineddl_pct_progress", "done": "0",
                                 "est": None}]) == ({}, 0.0)
    assert parse_progress_rows([]) == ({}, None)


def test_phase_names():
    assert phase_name("stage/innodb/alter table (read PK and internal sort)", "altering table") == "scanning rows"
    assert phase_name("stage/innodb/alter table (insert)", "altering table") == "writing index"
    assert phase_name("stage/innodb/alter table (log apply index)", "x") == "applying concurrent changes"
    assert phase_name(None, "Committing alter table to storage engine") == "committing"
    assert phase_name(None, "copy to tmp table") == "copying rows"
    assert phase_name(None, "Enabling keys") == "building indexes"  # MariaDB's stage 2 of 2 of a copying ALTER


def test_eta_from_recent_rate():
    assert estimate_eta([(0.0, 0.5), (10.0, 0.9)]) is None  # under 1%: no ETA, like gh-ost
    assert estimate_eta([(0.0, 10.0), (10.0, 20.0)]) == pytest.approx(80.0)
    # only the last 60 s count: an early fast burst does not make the ETA optimistic
    assert estimate_eta([(0.0, 0.0), (1.0, 30.0), (100.0, 40.0), (160.0, 46.0)]) == pytest.approx(540.0)
    # a drop (P_S revised its estimate, or a new stage) restarts the history
    assert estimate_eta([(0.0, 50.0), (10.0, 80.0), (20.0, 10.0), (30.0, 20.0)]) == pytest.approx(80.0)
    assert estimate_eta([(0.0, 20.0), (10.0, 20.0)]) is None  # no movement, no promise


def test_replayed_ddl_on_replica_sql_thread_is_marked():
    t = Thread(9, "system user", "", "shop", "Slave_SQL", 3.0, "altering table", "ALTER TABLE orders ADD INDEX i (a)")
    (d,) = find_ddl("replica1", [t, Thread(10, "app", "h", "shop", "Sleep", 1.0, "", "")])
    assert d.replicated and d.schema == "shop" and d.table == "orders"


_PT_OSC_CHUNK = ("INSERT LOW_PRIORITY IGNORE INTO `shop`.`_orders_new` (`id`) SELECT `id` FROM `shop`.`orders` FORCE "
                 "INDEX(`PRIMARY`) WHERE ((`id` >= '{lo}')) AND ((`id` <= '{hi}')) LOCK IN SHARE MODE "
                 "/*pt-online-schema-change 4242 copy nibble*/")


def test_a_tools_copy_chunk_takes_its_progress_from_the_key_range_and_says_how_far_it_got():
    t = Thread(21, "osc", "h", "shop", "Query", 0.2, "Sending data", _PT_OSC_CHUNK.format(lo=40001, hi=50000))
    (d,) = find_ddl("primary", [t])
    r = pick_progress(d, None, None, 1, copied=25.0)
    assert (r.pct, r.source, r.phase) == (25.0, ProgressSource.COPY_RANGE, "copying rows up to id 50000")
    # no MIN/MAX reading (an empty table, a string key): progress unknown, never the server's unrelated counters
    assert pick_progress(d, None, 35.0, 1).source is ProgressSource.NONE


def test_a_tools_chunks_share_one_progress_history_so_the_eta_spans_chunks():
    first, later = (find_ddl("primary", [Thread(conn, "osc", "h", "shop", "Query", 0.1, "Sending data",
                                                _PT_OSC_CHUNK.format(lo=lo, hi=lo + 9999))])[0]
                    for conn, lo in ((21, 1), (22, 90001)))
    assert first.key == later.key == ("primary", -1, "pt-online-schema-change shop.orders")
    plain = _ddl()
    assert plain.key == ("primary", 7, plain.statement)
