"""Whether a server can report index-build progress, with the exact fix per flavour. The inputs are the result sets
the servers return for the readiness queries (MySQL 8's defaults: instruments on, consumer off)."""

from __future__ import annotations

from shipit.db.connection import Flavour
from shipit.db.progress_readiness import ENABLE_CONSUMER, ENABLE_INSTRUMENTS, alters_tables, decide
from shipit.planning.rails.operations import OpKind

# MySQL 8.0 defaults: the seven stage/innodb/alter% instruments enabled and timed, events_stages_current disabled
MYSQL8_INSTRUMENTS = {f"stage/innodb/alter table ({s})": True for s in (
    "read PK and internal sort", "merge sort", "insert", "log apply index", "flush", "log apply table", "end")}
MYSQL8_CONSUMERS = {"events_stages_current": False}


def test_mysql8_defaults_need_only_the_consumer():
    r = decide("primary", Flavour.MYSQL, performance_schema=True, consumers=MYSQL8_CONSUMERS,
               instruments=MYSQL8_INSTRUMENTS)
    assert not r.ready and r.missing == ("the events_stages_current consumer",)
    assert r.fix[0] == ENABLE_CONSUMER and "performance-schema-consumer-events-stages-current=ON" in r.fix[-1]
    assert "no percentage and no ETA" in r.without


def test_everything_on_is_ready():
    r = decide("primary", Flavour.MYSQL, performance_schema=True, consumers={"events_stages_current": True},
               instruments=MYSQL8_INSTRUMENTS)
    assert r.ready and r.missing == () and r.fix == ()


def test_instruments_partly_off_are_named_with_the_update():
    instruments = dict(MYSQL8_INSTRUMENTS, **{"stage/innodb/alter table (flush)": False})
    r = decide("r1", Flavour.MYSQL, performance_schema=True, consumers={"events_stages_current": True},
               instruments=instruments)
    assert r.missing == ("1 of the stage/innodb/alter% instruments",) and r.fix[0] == ENABLE_INSTRUMENTS


def test_aurora_without_performance_schema_is_fixed_in_the_parameter_group_with_a_reboot():
    r = decide("writer", Flavour.AURORA, performance_schema=False, consumers={}, instruments={})
    assert r.missing == ("performance_schema",)
    assert "DB cluster parameter group" in r.fix[0] and "reboot" in r.fix[0]
    assert "performance_schema_consumer_events_stages_current = 1" in r.fix[1]


def test_rds_mysql_with_performance_schema_off_says_it_is_static():
    r = decide("primary", Flavour.MYSQL, performance_schema=False, consumers={}, instruments={}, rds=True)
    assert "parameter group" in r.fix[0] and "static" in r.fix[0]


def test_mariadb_off_says_what_shipit_still_sees():
    r = decide("primary", Flavour.MARIADB, performance_schema=False, consumers={}, instruments={})
    assert "performance_schema=ON" in r.fix[0] and "Innodb_onlineddl_pct_progress" in r.without
    assert r.describe().startswith("primary: no index-build progress: performance_schema off.")


def test_unreadable_setup_tables_ask_for_the_grant_not_a_restart():
    r = decide("primary", Flavour.MYSQL, performance_schema=True, consumers={}, instruments={}, readable=False)
    assert r.fix == ("GRANT SELECT ON performance_schema.* TO <shipit's user>",)


def test_the_preflight_note_names_the_server_what_is_off_and_the_sql_to_enable_it():
    r = decide("replica1", Flavour.MYSQL, performance_schema=True, consumers=MYSQL8_CONSUMERS,
               instruments=MYSQL8_INSTRUMENTS)
    note = r.preflight_note()
    assert note.startswith("index build progress will not be shown on replica1: the events_stages_current consumer "
                           "off; to enable it: " + ENABLE_CONSUMER)
    assert note.endswith("meanwhile only that the ALTER runs and for how long: no percentage and no ETA")
    ready = decide("primary", Flavour.MYSQL, performance_schema=True, consumers={"events_stages_current": True},
                   instruments=MYSQL8_INSTRUMENTS)
    assert ready.preflight_note() is None


def test_only_operations_that_alter_a_table_call_for_the_note():
    assert alters_tables([OpKind.CREATE_TABLE, OpKind.ADD_INDEX]) and alters_tables([OpKind.ADD_COLUMN])
    assert alters_tables([OpKind.EXECUTE])  # raw SQL may be an ALTER
    assert not alters_tables([OpKind.CREATE_TABLE, OpKind.DATA, OpKind.DROP_TABLE, OpKind.RENAME_TABLE])
    assert not alters_tables([])
