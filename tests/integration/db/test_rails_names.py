"""The names shipit predicts are the names real ActiveRecord (Rails 6.1 with its 4.2/6.0 compatibility layers)
gives on MariaDB: indexes by migration version, foreign keys, check constraints, join tables, and the failure a
too-long generated name causes before 7.1."""

from __future__ import annotations

from shipit.planning.classify import ObjectKind, expected_objects
from shipit.planning.rails import OpKind, parse_migration
from tests.support.railsapp import make_rails_app

MIGRATIONS = {
    "20240101000001_create_things": """class CreateThings < ActiveRecord::Migration[6.0]
  def change
    create_table :attachments do |t|
      t.string :name
    end
    add_reference :attachments, :owner, polymorphic: true
  end
end
""",
    "20240101000002_add_subject_to_attachments": """class AddSubjectToAttachments < ActiveRecord::Migration[6.1]
  def change
    add_reference :attachments, :subject, polymorphic: true
    create_table :products do |t|
      t.integer :price
    end
    add_check_constraint :products, "price >= 0"
    create_join_table :articles, :tags
  end
end
""",
    "20240101000003_create_categories": """class CreateCategories < ActiveRecord::Migration[4.2]
  def change
    create_table :categories do |t|
      t.string :name
    end
    create_table :listings do |t|
      t.references :category
      t.timestamps
    end
    add_foreign_key :listings, :categories
  end
end
""",
}


def _schema(db):
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                        "DATABASE() AND INDEX_NAME <> 'PRIMARY'")
            indexes = {(t, n) for t, n in cur.fetchall()}
            cur.execute("SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS "
                        "WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_TYPE IN ('FOREIGN KEY', 'CHECK')")
            constraints = {(t, n, k) for t, n, k in cur.fetchall()}
            cur.execute("SELECT TABLE_NAME, COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS WHERE "
                        "TABLE_SCHEMA = DATABASE()")
            columns = {(t, c): n == "YES" for t, c, n in cur.fetchall()}
            cur.execute("SHOW TABLES")
            tables = {t for (t,) in cur.fetchall()}
    finally:
        conn.close()
    return indexes, constraints, columns, tables


def test_predicted_names_are_the_names_rails_creates(tmp_path, fresh_db):
    app = make_rails_app(tmp_path / "app")
    parsed = []
    for stem, text in MIGRATIONS.items():
        version, name = stem.split("_", 1)
        path = app.add_migration(version, name, text)
        parsed.append(parse_migration(path.read_text(), f"db/migrate/{path.name}"))
    result = app.migrate(fresh_db.url)
    assert result.returncode == 0, result.stdout
    indexes, constraints, columns, tables = _schema(fresh_db)

    predicted = [e for p in parsed for e in expected_objects(p)]
    for e in predicted:
        if e.kind is ObjectKind.INDEX:
            assert (e.table, e.name) in indexes, (e, sorted(indexes))
        elif e.kind is ObjectKind.FOREIGN_KEY:
            assert (e.table, e.name, "FOREIGN KEY") in constraints, (e, sorted(constraints))
        elif e.kind is ObjectKind.TABLE:
            assert e.name in tables
    predicted_indexes = {(e.table, e.name) for e in predicted if e.kind is ObjectKind.INDEX}
    fk_backing = {(t, n) for t, n, k in constraints if k == "FOREIGN KEY"}  # InnoDB indexes an unindexed FK column
    assert predicted_indexes == indexes - fk_backing  # nothing Rails built was missed (4.2's reference: no index)
    assert ("attachments", "index_attachments_on_owner_type_and_owner_id") in indexes
    assert ("attachments", "index_attachments_on_subject") in indexes
    check = next(op for op in parsed[1].operations if op.kind is OpKind.ADD_CHECK_CONSTRAINT)
    assert ("products", check.name, "CHECK") in constraints
    assert "articles_tags" in tables
    # Rails 4.2 timestamps allow NULL; shipit's add_timestamps reads the same
    assert columns[("listings", "created_at")] is True


def test_a_too_long_generated_name_fails_before_7_1_as_predicted(tmp_path, fresh_db):
    app = make_rails_app(tmp_path / "app")
    path = app.add_migration("20240101000001", "index_long", """def change
  create_table :subscription_billing_events do |t|
    t.bigint :subscription_account_id
    t.datetime :billing_period_started_at
  end
  add_index :subscription_billing_events, [:subscription_account_id, :billing_period_started_at]
end""")
    (_, op) = parse_migration(path.read_text(), f"db/migrate/{path.name}").operations
    assert op.failure and "is too long" in op.failure
    result = app.migrate(fresh_db.url)
    assert result.returncode != 0
    assert f"Index name '{op.name}' on table 'subscription_billing_events' is too long" in result.stdout
