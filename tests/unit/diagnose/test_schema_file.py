"""The schema-file model: db/schema.rb and db/structure.sql as the Rails dumpers write them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shipit.planning.gitrepo import GitRepo
from shipit.planning.schema_file import (ForeignKey, Index, load_schema, migration_versions, parse_schema_rb,
                                         parse_structure_sql, rails_fk_name)

SCHEMA_RB = '''\
# This file is auto-generated from the current state of the database.
ActiveRecord::Schema.define(version: 2024_02_01_000001) do

  create_table "Orders", charset: "utf8mb4", force: :cascade do |t|
    t.bigint "customer_id", null: false
    t.string "status", limit: 20, default: "new", null: false
    t.string "note", default: "it's \\"quoted\\""
    t.decimal "total", precision: 10, scale: 2, default: "0.0"
    t.datetime "created_at", precision: 6, default: -> { "CURRENT_TIMESTAMP" }, null: false
    t.boolean "paid", default: false
    t.index ["customer_id", "created_at"], name: "index_orders_on_customer_id_and_created_at"
    t.index ["status"], name: "index_orders_on_status", unique: true, length: { status: 10 }
  end

  create_table "tags", id: :integer, force: :cascade do |t|
    t.string "name"
  end

  create_table "orders_tags", id: false, force: :cascade do |t|
    t.bigint "order_id"
    t.integer "tag_id"
  end

  create_table "accounts", primary_key: "uuid", id: :string, limit: 36, force: :cascade do |t|
    t.string "email"
  end
  add_index "accounts", ["email"], name: "index_accounts_on_email", unique: true, length: 191

  add_foreign_key "orders_tags", "orders"
  add_foreign_key "orders_tags", "tags", column: "tag_id", name: "fk_tags", on_delete: :cascade
  add_foreign_key "orders_tags", "categories"
end
'''

STRUCTURE_SQL = '''\
/*!40101 SET NAMES utf8mb4 */;
DROP TABLE IF EXISTS `orders`;
CREATE TABLE `orders` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `customer_id` bigint(20) NOT NULL,
  `status` varchar(20) NOT NULL DEFAULT 'new',
  `note` varchar(255) DEFAULT NULL,
  `weird` varchar(10) DEFAULT 'it''s',
  `created_at` datetime(6) NOT NULL DEFAULT current_timestamp(6),
  PRIMARY KEY (`id`),
  UNIQUE KEY `index_orders_on_status` (`status`(10)),
  KEY `index_orders_on_customer_id_and_created_at` (`customer_id`,`created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `payments` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `order_id` bigint(20) unsigned NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_rails_6af949464b` (`order_id`),
  CONSTRAINT `fk_rails_6af949464b` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`)
) ENGINE=InnoDB;

INSERT INTO `schema_migrations` (version) VALUES
('20240101000001'),
('20240201000001');
'''


def test_schema_rb_tables_columns_and_defaults():
    m = parse_schema_rb(SCHEMA_RB)
    assert m.version == "20240201000001" and m.source == "db/schema.rb"
    assert [t.name for t in m.tables] == ["orders", "tags", "orders_tags", "accounts"]
    orders = m.table("ORDERS")
    assert [c.name for c in orders.columns] == ["id", "customer_id", "status", "note", "total", "created_at", "paid"]
    assert orders.column("customer_id").null is False and orders.column("customer_id").type == "bigint"
    assert orders.column("status").default == "new"
    assert orders.column("note").default == 'it\'s "quoted"'
    assert orders.column("total").default == "0.0"
    assert orders.column("created_at").default == "CURRENT_TIMESTAMP"
    assert orders.column("paid").default == "false" and orders.column("paid").null is True
    assert orders.primary_key == ("id",)


def test_schema_rb_primary_keys():
    m = parse_schema_rb(SCHEMA_RB)
    assert m.table("tags").column("id").type == "integer"
    assert m.table("orders_tags").primary_key == () and m.table("orders_tags").column("id") is None
    assert m.table("accounts").primary_key == ("uuid",) and m.table("accounts").column("uuid").type == "string"


def test_schema_rb_indexes_with_lengths_and_add_index():
    m = parse_schema_rb(SCHEMA_RB)
    orders = m.table("orders")
    assert orders.index_named("index_orders_on_customer_id_and_created_at") == Index(
        "index_orders_on_customer_id_and_created_at", ("customer_id", "created_at"))
    assert orders.index_named("index_orders_on_status") == Index("index_orders_on_status", ("status",), True,
                                                                  (("status", 10),))
    assert m.table("accounts").indexes == (Index("index_accounts_on_email", ("email",), True, (("email", 191),)),)


def test_schema_rb_foreign_keys_with_rails_default_names():
    fks = parse_schema_rb(SCHEMA_RB).table("orders_tags").foreign_keys
    assert fks == (
        ForeignKey(rails_fk_name("orders_tags", "order_id"), ("order_id",), "orders"),
        ForeignKey("fk_tags", ("tag_id",), "tags"),
        ForeignKey(rails_fk_name("orders_tags", "category_id"), ("category_id",), "categories"),
    )
    # add_foreign_key :payments, :orders in Rails 6.1 (foreign_key_name: SHA256 of "payments_order_id_fk")
    assert rails_fk_name("payments", "order_id") == "fk_rails_6af949464b"


def test_structure_sql():
    m = parse_structure_sql(STRUCTURE_SQL)
    assert m.version == "20240201000001" and [t.name for t in m.tables] == ["orders", "payments"]
    orders = m.table("orders")
    assert orders.primary_key == ("id",)
    assert orders.column("customer_id").null is False and orders.column("note").null is True
    assert orders.column("status").default == "new" and orders.column("note").default is None
    assert orders.column("weird").default == "it's"
    assert orders.column("created_at").default == "current_timestamp(6)"
    assert orders.index_named("index_orders_on_status") == Index("index_orders_on_status", ("status",), True,
                                                                  (("status", 10),))
    assert orders.index_named("index_orders_on_customer_id_and_created_at").columns == ("customer_id", "created_at")
    payments = m.table("payments")
    assert payments.column("order_id").type == "bigint(20) unsigned"
    assert payments.foreign_keys == (ForeignKey("fk_rails_6af949464b", ("order_id",), "orders", ("id",)),)


def test_unknown_lines_are_skipped_not_guessed():
    m = parse_schema_rb('ActiveRecord::Schema.define(version: 1) do\n  create_table "a" do |t|\n'
                        '    t.string "x"\n    execute "weird"\n    t.foo_bar\n  end\n  create_view "v"\nend\n')
    assert [t.name for t in m.tables] == ["a"] and [c.name for c in m.table("a").columns] == ["id", "x"]


def test_migration_versions():
    assert migration_versions(["20240201000001_b.rb", ".keep", "20240101000001_a.rb", "x.rb"]) == (
        "20240101000001", "20240201000001")


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, text=True).stdout.strip()


def test_load_schema_at_a_commit(tmp_path):
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "t@t")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "db" / "migrate").mkdir(parents=True)
    (tmp_path / "README").write_text("x")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "none")
    bare = _git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "db" / "schema.rb").write_text(SCHEMA_RB)
    (tmp_path / "db" / "migrate" / "20240101000001_a.rb").write_text("")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "rb")
    rb = _git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "db" / "structure.sql").write_text(STRUCTURE_SQL)
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "sql")
    repo = GitRepo(tmp_path)
    assert load_schema(repo, bare) is None
    at_rb = load_schema(repo, rb)
    assert at_rb.source == "db/schema.rb" and at_rb.migrations == ("20240101000001",) and at_rb.table("tags")
    at_sql = load_schema(repo, _git(tmp_path, "rev-parse", "HEAD"))
    assert at_sql.source == "db/structure.sql" and at_sql.table("payments") is not None
