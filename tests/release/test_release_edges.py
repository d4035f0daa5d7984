"""Pure helpers of the real edges: the SQL error pulled out of a failed migration's log for the diagnosis."""

from shipit.release_edges import database_error


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


def test_database_error_falls_back_to_active_record_and_to_none():
    assert database_error(["ActiveRecord::NoDatabaseError: Unknown database 'shop'"]) == (
        "ActiveRecord::NoDatabaseError: Unknown database 'shop'"
    )
    assert database_error(["rake aborted!", "LoadError: cannot load such file"]) is None
