"""Where pending migrations come from: other directories and databases, the database's own list, shallow clones,
boot-time migrations, and a plan a person can read."""

from __future__ import annotations

import subprocess

import pytest

from shipit.core.errors import BadInput
from shipit.planning.boot import boot_decision, find_boot_migrations
from shipit.planning.layout import database_paths, layout_for
from shipit.planning.plan import build_plan, render_text
from shipit.planning.render import grouped_warnings
from tests.unit.planning.conftest import migration

DATABASE_YML = """default: &default
  adapter: mysql2
  username: <%= ENV["DB_USER"] %>
production:
  primary:
    <<: *default
    database: shop
  queue:
    <<: *default
    database: shop_queue
    migrations_paths: db/queue_migrate
  cache:
    <<: *default
    migrations_paths: [db/cache_migrate]
"""


def test_database_yml_migrations_paths_per_database():
    dirs = database_paths(DATABASE_YML)
    assert [(d.path, d.database) for d in dirs] == [("db/queue_migrate", "queue"), ("db/cache_migrate", "cache")]
    single = "production:\n  adapter: mysql2\n  migrations_paths: db/other\n"
    assert [(d.path, d.database) for d in database_paths(single)] == [("db/other", "primary")]
    assert database_paths("production: [unclosed") == ()


def test_every_directory_and_database_is_planned(app_repo):
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({
        "config/database.yml": DATABASE_YML,
        "db/queue_migrate/20240301000001_create_jobs.rb": migration("CreateJobs", "create_table :jobs do |t|\nend"),
        "engines/billing/db/migrate/20240301000002_create_invoices.rb": migration(
            "CreateInvoices", "create_table :invoices do |t|\nend"),
        "db/data/20240301000003_not_rails.rb": migration("NotRails", "add_column :users, :x, :string"),
        "db/migrate/20240301000004_create_jobs.rb": migration("CreateJobs", "create_table :jobs do |t|\nend"),
        "db/extra/20240301000005_add_y.rb": migration("AddY", "add_column :users, :y, :string"),
    })
    plan = build_plan(app_repo.path, base, extra_paths=("db/extra",))
    got = [(m.version, m.database) for m in plan.migrations]
    assert got == [("20240301000001", "queue"), ("20240301000002", "primary"), ("20240301000004", "primary"),
                   ("20240301000005", "primary")]
    assert plan.databases == ("primary", "queue", "cache")
    # the same table created on two databases: each database's checks see only its own new tables
    assert "databases: primary, queue, cache" in render_text(plan)
    layout = layout_for(("engines/billing/db/migrate/1_x.rb", "vendor/gems/x/db/migrate/1_y.rb"), None)
    assert [d.path for d in layout.dirs] == ["db/migrate", "db/post_migrate", "engines/billing/db/migrate"]


def test_an_engines_model_at_to_decides_its_column_removal(app_repo):
    app_repo.commit({"engines/shipping/app/models/shipping/shipment.rb": (
        "module Shipping\n  class Shipment < ApplicationRecord\n  end\nend\n")})
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({"engines/shipping/db/migrate/20240301000001_remove_code.rb": migration(
        "RemoveCode", "remove_column :shipping_shipments, :code, :string")})
    (m,) = build_plan(app_repo.path, base).migrations
    assert m.phase.value == "manual" and "Shipment (engines/shipping/app/models/shipping/shipment.rb)" in m.reason
    app_repo.commit({"engines/shipping/app/models/shipping/shipment.rb": (
        "module Shipping\n  class Shipment < ApplicationRecord\n    self.ignored_columns += [\"code\"]\n  end\nend\n")})
    (m,) = build_plan(app_repo.path, base).migrations
    assert m.phase.value == "post_deploy" and "Shipment ignores it at --to" in m.reason


def test_pending_is_what_the_database_has_not_applied(app_repo):
    app_repo.commit({"db/migrate/20240301000001_add_a.rb": migration("AddA", "add_column :users, :a, :string")})
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({"db/migrate/20240301000002_add_b.rb": migration("AddB", "add_column :users, :b, :string")})
    # the database never ran 20240301000001 (a failed release): it is pending though it exists at --from
    plan = build_plan(app_repo.path, base, applied=frozenset({"20230101000000"}))
    assert [m.version for m in plan.migrations] == ["20240301000001", "20240301000002"]
    assert build_plan(app_repo.path, base).migrations[0].version == "20240301000002"


def test_post_migrate_manual_migration_still_runs_after_the_code(app_repo):
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({
        "db/post_migrate/20240301000001_cleanup.rb": migration("Cleanup", "cleanup_concurrent_column_rename :a, :b, :c"),
        "app/x.rb": "x\n",
    })
    plan = build_plan(app_repo.path, base)
    (m,) = plan.manual
    assert m.after_code and plan.before_code(accept_manual=True) == ()
    assert plan.after_code(accept_manual=True) == (m,)
    assert plan.phases == ("gates", "rollout", "verify", "post_deploy")
    assert "manual, runs after the code only once accepted" in render_text(plan)


ENTRYPOINT = """#!/bin/bash -e
# If running the rails server then create or migrate existing database
if [ "${1}" == "./bin/rails" ] && [ "${2}" == "server" ]; then
  ./bin/rails db:prepare
fi

exec "${@}"
"""


def test_boot_time_migrations_stop_a_release_that_holds_migrations_back():
    found = find_boot_migrations({"bin/docker-entrypoint": ENTRYPOINT, "Procfile": "web: bin/rails server\n"},
                                 ("bundle exec rails db:migrate && bundle exec puma",))
    assert [(b.where, b.task) for b in found] == [("bin/docker-entrypoint line 4", "db:prepare"),
                                                  ("the Deployment's command/args", "db:migrate")]
    stop = boot_decision(found, ("20240301000002",))
    assert stop.stop and "20240301000002" in stop.message and "environment variable" in stop.message
    warn = boot_decision(found, ())
    assert not warn.stop and "harmless for this release" in warn.message
    guarded = find_boot_migrations({"bin/docker-entrypoint": 'if [ -z "$SKIP_MIGRATE" ]; then\n'
                                                             '  ./bin/rails db:prepare\nfi\n'})
    assert guarded[0].guards == ("SKIP_MIGRATE",)
    assert boot_decision(guarded, ("1",), deployment_env=frozenset({"SKIP_MIGRATE"})) is None
    assert find_boot_migrations({"bin/docker-entrypoint": "# ./bin/rails db:prepare\nexec \"$@\"\n"}) == ()


def test_plan_reads_the_entrypoint_at_to(app_repo):
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({
        "bin/docker-entrypoint": ENTRYPOINT,
        "db/post_migrate/20240301000001_drop_x.rb": migration("DropX", "drop_table :x"),
    })
    plan = build_plan(app_repo.path, base)
    assert plan.boot is not None and plan.boot.stop and "20240301000001" in plan.boot.message
    assert render_text(plan).splitlines()[2].startswith("  STOP: the app migrates at boot")
    assert plan.to_json()["boot_migrations"]["stop"] is True


def _origin_and_shallow_clone(app_repo, tmp_path):
    first = app_repo.repo.head.commit.hexsha
    app_repo.commit({"db/migrate/20240301000001_add_a.rb": migration("AddA", "add_column :users, :a, :string")})
    subprocess.run(["git", "-C", str(app_repo.path), "config", "uploadpack.allowAnySHA1InWant", "true"], check=True)
    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{app_repo.path}", str(clone)], check=True)
    return first, clone


def test_shallow_clone_fetches_the_from_commit(app_repo, tmp_path):
    first, clone = _origin_and_shallow_clone(app_repo, tmp_path)
    plan = build_plan(clone, first)
    assert [m.version for m in plan.migrations] == ["20240301000001"] and plan.from_sha == first


def test_shallow_clone_without_the_commit_upstream_says_how_to_fix_ci(app_repo, tmp_path):
    _, clone = _origin_and_shallow_clone(app_repo, tmp_path)
    with pytest.raises(BadInput, match="shallow clone.*fetch-depth: 0"):
        build_plan(clone, "0" * 40)


def test_readable_output_groups_warnings_and_summarises_unknowns(app_repo):
    base = app_repo.repo.head.commit.hexsha
    body = "\n".join(f"Helper.step{i}!" for i in range(5)) + "\n" + "\n".join(
        f"add_column :users, :c{i}, :string, null: false" for i in range(3))
    app_repo.commit({
        "db/migrate/20240301000001_many.rb": migration("Many", body),
        "db/migrate/20240301000002_old.rb": "class Old < ActiveRecord::Migration\n  def change\n"
                                            "    add_column :users, :z, :string\n  end\nend\n",
        "db/migrate/20240301000003_old2.rb": "class Old2 < ActiveRecord::Migration\n  def change\n"
                                             "    add_column :users, :w, :string\n  end\nend\n",
    })
    text = render_text(build_plan(app_repo.path, base))
    assert ("       5 statement(s) shipit does not understand:\n"
            "         line 3: Helper.step0!\n         line 4: Helper.step1!\n         line 5: Helper.step2!\n"
            "         ... and 2 more (--output json lists them)\n") in text
    assert text.count("the old code's INSERTs fail (ERROR 1364)") == 1
    assert ("lines 8, 9, 10: add_column users.c0 string NOT NULL without a default; add_column users.c1"
            in " ".join(text.split()))
    assert text.count("have no ActiveRecord::Migration[x.y] version") == 1
    assert "2 migration(s) have no" in text


def test_grouped_warnings():
    got = grouped_warnings(("line 3: a: same why", "line 5: b: same why", "other", "other", "line 7: plain"))
    assert got == [("lines 3, 5: a; b: same why", 1), ("other", 2), ("line 7: plain", 1)]


def test_cli_reads_migration_paths_from_the_configuration(app_repo, tmp_path, capsys):
    import json

    from shipit.cli.app import main

    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({"db/archive/20240301000001_add_a.rb": migration("AddA", "add_column :users, :a, :string")})
    cfg = tmp_path / "shipit.yaml"
    cfg.write_text(f"""app: shop
repo: {app_repo.path}
kubernetes: {{namespace: shop}}
image: {{repository: registry.example.com/shop}}
deployments: [{{name: web}}]
migration: {{from_deployment: web, container: web, paths: [db/archive]}}
database: {{url: "mysql://root@127.0.0.1:1/shop"}}
""")
    assert main(["plan", "--config", str(cfg), "--from", base, "-o", "json"]) == 0, capsys.readouterr().err
    assert [m["version"] for m in json.loads(capsys.readouterr().out)["migrations"]] == ["20240301000001"]
    assert main(["plan", "--repo", str(app_repo.path), "--from", base, "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["migrations"] == []


def test_the_deployments_command_and_env_join_the_boot_check(app_repo):
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({"db/post_migrate/20240301000001_drop_x.rb": migration("DropX", "drop_table :x")})
    assert build_plan(app_repo.path, base).boot is None
    plan = build_plan(app_repo.path, base, deployment_commands=("sh -c 'bin/rails db:migrate && exec puma'",))
    assert plan.boot.stop and "the Deployment's command/args" in plan.boot.message


def test_a_single_branch_clone_fetches_a_commit_that_exists_upstream(app_repo, tmp_path):
    first = app_repo.repo.head.commit.hexsha
    app_repo.repo.git.checkout("-b", "release")
    side = app_repo.commit({"db/migrate/20240301000001_add_a.rb": migration("AddA", "add_column :users, :a, :string")})
    app_repo.repo.git.checkout("main")
    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", "--single-branch", "--branch", "main", str(app_repo.path), str(clone)],
                   check=True)
    plan = build_plan(clone, first, side)
    assert plan.to_sha == side and [m.version for m in plan.migrations] == ["20240301000001"]
    with pytest.raises(BadInput, match="unknown git ref 'no-such-ref'"):
        build_plan(clone, "no-such-ref")


def test_the_databases_applied_versions_speak_for_the_primary_only(app_repo):
    app_repo.commit({
        "config/database.yml": DATABASE_YML,
        "db/queue_migrate/20240301000001_create_jobs.rb": migration("CreateJobs", "create_table :jobs do |t|\nend"),
    })
    base = app_repo.repo.head.commit.hexsha
    app_repo.commit({"db/migrate/20240301000002_add_b.rb": migration("AddB", "add_column :users, :b, :string")})
    plan = build_plan(app_repo.path, base, applied=frozenset({"20230101000000"}))
    assert [(m.version, m.database) for m in plan.migrations] == [("20240301000002", "primary")]


def test_each_read_databases_schema_migrations_decides_its_own_pending_set(app_repo):
    app_repo.commit({
        "config/database.yml": DATABASE_YML,
        "db/queue_migrate/20240301000001_create_jobs.rb": migration("CreateJobs", "create_table :jobs do |t|\nend"),
        "db/queue_migrate/20240301000003_add_kind.rb": migration("AddKind", "add_column :jobs, :kind, :string"),
    })
    head = app_repo.commit({"db/migrate/20240301000002_add_b.rb": migration("AddB", "add_column :users, :b, :string")})
    applied = {"primary": frozenset({"20230101000000"}), "queue": frozenset({"20240301000001"})}
    plan = build_plan(app_repo.path, head, head, applied=applied)
    assert [(m.version, m.database) for m in plan.migrations] == [("20240301000002", "primary"),
                                                                  ("20240301000003", "queue")]
    # a version in the other database's table is not applied here
    applied = {"primary": frozenset({"20230101000000", "20240301000003"}), "queue": frozenset({"20240301000001"})}
    plan = build_plan(app_repo.path, head, head, applied=applied)
    assert ("20240301000003", "queue") in [(m.version, m.database) for m in plan.migrations]
