"""The lines that say which source decided what `shipit plan` calls pending (pure)."""

from __future__ import annotations

from shipit.cli.plan_source import PendingSource, PendingSources

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


QUEUE_URL = "mysql://app:***@queue.internal:3306/shop_queue"


def test_each_configured_database_is_its_own_source_and_says_so():
    sources = PendingSources((PendingSource(frozenset({"1", "2"}), URL),
                              PendingSource(None, QUEUE_URL, "(1045, 'Access denied')", "queue")))
    assert sources.applied == {"primary": frozenset({"1", "2"})}  # the queue's pending compares with --from
    assert sources.lines(("primary", "queue", "cache")) == (
        f"pending in primary: versions at --to the database has not applied (2 in schema_migrations at {URL})",
        "pending in queue: versions present at --to and absent at --from (the database was not read)",
        f"note: could not read schema_migrations at {QUEUE_URL}, so git decided what is pending: (1045, 'Access "
        "denied')",
        "pending in cache: versions present at --to and absent at --from (no URL configured)",
    )
    out = sources.to_json(("primary", "queue"))
    assert (out["source"], out["applied"]) == ("database", 2)  # the primary's, as with one database
    assert [(d["name"], d["source"], d["applied"]) for d in out["databases"]] == [
        ("primary", "database", 2), ("queue", "git", None)]


def test_with_one_configured_database_the_lines_are_unchanged():
    one = PendingSource(frozenset(), URL)
    assert PendingSources((one,)).lines(("primary", "queue")) == one.lines(databases=2)
    assert PendingSources((PendingSource(None),)).applied is None
