"""Pure helpers of the adapters: the SQL error pulled out of a failed migration's log, and the removals a failed
migration made, from schema snapshots taken around its Job."""

from shipit.adapters.rails_log import database_error


def test_database_error_prefers_the_mysql_error_in_the_rails_chain():
    log = [
        "StandardError: An error has occurred, all later migrations canceled:",
        "",
        "Mysql2::Error: Unknown column 'legacy_nick' in 'SET'",
        "/app/db/migrate/20240102000002_half.rb:4:in `up'",
        "Caused by:",
        "ActiveRecord::StatementInvalid: Mysql2::Error: Unknown column 'legacy_nick' in 'SET'",
    ]
    assert database_error(log) == "Mysql2::Error: Unknown column 'legacy_nick' in 'SET'"


def test_database_error_unwraps_the_driver_error_from_active_record():
    line = "ActiveRecord::StatementInvalid: Mysql2::Error: Duplicate entry 'a' for key 'index_users_on_email'"
    assert database_error([line]) == "Mysql2::Error: Duplicate entry 'a' for key 'index_users_on_email'"


def test_database_error_falls_back_to_active_record_and_to_none():
    assert database_error(["ActiveRecord::NoDatabaseError: Unknown database 'shop'"]) == (
        "ActiveRecord::NoDatabaseError: Unknown database 'shop'"
    )
    assert database_error(["rake aborted!", "LoadError: cannot load such file"]) is None


def test_removals_applied_compares_the_tables_before_and_after_the_job():
    from shipit.db.migration_state import SchemaSnapshot
    from shipit.planning.rails import parse_migration
    from shipit.adapters.schema_diff import removals_applied

    ops = parse_migration(
        "class X < ActiveRecord::Migration[6.1]\n  def up\n    remove_column :users, :name\n"
        "    remove_index :users, name: 'not_there'\n    drop_table :legacy\n    rename_column :users, :a, :b\n"
        "  end\nend\n", "db/migrate/20240101000000_x.rb").operations
    before = SchemaSnapshot(frozenset({"users", "legacy"}), frozenset({("users", "name"), ("users", "a")}), {}, {})
    after = SchemaSnapshot(frozenset({"users", "legacy"}), frozenset({("users", "a")}), {}, {})
    # the column went; the index never existed (the failing statement), the table and the rename did not happen
    assert removals_applied(ops, before, after) == ("removed column name from users (line 3)",)
    assert removals_applied(ops, before, before) == ()
