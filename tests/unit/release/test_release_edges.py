"""Pure helpers of the real edges: the SQL error pulled out of a failed migration's log for the diagnosis."""

from shipit.adapters.edges import database_error


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


def test_pre_deploy_command_is_plain_without_post_deploy_migrations():
    from shipit.adapters.edges import pre_deploy_command

    cmd = ("bin/rails", "db:migrate")
    assert pre_deploy_command(cmd, ("20240102000000",), (), frozenset({"20240105000000"})) == cmd


def test_pre_deploy_command_stops_at_the_last_pre_deploy_version_when_that_is_safe():
    from shipit.adapters.edges import pre_deploy_command

    cmd = ("bin/rails", "db:migrate")
    got = pre_deploy_command(cmd, ("20240110000001",), ("20240110000002",), frozenset({"20240101000001"}))
    assert got == ("bin/rails", "db:migrate", "VERSION=20240110000001")


def test_pre_deploy_command_never_lets_rails_migrate_a_newer_applied_one_down():
    import pytest

    from shipit.core.errors import ShipitError
    from shipit.adapters.edges import pre_deploy_command

    cmd = ("bin/rails", "db:migrate")
    applied = frozenset({"20240101000001", "20240120000001"})  # newer than the late-merged pre-deploy one
    got = pre_deploy_command(cmd, ("20240116000001", "20240115000001"), ("20240121000001",), applied)
    assert got == ("sh", "-c", "bin/rails db:migrate:up VERSION=20240115000001 && "
                               "bin/rails db:migrate:up VERSION=20240116000001")
    # a post-deploy migration older than the target would run early with VERSION=: same per-version form
    got = pre_deploy_command(cmd, ("20240115000001",), ("20240110000001",), frozenset())
    assert got[:2] == ("sh", "-c") and "VERSION=20240110000001" not in got[2]
    with pytest.raises(ShipitError, match="db:migrate:up"):
        pre_deploy_command(("./migrate.sh",), ("20240115000001",), ("20240121000001",), applied)


def test_removals_applied_compares_the_tables_before_and_after_the_job():
    from shipit.db.migration_state import SchemaSnapshot
    from shipit.planning.rails import parse_migration
    from shipit.adapters.edges import removals_applied

    ops = parse_migration(
        "class X < ActiveRecord::Migration[6.1]\n  def up\n    remove_column :users, :name\n"
        "    remove_index :users, name: 'not_there'\n    drop_table :legacy\n    rename_column :users, :a, :b\n"
        "  end\nend\n", "db/migrate/20240101000000_x.rb").operations
    before = SchemaSnapshot(frozenset({"users", "legacy"}), frozenset({("users", "name"), ("users", "a")}), {}, {})
    after = SchemaSnapshot(frozenset({"users", "legacy"}), frozenset({("users", "a")}), {}, {})
    # the column went; the index never existed (the failing statement), the table and the rename did not happen
    assert removals_applied(ops, before, after) == ("removed column name from users (line 3)",)
    assert removals_applied(ops, before, before) == ()
