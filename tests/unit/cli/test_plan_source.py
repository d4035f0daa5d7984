"""The lines that say which source decided what `shipit plan` calls pending (pure)."""

from __future__ import annotations

from shipit.cli.plan_source import PendingSource

URL = "mysql://app:***@db.internal:3306/shop"


def test_the_database_decides_when_it_was_read():
    source = PendingSource(frozenset({"20240101000000", "20240101000001"}), URL)
    assert source.source == "database"
    assert source.lines() == (f"pending: versions at --to the database has not applied (2 in schema_migrations at "
                              f"{URL})",)
    assert source.to_json() == {"source": "database", "database": URL, "error": None, "applied": 2,
                                "notes": list(source.lines())}


def test_other_databases_are_said_to_compare_with_from():
    (line,) = PendingSource(frozenset(), URL).lines(databases=2)
    assert line.endswith("; other databases: versions absent at --from")


def test_git_decides_without_a_configured_database():
    source = PendingSource(None)
    assert source.source == "git"
    assert source.lines() == ("pending: versions present at --to and absent at --from (no configuration names a "
                              "database)",)


def test_an_unreadable_database_is_a_note_naming_it_and_the_error():
    source = PendingSource(None, URL, "(2003, \"Can't connect to MySQL server\")")
    pending, note = source.lines()
    assert pending == "pending: versions present at --to and absent at --from (the database was not read)"
    assert note == (f"note: could not read schema_migrations at {URL}, so git decided what is pending: (2003, "
                    "\"Can't connect to MySQL server\")")
    assert source.to_json()["source"] == "git" and source.to_json()["applied"] is None
