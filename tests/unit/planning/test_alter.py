"""The MySQL DDL reader shared by `execute`, LHM and the gh-ost/pt-online-schema-change `--alter` clause, and the
tool-call shapes the corpus does not spell out one by one."""

from __future__ import annotations

import pytest

from shipit.planning.classify import warnings_for
from shipit.planning.rails import OpKind, parse_migration
from shipit.planning.rails.alter import UnreadableSql, alter_clause, column_definition, statement
from shipit.planning.rails.operations import Tool


def kinds(specs):
    return [s.kind for s in specs]


def test_several_specs_in_one_clause_with_algorithm_applied_to_each():
    specs = alter_clause("orders", "ADD INDEX idx_a (a, `b`(10) DESC), ADD COLUMN c INT NOT NULL DEFAULT 0, "
                                   "DROP COLUMN d, DROP KEY idx_old, ALGORITHM=INPLACE, LOCK=NONE")
    assert kinds(specs) == [OpKind.ADD_INDEX, OpKind.ADD_COLUMN, OpKind.REMOVE_COLUMN, OpKind.REMOVE_INDEX]
    index = specs[0].fields
    assert index["columns"] == ("a", "b") and index["lengths"] == (("b", 10),) and index["name"] == "idx_a"
    assert all(s.fields["algorithm"] == "inplace" for s in specs)
    assert specs[1].fields | {"algorithm": None} == {"columns": ("c",), "column": "c", "column_type": "INT",
                                                     "null": False, "default": 0, "stored": False, "algorithm": None}
    assert specs[3].fields["name"] == "idx_old"


@pytest.mark.parametrize("clause,unique,name,index_type", [
    ("ADD UNIQUE INDEX idx_email (email)", True, "idx_email", None),
    ("add unique key (email)", True, "email", None),  # MySQL names an unnamed index after its first column
    ("ADD CONSTRAINT uq_email UNIQUE (email)", True, "uq_email", None),
    ("ADD KEY `idx_email` USING BTREE (email)", False, "idx_email", None),
    ("ADD FULLTEXT INDEX ft_email (email)", False, "ft_email", "fulltext"),
])
def test_index_specs(clause, unique, name, index_type):
    (spec,) = alter_clause("users", clause)
    assert spec.kind is OpKind.ADD_INDEX and spec.fields["columns"] == ("email",)
    assert (spec.fields["unique"], spec.fields["name"], spec.fields["index_type"]) == (unique, name, index_type)


def test_column_definitions_give_type_null_and_default():
    assert column_definition("VARCHAR(255) NOT NULL DEFAULT ''").__dict__ == \
        {"type": "VARCHAR(255)", "null": False, "default": "", "stored": False}
    assert column_definition("DECIMAL(10, 2) NULL COMMENT 'x'").type == "DECIMAL(10,2)"
    d = column_definition("DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)")
    assert (d.type, d.null, d.default) == ("DATETIME(6)", False, "CURRENT_TIMESTAMP")
    assert column_definition("ENUM('a','b') DEFAULT 'it''s'").default == "it's"
    assert column_definition("INT DEFAULT NULL").default is None


def test_modify_change_rename_and_default_specs():
    modify, change, rename, rename_index, default = alter_clause(
        "t", "MODIFY COLUMN amount DECIMAL(12,2) NOT NULL, CHANGE a b INT, RENAME COLUMN c TO d, "
             "RENAME INDEX i TO j, ALTER COLUMN s SET DEFAULT 'x'")
    assert modify.kind is OpKind.CHANGE_COLUMN and modify.fields["null"] is False
    assert change.kind is OpKind.RENAME_COLUMN and change.fields["new_name"] == "b"
    assert rename.kind is OpKind.RENAME_COLUMN and (rename.fields["column"], rename.fields["new_name"]) == ("c", "d")
    assert rename_index.kind is OpKind.RENAME_INDEX and rename_index.fields["new_name"] == "j"
    assert default.kind is OpKind.CHANGE_COLUMN_DEFAULT and default.fields["default"] == "x"
    (same,) = alter_clause("t", "CHANGE COLUMN a a BIGINT")
    assert same.kind is OpKind.CHANGE_COLUMN and same.fields["column_type"] == "BIGINT"


def test_foreign_key_needs_a_constraint_name_and_one_column():
    (fk,) = alter_clause("orders",
                         "ADD CONSTRAINT fk_o FOREIGN KEY (user_id) REFERENCES `users` (id) ON DELETE CASCADE")
    assert fk.kind is OpKind.ADD_FOREIGN_KEY
    assert (fk.fields["name"], fk.fields["column"], fk.fields["to_table"], fk.fields["primary_key"]) == \
        ("fk_o", "user_id", "users", "id")
    with pytest.raises(UnreadableSql, match="orders_ibfk_N"):
        alter_clause("orders", "ADD FOREIGN KEY (user_id) REFERENCES users (id)")
    with pytest.raises(UnreadableSql, match="several columns"):
        alter_clause("orders", "ADD CONSTRAINT f FOREIGN KEY (a, b) REFERENCES x (a, b)")


@pytest.mark.parametrize("clause", [
    "ENGINE=InnoDB", "CONVERT TO CHARACTER SET utf8mb4", "ADD PRIMARY KEY (id)", "ADD (a INT, b INT)",
    "ADD INDEX ((lower(email)))", "DROP PRIMARY KEY", "ADD INDEX i (a), FORCE", "ADD COLUMN a VARCHAR(3) DEFAULT 'x",
])
def test_a_clause_is_read_whole_or_not_at_all(clause):
    with pytest.raises(UnreadableSql):
        alter_clause("t", clause)


def test_statements():
    assert statement("ALTER TABLE `shop`.`orders` ADD INDEX i (a)")[0] == "orders"
    table, (spec,) = statement("CREATE UNIQUE INDEX idx_n ON orders (number) ALGORITHM=INPLACE;")
    assert table == "orders" and spec.fields["unique"] and spec.fields["algorithm"] == "inplace"
    table, (drop,) = statement("DROP INDEX idx_n ON orders")
    assert (table, drop.kind, drop.fields["name"]) == ("orders", OpKind.REMOVE_INDEX, "idx_n")
    with pytest.raises(UnreadableSql):
        statement("UPDATE orders SET a = 1")


def parse(body: str, helpers: str = ""):
    source = f"class AddThing < ActiveRecord::Migration[7.0]\n  def up\n{body}\n  end\n{helpers}end\n"
    return parse_migration(source, "20240101000000_add_thing.rb").operations


def test_execute_reads_ddl_but_keeps_other_sql_raw():
    (op,) = parse('    execute "ALTER TABLE orders ADD COLUMN note TEXT"')
    assert op.kind is OpKind.ADD_COLUMN and op.tool is None and op.table == "orders"
    (raw,) = parse('    execute "ALTER TABLE orders ENGINE=InnoDB"')
    assert raw.kind is OpKind.EXECUTE and raw.sql == "ALTER TABLE orders ENGINE=InnoDB"


@pytest.mark.parametrize("call", [
    'system({"PTDEBUG" => "0"}, "pt-online-schema-change", "--alter=ADD INDEX i (a)", "--execute", "D=app,t=orders")',
    'Open3.capture3("/usr/bin/pt-online-schema-change --execute --alter \\"ADD INDEX i (a)\\" h=db1,D=app,t=orders")',
    'system("gh-ost --table orders --alter \'ADD INDEX i (a)\' --execute") || abort("gh-ost failed")',
    'out = `gh-ost -table=orders -alter="ADD INDEX i (a)" -execute`',
])
def test_tool_call_shapes(call):
    (op,) = parse(f"    {call}")
    assert (op.kind, op.table, op.name, op.columns) == (OpKind.ADD_INDEX, "orders", "i", ("a",))
    assert op.tool in (Tool.PT_OSC, Tool.GH_OST)


@pytest.mark.parametrize("call,why", [
    ('system("gh-ost --alter=\'ADD INDEX i (a)\' --table=#{table} --execute")', "--table is built at run time"),
    ('system("pt-online-schema-change --alter \'ADD INDEX i (a)\' --execute")', "the DSN's t= is missing"),
    ('system("pt-online-schema-change --alter \'ENGINE=InnoDB\' --execute D=a,t=orders")', "could not read this "
                                                                                          "pt-online-schema-change"),
    ("system(command)", "built at run time"),
    ('system("bin/rails runner Backfill.run")', "not gh-ost or pt-online-schema-change"),
])
def test_unreadable_tool_calls_say_which_call(call, why):
    (op,) = parse(f"    {call}")
    assert op.kind is OpKind.UNKNOWN and why in op.note


def test_what_the_tools_refuse_is_a_failure():
    pt = "pt-online-schema-change --execute D=app,t=orders --alter"
    (unique,) = parse(f'    system("{pt} \'ADD UNIQUE KEY u (a)\'")')
    (not_null,) = parse(f'    system("{pt} \'ADD COLUMN b INT NOT NULL\'")')
    (with_default,) = parse(f'    system("{pt} \'ADD COLUMN b INT NOT NULL DEFAULT 0\'")')
    (allowed,) = parse(f'    system("{pt} \'ADD UNIQUE KEY u (a)\' --no-check-unique-key-change")')
    assert "--no-check-unique-key-change" in unique.failure and "without a default" in not_null.failure
    assert with_default.failure is None and allowed.failure is None and allowed.unique
    ghost = "gh-ost --table=a --execute --alter="
    (fk,) = parse(f'    system("{ghost}\'ADD CONSTRAINT f FOREIGN KEY (b_id) REFERENCES b (id)\'")')
    assert fk.failure == "gh-ost does not support foreign keys"


def test_tools_that_copy_with_insert_ignore_warn_that_rows_vanish():
    source = ("class AddThing < ActiveRecord::Migration[7.0]\n  def up\n    Lhm.change_table :users do |m|\n"
              "      m.add_unique_index :email\n      m.change_column :name, 'VARCHAR(10) NOT NULL'\n    end\n"
              "    add_index :users, :login, unique: true\n  end\nend\n")
    warnings = warnings_for(parse_migration(source, "20240101000000_add_thing.rb"))
    assert [w.split(":")[0] for w in warnings if "INSERT IGNORE" in w] == ["line 4", "line 5"]
    assert "dropped from users silently" in warnings[0] and "zero value" in warnings[1]


def test_helper_runs_with_the_call_arguments_and_keyword_defaults():
    helper = ('  def osc(table, alter, execute: true)\n'
              '    flag = execute ? "--execute" : "--dry-run"\n'
              '    system("pt-online-schema-change --alter \\"#{alter}\\" --execute D=app,t=#{table}")\n'
              '  end\n')
    ops = parse('    osc :orders, "DROP COLUMN a"\n    self.osc "users", "ADD COLUMN b INT"', helper)
    assert [(o.kind, o.table, o.column) for o in ops] == [
        (OpKind.REMOVE_COLUMN, "orders", "a"), (OpKind.ADD_COLUMN, "users", "b")]


def test_lhm_block_names_and_failures():
    long = "a" * 30
    ops = parse(f'    Lhm.change_table :orders do |m|\n      m.add_index [:{long}, :{long}_b]\n'
                f'      m.change_column :state, "SET DEFAULT \'new\'"\n      m.filter("inner join x")\n    end')
    index, default, filtered = ops
    assert index.name == f"index_orders_on_{long}_and_{long}_b" and "ERROR 1059" in index.failure
    assert default.kind is OpKind.CHANGE_COLUMN_DEFAULT and default.default == "new"
    assert filtered.kind is OpKind.UNKNOWN and "deletes every other row" in filtered.note


def test_departure_settings_are_no_statements():
    source = ("class AddThing < ActiveRecord::Migration[7.0]\n  uses_departure!\n  disable_departure! unless ENV['X']\n"
              "  Departure.configure { |c| c.global_percona_args = '--chunk-time=1' }\n"
              "  def change\n    add_column :users, :a, :string\n  end\nend\n")
    parsed = parse_migration(source, "20240101000000_add_thing.rb")
    assert [o.kind for o in parsed.operations] == [OpKind.ADD_COLUMN] and parsed.warnings == ()
