"""Rails' names by migration version, computed here independently of shipit's code from Rails' documented rule."""

from __future__ import annotations

import hashlib

import pytest

from shipit.planning.rails import OpKind, parse_migration
from shipit.planning.rails.naming import acronyms, camelize, index_name, reference_index_name, underscore
from tests.unit.planning.conftest import migration

LONG_TABLE = "subscription_billing_events"
LONG_COLS = ("subscription_account_id", "billing_period_started_at")


def test_7_1_shortens_a_long_generated_name_with_a_sha256_suffix():
    long = f"index_{LONG_TABLE}_on_{'_and_'.join(LONG_COLS)}"
    suffix = "_" + hashlib.sha256(long.encode()).hexdigest()[:10]
    expected = ("idx_on_" + "_".join(LONG_COLS))[: 62 - len(suffix)] + suffix
    got = index_name(LONG_TABLE, LONG_COLS, (7, 1))
    assert got == expected and len(got) == 62
    assert index_name(LONG_TABLE, LONG_COLS, (7, 0)) == long  # 7.0 keeps it (and raises: see below)
    assert index_name("users", ("email",), (7, 1)) == "index_users_on_email"  # short names never change


@pytest.mark.parametrize("version,name", [
    ("6.0", "index_comments_on_commentable_type_and_commentable_id"),
    ("6.1", "index_comments_on_commentable"),
    ("8.0", "index_comments_on_commentable"),
])
def test_polymorphic_reference_index_name_by_version(version, name):
    parsed = parse_migration(migration("M", "add_reference :comments, :commentable, polymorphic: true", version),
                             "db/migrate/20240101000001_m.rb")
    assert parsed.operations[0].name == name
    assert parsed.operations[0].columns == ("commentable_type", "commentable_id")
    assert reference_index_name("comments", "commentable", ("commentable_type", "commentable_id"),
                                tuple(int(p) for p in version.split("."))) == name


def test_rails_4_2_references_have_no_index_and_nullable_timestamps():
    src = "class AddX < ActiveRecord::Migration\n  def change\n    add_reference :a, :b\n    add_timestamps :a\n  end\nend\n"
    ref, created, updated = parse_migration(src, "db/migrate/20150101000000_add_x.rb").operations
    assert ref.index is False and ref.name is None
    assert (created.null, updated.null) == (True, True)


def test_too_long_names_fail_before_7_1_and_explicit_names_always():
    body = f"add_index :{LONG_TABLE}, [:{LONG_COLS[0]}, :{LONG_COLS[1]}]"
    old = parse_migration(migration("M", body, "6.1"), "db/migrate/20240101000001_m.rb").operations[0]
    new = parse_migration(migration("M", body, "7.1"), "db/migrate/20240101000001_m.rb").operations[0]
    assert old.failure and "is too long" in old.failure and new.failure is None
    explicit = parse_migration(migration("M", f'add_index :t, :c, name: "{"x" * 70}"', "7.1"),
                               "db/migrate/20240101000001_m.rb").operations[0]
    assert explicit.failure and "ERROR 1059" in explicit.failure


def test_concurrently_fails_on_mysql():
    (op,) = parse_migration(migration("M", "add_index :t, :c, algorithm: :concurrently"),
                            "db/migrate/20240101000001_m.rb").operations
    assert op.kind is OpKind.ADD_INDEX and "PostgreSQL-only" in op.failure


def test_acronyms_from_inflections_make_class_names_match():
    inflections = """ActiveSupport::Inflector.inflections(:en) do |inflect|
  inflect.acronym "API"
  # inflect.acronym "RESTful"
  inflect.acronym('OAuth')
end
"""
    found = acronyms(inflections)
    assert found == ("API", "OAuth")
    assert camelize("add_api_keys_to_oauth_apps", found) == "AddAPIKeysToOAuthApps"
    src = migration("AddAPIKeys", "add_column :users, :api_key, :string")
    assert parse_migration(src, "db/migrate/20240101000001_add_api_keys.rb", found).error is None
    unread = parse_migration(src, "db/migrate/20240101000001_add_api_keys.rb")
    assert unread.error is None and "Rails expects AddApiKeys unless an inflection acronym" in unread.warnings[0]
    other = parse_migration(migration("AddKeys", "add_column :users, :k, :string"), "db/migrate/1_add_api_keys.rb")
    assert "Rails expects AddApiKeys and fails with NameError" in other.error
    assert underscore("Admin::APIKey") == "admin/api_key"
