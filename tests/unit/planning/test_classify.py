"""Checks, expected objects and warnings: what the release will verify before and after migrating."""

from __future__ import annotations

import hashlib

from shipit.planning.classify import CheckKind, ObjectKind, checks_for, expected_objects, warnings_for
from shipit.planning.rails import parse_migration
from tests.unit.planning.conftest import migration


def parse(body: str, version: str = "7.1", name: str = "20240101000001_m.rb"):
    return parse_migration(migration("M", body, version), f"db/migrate/{name}")


def test_checks_skip_tables_created_in_the_same_migration_or_plan():
    parsed = parse(
        """
create_table :invoices do |t|
  t.references :account, foreign_key: true
  t.string :number
end
add_index :invoices, :number, unique: true
add_foreign_key :invoices, :users
add_index :payments, :reference, unique: true
"""
    )
    checks = checks_for(parsed)
    assert [(c.kind, c.table) for c in checks] == [(CheckKind.DUPLICATES, "payments")]
    assert checks_for(parsed, new_tables=frozenset({"payments"})) == ()


def test_checks_skip_columns_that_are_new_and_therefore_null():
    parsed = parse(
        """
add_column :orders, :coupon_id, :bigint
add_foreign_key :orders, :coupons
add_column :orders, :code, :string
add_index :orders, :code, unique: true
change_column_null :orders, :total, false
"""
    )
    assert [(c.kind, c.column) for c in checks_for(parsed)] == [(CheckKind.NULLS, "total")]
    assert checks_for(parsed, new_columns=frozenset({("orders", "total")})) == ()


def test_orphan_check_carries_everything_the_query_needs():
    (check,) = checks_for(parse("add_foreign_key :comments, :posts, column: :article_id, primary_key: :uuid"))
    assert (check.kind, check.table, check.column, check.to_table, check.primary_key, check.migration_version) == (
        CheckKind.ORPHANS, "comments", "article_id", "posts", "uuid", "20240101000001"
    )


def test_expected_objects_in_statement_order():
    parsed = parse(
        """
create_table :posts do |t|
  t.references :user, foreign_key: true
end
add_reference :comments, :post, foreign_key: true, index: { unique: true }
rename_column :users, :name, :full_name
add_index :users, :email, name: "by_email"
"""
    )
    got = [(o.kind, o.table, o.name, o.columns, o.unique, o.statement_line) for o in expected_objects(parsed)]
    assert got == [
        (ObjectKind.TABLE, "posts", "posts", ("id", "user_id"), False, 3),
        (ObjectKind.COLUMN, "posts", "id", ("id",), False, 3),
        (ObjectKind.COLUMN, "posts", "user_id", ("user_id",), False, 3),
        (ObjectKind.INDEX, "posts", "index_posts_on_user_id", ("user_id",), False, 4),
        (ObjectKind.FOREIGN_KEY, "posts", "fk_rails_5b5ddfd518", ("user_id",), False, 4),
        (ObjectKind.COLUMN, "comments", "post_id", ("post_id",), False, 6),
        (ObjectKind.INDEX, "comments", "index_comments_on_post_id", ("post_id",), True, 6),
        (ObjectKind.FOREIGN_KEY, "comments", "fk_rails_" + hashlib.sha256(b"comments_post_id_fk").hexdigest()[:10],
         ("post_id",), False, 6),
        (ObjectKind.COLUMN, "users", "full_name", ("full_name",), False, 7),
        (ObjectKind.INDEX, "users", "by_email", ("email",), False, 8),
    ]


def test_the_incident_is_warned_about():
    warnings = warnings_for(parse("add_foreign_key :orders, :accounts\nadd_index :orders, :account_id"))
    assert any("ALGORITHM=COPY" in w for w in warnings)
    assert any("its own migration" in w and "line 4" in w for w in warnings)


def test_no_fk_warnings_on_a_new_table():
    parsed = parse("create_table :a do |t|\n  t.references :user, foreign_key: true\nend\nadd_index :a, :user_id")
    assert warnings_for(parsed) == ()


def test_unique_index_over_column_added_with_default_warns():
    parsed = parse('add_column :users, :kind, :string, default: "x"\nadd_index :users, :kind, unique: true')
    assert any("same value" in w for w in warnings_for(parsed))
