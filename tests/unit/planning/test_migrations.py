"""Parser details the corpus table does not show: file-level facts, naming, inflection, unknowns."""

from __future__ import annotations

import hashlib

import pytest

from shipit.planning.rails import OpKind, parse_migration
from shipit.planning.rails.naming import foreign_key_name, index_name, join_table_name, pluralize, singularize


def test_rails_index_and_foreign_key_names():
    assert index_name("users", ("email",)) == "index_users_on_email"
    assert index_name("events", ["account_id", "created_at"]) == "index_events_on_account_id_and_created_at"
    assert index_name("users", "email") == "index_users_on_email"
    assert foreign_key_name("orders", "user_id") == "fk_rails_f868b47f6a"  # sha256sum of "orders_user_id_fk"
    assert foreign_key_name("posts", "author_id") == "fk_rails_" + hashlib.sha256(b"posts_author_id_fk").hexdigest()[:10]


@pytest.mark.parametrize(
    "singular,plural",
    [
        ("user", "users"), ("company", "companies"), ("delivery_company", "delivery_companies"), ("box", "boxes"),
        ("address", "addresses"), ("match", "matches"), ("wish", "wishes"), ("quiz", "quizes"), ("day", "days"),
        ("person", "people"), ("status", "statuses"), ("line_item", "line_items"), ("equipment", "equipment"),
    ],
)
def test_pluralize_and_singularize_common_cases(singular, plural):
    assert pluralize(singular) == plural
    if singular != "quiz":  # Rails has a special rule for quiz/quizzes; the simple one is stated in the brief
        assert singularize(plural) == singular


def test_join_table_name():
    assert join_table_name("users", "roles") == "roles_users"
    assert join_table_name("music_artists", "music_records") == "music_artists_records"


@pytest.mark.parametrize("version", ["5.2", "6.0", "6.1", "7.0", "7.1", "7.2", "8.0"])
def test_superclass_versions(version):
    src = f"class AddX < ActiveRecord::Migration[{version}]\n  def change\n    add_column :t, :x, :integer\n  end\nend\n"
    parsed = parse_migration(src, "db/migrate/20240101000000_add_x.rb")
    assert parsed.superclass_version == version
    assert parsed.version == "20240101000000"
    assert parsed.name == "AddX"
    assert parsed.warnings == () and parsed.error is None


def test_only_up_counts_and_file_facts():
    src = b"""class Both < ActiveRecord::Migration[7.1]
  disable_ddl_transaction!
  def up
    add_index :orders, :state
  end
  def down
    remove_index :orders, :state
    drop_table :orders
  end
end
"""
    parsed = parse_migration(src, "db/migrate/20240101000001_both.rb")
    assert parsed.direction == "up" and parsed.has_down and parsed.disable_ddl_transaction
    assert [op.kind for op in parsed.operations] == [OpKind.ADD_INDEX]


def test_change_wins_over_up_like_rails():
    src = """class Both < ActiveRecord::Migration[7.1]
  def change
    add_column :t, :a, :string
  end
  def up
    drop_table :t
  end
end
"""
    parsed = parse_migration(src, "db/migrate/20240101000001_both.rb")
    assert [op.kind for op in parsed.operations] == [OpKind.ADD_COLUMN]


def test_reversible_down_and_helper_methods_are_ignored_but_calls_to_them_are_unknown():
    src = """class Helpers < ActiveRecord::Migration[7.1]
  def change
    reversible do |dir|
      dir.down { drop_table :t }
    end
    backfill!
  end

  def backfill!
    execute "UPDATE t SET a = 1"
  end
end
"""
    parsed = parse_migration(src, "db/migrate/20240101000001_helpers.rb")
    assert [(op.kind, op.line, op.source) for op in parsed.operations] == [(OpKind.UNKNOWN, 6, "backfill!")]


def test_heredoc_with_interpolation_keeps_ruby_text_and_dedents():
    src = '''class Sql < ActiveRecord::Migration[7.1]
  def up
    execute <<~SQL
      UPDATE #{table}
         SET a = 1
    SQL
    execute(<<-SQL)
      DELETE FROM x
    SQL
  end
end
'''
    parsed = parse_migration(src, "db/migrate/20240101000001_sql.rb")
    assert [op.sql for op in parsed.operations] == ["UPDATE #{table}\n   SET a = 1", "      DELETE FROM x"]
    assert [op.line for op in parsed.operations] == [3, 7]


def test_unknown_table_block_method_and_splat_options():
    src = """class Odd < ActiveRecord::Migration[7.1]
  def change
    create_table :t do |t|
      t.string :a
      t.check_constraint "a <> ''"
    end
    add_index :t, :a, **OPTS
  end
end
"""
    parsed = parse_migration(src, "db/migrate/20240101000001_odd.rb")
    kinds = [(op.kind, op.line) for op in parsed.operations]
    assert kinds == [(OpKind.CREATE_TABLE, 3), (OpKind.ADD_CHECK_CONSTRAINT, 5), (OpKind.UNKNOWN, 7)]
    assert parsed.operations[0].columns == ("id", "a")


def test_not_a_migration():
    parsed = parse_migration("puts 'hello'\n", "db/migrate/20240101000001_hello.rb")
    assert parsed.operations == () and parsed.error and "no migration class" in parsed.error


def test_long_index_name_fails_before_7_1():
    src = """class Long < ActiveRecord::Migration[7.0]
  def change
    add_index :customer_subscription_events, [:customer_subscription_id, :occurred_at_timestamp]
  end
end
"""
    (op,) = parse_migration(src, "db/migrate/20240101000001_long.rb").operations
    assert op.name == "index_customer_subscription_events_on_customer_subscription_id_and_occurred_at_timestamp"
    assert "is too long" in op.failure and "over MySQL's 64" in op.failure
