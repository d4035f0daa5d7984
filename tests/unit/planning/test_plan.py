"""`build_plan` and `shipit plan` over real git repositories built in temporary folders."""

from __future__ import annotations

import json

import pytest

from shipit.cli.app import main
from shipit.core.errors import BadInput
from shipit.planning.plan import build_plan, render_text
from tests.unit.planning.conftest import migration


def release_with_everything(app_repo):
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({
        "db/migrate/20240301000000_add_orders.rb": migration(
            "AddOrders", "create_table :orders do |t|\n  t.references :user, foreign_key: true\nend"
        ),
        "db/migrate/20240301000001_add_users_email_index.rb": migration(
            "AddUsersEmailIndex", "add_index :users, :email, unique: true"
        ),
        "app/models/order.rb": "class Order < ApplicationRecord\nend\n",
    }, "orders")
    app_repo.commit({
        "db/post_migrate/20240301000002_remove_users_legacy.rb": migration(
            "RemoveUsersLegacy", "remove_column :users, :legacy, :string"
        ),
        "db/migrate/20240301000003_backfill.rb": migration("Backfill", 'execute "ALTER TABLE users ENGINE=InnoDB"'),
        "db/schema.rb": "ActiveRecord::Schema.define(version: 2024_03_01_000003) do\nend\n",
    }, "more")
    return base


def test_plan_over_a_range(app_repo):
    base = release_with_everything(app_repo)
    plan = build_plan(app_repo.path, base, "HEAD")
    assert plan.to_sha == app_repo.repo.head.commit.hexsha and plan.from_sha == base
    assert [m.version for m in plan.migrations] == ["20240301000000", "20240301000001", "20240301000002",
                                                     "20240301000003"]
    assert [m.version for m in plan.pre_deploy] == ["20240301000000", "20240301000001"]
    assert plan.post_deploy == ()
    # app/models/user.rb does not ignore `legacy`: dropping it after the code still breaks the code's INSERTs
    post, sql = plan.manual
    assert (post.version, sql.version) == ("20240301000002", "20240301000003")
    assert 'self.ignored_columns += ["legacy"]' in post.reason and post.after_code and not sql.after_code
    assert [m.version for m in plan.before_code(accept_manual=True)] == ["20240301000000", "20240301000001",
                                                                         "20240301000003"]
    assert [m.version for m in plan.after_code(accept_manual=True)] == ["20240301000002"]
    assert plan.after_code(accept_manual=False) == ()
    assert plan.code_changed is True
    assert plan.phases == ("preflight", "migrate", "wait_for_ddl", "gates", "rollout", "verify", "post_deploy")
    assert [(c.kind.value, c.table, c.columns) for c in plan.checks] == [("duplicates", "users", ("email",))]
    assert {e.name for e in plan.expected} >= {"orders", "index_orders_on_user_id", "index_users_on_email"}
    text = render_text(plan)
    assert "NEEDS A PERSON" in text and "ALTER TABLE users ENGINE=InnoDB" in text
    assert text.index("Preflight") < text.index("Migrate") < text.index("Code rollout") < text.index("Post-deploy")


def test_migration_only_release_skips_rollout(app_repo):
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({
        "db/migrate/20240301000000_add_index.rb": migration("AddIndex", "add_index :users, :email"),
        "db/schema.rb": "changed\n",
    })
    plan = build_plan(app_repo.path, base)
    assert plan.code_changed is False
    assert plan.phases == ("preflight", "migrate", "wait_for_ddl", "gates")


def test_code_only_release(app_repo):
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({"app/models/user.rb": "class User < ApplicationRecord\n  validates :email, presence: true\nend\n"})
    plan = build_plan(app_repo.path, base)
    assert plan.migrations == () and plan.phases == ("gates", "rollout", "verify")
    assert build_plan(app_repo.path, "HEAD", "HEAD").phases == ()


def test_edited_deleted_and_moved_migrations_are_warned(app_repo):
    app_repo.commit({
        "db/migrate/20240301000000_add_a.rb": migration("AddA", "add_column :users, :a, :string"),
        "db/migrate/20240301000001_remove_b.rb": migration("RemoveB", "remove_column :users, :b"),
    })
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({
        "db/migrate/20230101000000_create_users.rb": migration(
            "CreateUsers", "create_table :users do |t|\n  t.string :email\n  t.string :name\nend"
        ),
        "db/migrate/20240301000000_add_a.rb": None,
        "db/migrate/20240301000001_remove_b.rb": None,
        "db/post_migrate/20240301000001_remove_b.rb": migration("RemoveB", "remove_column :users, :b"),
    })
    plan = build_plan(app_repo.path, base)
    assert plan.migrations == ()  # Rails keys migrations by version: every version here already ran
    moved, edited, deleted = plan.warnings
    assert "db/post_migrate/20240301000001_remove_b.rb was moved from db/migrate/20240301000001_remove_b.rb" in moved
    assert "1 already-applied migration(s) edited (db/migrate/20230101000000_create_users.rb)" in edited
    assert "plan nothing" in edited
    assert "20240301000000_add_a.rb was deleted" in deleted
    text = render_text(plan)
    assert "note: 1 already-applied migration(s) edited" in text


def test_checks_skip_a_table_created_earlier_in_the_plan(app_repo):
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({
        "db/migrate/20240301000000_create_tags.rb": migration("CreateTags", "create_table :tags do |t|\n  t.string :name\nend"),
        "db/migrate/20240301000001_index_tags.rb": migration("IndexTags", "add_index :tags, :name, unique: true"),
    })
    assert build_plan(app_repo.path, base).checks == ()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--from", "nope"], "unknown git ref 'nope'"),
        (["--from", "HEAD", "--to", "main~5"], "unknown git ref"),
    ],
)
def test_bad_refs(app_repo, args, message):
    with pytest.raises(BadInput, match=message):
        build_plan(app_repo.path, *args[1::2])


def test_from_on_another_branch_is_planned_as_a_set_difference(app_repo):
    """A hotfix branch deployed from a side branch: what --to has and --from lacks, not a refusal."""
    base = app_repo.repo.head.commit.hexsha
    app_repo.repo.git.checkout("-b", "hotfix")
    hotfix = app_repo.commit({
        "db/migrate/20240301000001_add_a.rb": migration("AddA", "add_column :users, :a, :string"),
        "app/a.rb": "a\n",
    })
    app_repo.repo.git.checkout("main")
    app_repo.commit({
        "db/migrate/20240301000001_add_a.rb": migration("AddA", "add_column :users, :a, :string"),
        "db/migrate/20240301000002_add_b.rb": migration("AddB", "add_column :users, :b, :string"),
    })
    plan = build_plan(app_repo.path, hotfix, "main")
    assert [m.version for m in plan.migrations] == ["20240301000002"]
    assert any("not an ancestor" in w and "absent at --from" in w for w in plan.warnings)
    assert build_plan(app_repo.path, base, "main").migrations[0].version == "20240301000001"


def test_cli_json(app_repo, capsys):
    base = release_with_everything(app_repo)
    code = main(["plan", "--repo", str(app_repo.path), "--from", base, "--output", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["from"] == base and out["to"] == "HEAD" and out["code_changed"] is True and out["needs_person"]
    assert out["phases"][0] == "preflight"
    first = out["migrations"][0]
    assert {"version", "path", "name", "phase", "reason", "operations", "checks"} <= first.keys()
    assert first["operations"][1] == {
        "kind": "add_reference", "table": "orders", "columns": ["user_id"], "name": "index_orders_on_user_id",
        "to_table": "users", "column": "user_id", "primary_key": "id", "index": True, "foreign_key": True, "line": 4,
    }
    assert out["migrations"][1]["checks"] == [
        {"kind": "duplicates", "table": "users", "columns": ["email"], "migration_version": "20240301000001"}
    ]


def test_cli_text(app_repo, capsys):
    base = release_with_everything(app_repo)
    assert main(["plan", "--repo", str(app_repo.path), "--from", base]) == 0
    assert "1. Preflight" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["plan", "--repo", "{repo}"], "--from is required"),
        (["plan", "--repo", "{repo}", "--from", "v9"], "unknown git ref 'v9'"),
        (["plan", "--repo", "{tmp}", "--from", "HEAD"], "not a git repository"),
        (["plan", "--repo", "{tmp}/missing", "--from", "HEAD"], "no such directory"),
        (["plan", "--config", "{tmp}/nope.yaml", "--from", "HEAD"], "configuration file not found"),
    ],
)
def test_cli_bad_input_exits_3(app_repo, tmp_path, capsys, argv, message):
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [a.format(repo=app_repo.path, tmp=empty) for a in argv]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_repo_from_config(app_repo, tmp_path, capsys):
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({"app/b.rb": "b\n"})
    cfg = tmp_path / "shipit.yaml"
    cfg.write_text(
        f"""app: shop
repo: {app_repo.path}
kubernetes: {{namespace: shop}}
image: {{repository: registry.example.com/shop}}
deployments: [{{name: web}}]
migration: {{from_deployment: web, container: web}}
database: {{url: "mysql://root@127.0.0.1:1/shop"}}
"""
    )
    assert main(["plan", "--config", str(cfg), "--from", base, "-o", "json"]) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out["changed_files"] == ["app/b.rb"]
    assert (out["pending"]["source"], out["pending"]["database"]) == ("git", "mysql://root@127.0.0.1:1/shop")
    assert main(["plan", "--config", str(cfg), "--from", base]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[2] == "  pending: versions present at --to and absent at --from (the database was not read)"
    note = " ".join(text.split("\n  note: ")[1].split("\n\n")[0].split())
    assert note.startswith("could not read schema_migrations at mysql://root@127.0.0.1:1/shop, so git decided what is "
                           "pending: ") and "Connection refused" in note


def test_without_a_configuration_git_decides_and_says_so(app_repo, capsys):
    base = app_repo.repo.head.commit.hexsha
    assert main(["plan", "--repo", str(app_repo.path), "--from", base, "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["pending"]["source"] == "git"
    assert main(["plan", "--repo", str(app_repo.path), "--from", base]) == 0
    assert "  pending: versions present at --to and absent at --from (no configuration names a database)" in (
        capsys.readouterr().out.splitlines())


def test_manual_only_release_still_plans_preflight_and_migrate(app_repo):
    """`release --yes` runs accepted manual migrations in the migrate phase: the plan (and the record) must say so."""
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({"db/migrate/20240301000003_backfill.rb": migration("Backfill", 'execute "ALTER TABLE users FORCE"')})
    plan = build_plan(app_repo.path, base)
    assert [m.version for m in plan.manual] == ["20240301000003"] and plan.pre_deploy == ()
    assert plan.phases == ("preflight", "migrate", "gates")
    text = render_text(plan)
    assert "20240301000003 Backfill: manual, runs here only once accepted with `shipit release --yes`" in text


SCREEN_ROWS, SCREEN_COLUMNS = 24, 100


def test_the_plan_of_one_data_migration_fits_a_screen(app_repo):
    """A batched backfill and a whole-table UPDATE, planned from a full commit hash (as a release's default --from
    is): every line within the screen's width, the whole plan within its height."""
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({"db/migrate/20240301000000_backfill_user_plans.rb": """\
class BackfillUserPlans < ActiveRecord::Migration[7.1]
  disable_ddl_transaction!

  class MigrationUser < ApplicationRecord
    self.table_name = "users"
  end

  def up
    MigrationUser.unscoped.where(plan: nil).where.not(email: nil).in_batches(of: 1_000) do |relation|
      relation.update_all(plan: "free", updated_at: Time.current)
    end
    execute "UPDATE users SET email = LOWER(email) WHERE email <> LOWER(email) AND email LIKE '%@EXAMPLE.COM'"
  end

  def down
    raise ActiveRecord::IrreversibleMigration
  end
end
"""}, "backfill plans")
    text = render_text(build_plan(app_repo.path, base))
    lines = text.splitlines()
    assert len(lines) <= SCREEN_ROWS, text
    assert max(len(line) for line in lines) <= SCREEN_COLUMNS, text
    assert lines[0].endswith(f": {base[:12]} -> HEAD ({app_repo.repo.head.commit.hexsha[:12]})")
    assert "   20240301000000 BackfillUserPlans (db/migrate/20240301000000_backfill_user_plans.rb)" in lines
    assert "     pre_deploy: data changes only: safe before and after the new code" in lines
    assert any(line.startswith("       line 9: data code: MigrationUser.unscoped") and line.endswith("...")
               for line in lines)  # the source is cut at the width, not wrapped
    assert "one UPDATE over the whole table" in text


def test_a_plan_with_many_unknown_statements_and_warnings_stays_summarised(app_repo):
    base = app_repo.repo.head.commit.hexsha
    body = "\n".join([
        *(f"add_column :users, :flag_{i}, :boolean, null: false" for i in range(8)),
        "add_foreign_key :orders, :users",
        "add_index :users, :email, algorithm: :copy",
        "create_table :audits, force: true do |t|\n  t.string :what\nend",
        'execute "UPDATE users SET flag_0 = 1"',
        *(f"LegacyImporter.new(batch: {i}).import_every_account_with_its_orders_and_invoices!" for i in range(20)),
    ])
    app_repo.commit({"db/migrate/20240301000000_everything_at_once.rb": migration("EverythingAtOnce", body)})
    plan = build_plan(app_repo.path, base)
    (m,) = plan.migrations
    assert len(m.warnings) == 13  # eight alike, five of other kinds
    lines = render_text(plan).splitlines()
    assert max(len(line) for line in lines) <= SCREEN_COLUMNS
    unknown = lines.index("       20 statement(s) shipit does not understand:")
    assert [line.split(": ")[0].strip() for line in lines[unknown + 1:unknown + 4]] == ["line 17", "line 18",
                                                                                       "line 19"]
    assert lines[unknown + 4] == "         ... and 17 more (--output json lists them)"
    shown = [line for line in lines if line.startswith("     warning: ")]
    assert len(shown) == 5
    assert "     ... and 1 more warning (--output json lists them)" in lines
    assert any(line.startswith("     warning: lines 3, 4, 5, 6, 7 and 3 more: add_column users.flag_0") for line in shown)
    assert sum("LegacyImporter" in line for line in lines) <= 4  # three statements and the manual reason
