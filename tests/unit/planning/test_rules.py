"""Each operation kind's staging rule, with the app's facts it needs (models at --to, columns at --from)."""

from __future__ import annotations

import pytest

from shipit.planning.classify import MigrationPhase, checks_for, classify, warnings_for
from shipit.planning.facts import AppFacts, columns_from_schema, is_model_path, model_from_source, models_from_sources
from shipit.planning.rails import OpKind, parse_migration
from shipit.planning.rules import RULES, Stage, default_removal
from tests.unit.planning.conftest import migration


def parse(body: str, version: str = "7.1", post: bool = False):
    return parse_migration(migration("M", body, version), "db/migrate/20240101000001_m.rb")


def test_every_kind_has_one_rule_and_the_removing_property():
    assert set(RULES) == set(OpKind)
    assert {k for k in OpKind if k.removes} >= {OpKind.REMOVE_COLUMN, OpKind.REMOVE_INDEX, OpKind.REMOVE_FOREIGN_KEY,
                                                OpKind.DROP_TABLE, OpKind.RENAME_COLUMN}
    assert not OpKind.ADD_COLUMN.removes


USER_IGNORING = "class User < ApplicationRecord\n  self.ignored_columns += %w[legacy]\nend\n"


@pytest.mark.parametrize("models,phase,words", [
    ({"app/models/user.rb": USER_IGNORING}, MigrationPhase.POST_DEPLOY, "User ignores it at --to"),
    ({"app/models/user.rb": "class User < ApplicationRecord\nend\n"}, MigrationPhase.MANUAL,
     'add `self.ignored_columns += ["legacy"]` to the model'),
    ({}, MigrationPhase.POST_DEPLOY, "no model at --to maps to users"),
    (None, MigrationPhase.MANUAL, "models at --to were not read"),
])
def test_remove_column_is_after_the_code_only_when_the_model_ignores_it(models, phase, words):
    facts = AppFacts(None if models is None else models_from_sources(models))
    got, reason = classify(parse("remove_column :users, :legacy, :string"), post_migrate_dir=False, facts=facts)
    assert got is phase and words in reason


def test_models_found_by_table_name_and_ignored_columns_in_every_spelling():
    m = model_from_source("app/models/billing/account.rb", 'module Billing\n  class Account < ApplicationRecord\n'
                          '    self.table_name = "customer_accounts"\n    self.ignored_columns = [:a, "b"]\n'
                          '    self.ignored_columns += %i[c]\n  end\nend\n')
    assert (m.class_name, m.table, m.ignored_columns) == ("Account", "customer_accounts", frozenset({"a", "b", "c"}))
    assert model_from_source("app/models/person.rb", "class Person < ApplicationRecord\nend\n").table == "people"


def test_engines_kept_in_the_repository_have_models_too():
    assert is_model_path("engines/shipping/app/models/shipping/shipment.rb")
    assert is_model_path("components/billing/app/models/invoice.rb")
    for elsewhere in ("vendor/gems/x/app/models/y.rb", "engines/shipping/spec/dummy/app/models/z.rb",
                      "engines/shipping/app/models/concerns/trackable.rb", "lib/app/models.rb"):
        assert not is_model_path(elsewhere), elsewhere
    # an isolated engine's models live in a folder named after it, and their tables carry its prefix
    shipment = "module Shipping\n  class Shipment < ApplicationRecord\n  end\nend\n"
    assert model_from_source("engines/shipping/app/models/shipping/shipment.rb", shipment).table == "shipping_shipments"
    assert model_from_source("engines/shipping/app/models/carrier.rb", "class Carrier < ApplicationRecord\nend\n"
                             ).table == "carriers"
    assert model_from_source("app/models/shipping/shipment.rb", shipment).table == "shipments"


def test_default_removal_is_a_pure_rule_over_the_column_definition():
    assert default_removal("users", "status", null=False).stage is Stage.PERSON
    assert default_removal("users", "nick", null=True).stage is Stage.EITHER


@pytest.mark.parametrize("path,text", [
    ("db/schema.rb", 'ActiveRecord::Schema[7.1].define(version: 1) do\n  create_table "users", force: :cascade do |t|\n'
                     '    t.string "status", default: "active", null: false\n    t.string "nick"\n  end\nend\n'),
    ("db/structure.sql", "CREATE TABLE `users` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n"
                         "  `status` varchar(255) NOT NULL DEFAULT 'active',\n  `nick` varchar(255) DEFAULT NULL,\n"
                         "  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n"),
])
def test_change_column_default_to_nil_reads_the_column_at_from(path, text):
    facts = AppFacts(columns=columns_from_schema(path, text))
    strict, why = classify(parse('change_column_default :users, :status, from: "active", to: nil'),
                           post_migrate_dir=False, facts=facts)
    assert strict is MigrationPhase.MANUAL and "ERROR 1364" in why
    relaxed, _ = classify(parse("change_column_default :users, :nick, nil"), post_migrate_dir=False, facts=facts)
    assert relaxed is MigrationPhase.PRE_DEPLOY
    unknown, why = classify(parse("change_column_default :users, :other, nil"), post_migrate_dir=False, facts=facts)
    assert unknown is MigrationPhase.MANUAL and "unsure" in why


def test_renames_need_a_person_with_the_recipe():
    for body in ("rename_column :users, :name, :full_name", "rename_table :events, :activities",
                 "change_table :users do |t|\n  t.rename :a, :b\nend"):
        phase, why = classify(parse(body), post_migrate_dir=True, facts=AppFacts({}))
        assert phase is MigrationPhase.MANUAL and "expand/contract" in why


def test_drop_table_with_a_model_at_to_needs_a_person():
    facts = AppFacts(models_from_sources({"app/models/post.rb": "class Post < ApplicationRecord\nend\n"}))
    phase, why = classify(parse("drop_table :posts"), post_migrate_dir=False, facts=facts)
    assert phase is MigrationPhase.MANUAL and "delete the model first" in why


def test_class_body_statements_run_when_the_file_loads():
    src = "class M < ActiveRecord::Migration[7.1]\n  DOWNTIME = false\n  include Helpers\n  remove_index :users, :x\n" \
          "  def change\n    add_index :users, :y\n  end\nend\n"
    parsed = parse_migration(src, "db/migrate/20240101000001_m.rb")
    assert [(op.kind, op.line) for op in parsed.operations] == [(OpKind.REMOVE_INDEX, 4), (OpKind.ADD_INDEX, 6)]
    assert classify(parsed, post_migrate_dir=False)[0] is MigrationPhase.PRE_DEPLOY  # an index swap


def test_data_code_before_a_check_makes_it_advisory_with_the_line():
    parsed = parse('User.where(email: nil).delete_all\nadd_index :users, :email, unique: true\n'
                   'add_foreign_key :orders, :users')
    dup, orphans = checks_for(parsed)
    assert dup.advisory == orphans.advisory == "data code at line 3 runs first and may fix these rows"
    assert checks_for(parse("add_index :users, :email, unique: true"))[0].advisory == ""


def test_index_swap_is_not_a_mix_but_other_removals_are():
    swap = parse("add_index :orders, [:user_id, :created_at]\nremove_index :orders, :user_id")
    assert classify(swap, post_migrate_dir=False)[0] is MigrationPhase.PRE_DEPLOY
    mix = parse("add_index :orders, :state\nremove_index :users, :x")
    assert "mixes" in classify(mix, post_migrate_dir=False)[1]


def test_table_rebuilds_are_flagged_with_their_lock():
    parsed = parse('add_column :people, :n, :virtual, type: :string, as: "x", stored: true\n'
                   'add_index :articles, :body, type: :fulltext\n'
                   'execute "ALTER TABLE notes CONVERT TO CHARACTER SET utf8mb4"')
    rebuilds = [w for w in warnings_for(parsed) if "ALGORITHM=COPY" in w]
    assert len(rebuilds) == 3 and all("writes to it are blocked" in w for w in rebuilds)


def test_check_constraint_waits_for_the_code_and_checks_existing_rows():
    parsed = parse('add_check_constraint :products, "price >= 0", name: "price_ok"')
    phase, _ = classify(parsed, post_migrate_dir=False)
    (check,) = checks_for(parsed)
    assert phase is MigrationPhase.POST_DEPLOY and check.expression == "price >= 0"
    assert checks_for(parse('add_check_constraint :p, "a > 0", validate: false')) == ()


def test_every_model_on_the_table_must_ignore_the_column():
    facts = AppFacts(models_from_sources({
        "app/models/user.rb": USER_IGNORING,
        "app/models/admin/member.rb": 'class Admin::Member < ApplicationRecord\n  self.table_name = "users"\nend\n',
    }))
    phase, why = classify(parse("remove_column :users, :legacy"), post_migrate_dir=False, facts=facts)
    assert phase is MigrationPhase.MANUAL and "Admin::Member (app/models/admin/member.rb) does not ignore" in why


def test_versionless_migrations_fail_on_rails_5_1_and_later():
    from shipit.planning.facts import rails_version

    src = "class AddZ < ActiveRecord::Migration\n  def change\n    add_column :users, :z, :string\n  end\nend\n"
    parsed = parse_migration(src, "db/migrate/20150101000000_add_z.rb")
    lock = "GEM\n  specs:\n    activerecord (7.1.3.2)\n      activemodel (= 7.1.3.2)\n"
    assert rails_version(lock) == (7, 1)
    phase, why = classify(parsed, post_migrate_dir=False, facts=AppFacts(rails=rails_version(lock)))
    assert phase is MigrationPhase.MANUAL and "Directly inheriting" in why
    assert classify(parsed, post_migrate_dir=False, facts=AppFacts(rails=(4, 2)))[0] is MigrationPhase.PRE_DEPLOY


def test_an_unbatched_update_is_warned_and_a_batched_one_is_not():
    warned = warnings_for(parse('execute "UPDATE users SET role = \'member\' WHERE role IS NULL"'))
    assert any("one UPDATE over the whole table" in w for w in warned)
    assert warnings_for(parse('execute "DELETE FROM sessions WHERE updated_at < NOW() LIMIT 1000"')) == ()
