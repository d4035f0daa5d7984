"""Post-deploy migrations end to end: the pre-deploy Job stops before them, the second Job runs them after the code
is verified; and an older-timestamped pre-deploy migration never migrates anything down."""

from __future__ import annotations

import re




def _phase(out: dict, name: str) -> dict:
    return next(p for p in out["phases"] if p["phase"] == name)


def test_pre_and_post_deploy_migrations_run_around_the_code(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.add_nickname_migration("20240110000001")
    sb.add_migration("20240110000002", "remove_name_from_users", "def change\n  remove_column :users, :name, :string\nend")
    target = sb.change_code("app/models/user.rb", "class User < ApplicationRecord\n  self.ignored_columns = [\"name\"]\nend\n")
    r = sb.shipit("release", "--output", "json")
    assert r.code == 0, r.text
    out = r.json()
    assert _phase(out, "migrate")["status"] == "succeeded" and "20240110000001" in _phase(out, "migrate")["message"]
    post = _phase(out, "post_deploy")
    assert post["status"] == "succeeded" and "20240110000002" in post["message"], post
    assert post["started"] >= _phase(out, "verify")["ended"]
    columns = {c["Field"] for c in sb.sql("SHOW COLUMNS FROM users")}
    assert "nickname" in columns and "name" not in columns
    assert {"20240110000001", "20240110000002"} <= sb.schema_versions()
    assert set(sb.deployment_images().values()) == {sb.image(target)}
    assert len(sb.job_names()) == 3  # bootstrap, pre-deploy, post-deploy
    assert base != target


def test_older_pre_deploy_migration_with_a_post_deploy_one_never_migrates_down(sandbox):
    """A branch merged late carries a migration older than one already applied. Stopping the pre-deploy Job with
    `db:migrate VERSION=<older>` would make Rails migrate the newer one DOWN (dropping its column)."""
    sb = sandbox
    sb.bootstrap()
    sb.add_nickname_migration("20240120000001")
    sb.change_code()
    assert sb.shipit("release").code == 0
    sb.sql("UPDATE users SET nickname = 'kept'")
    sb.add_migration("20240115000001", "add_age_to_users", "def change\n  add_column :users, :age, :integer\nend")
    sb.add_migration("20240121000001", "remove_name_from_users", "def change\n  remove_column :users, :name, :string\nend")
    sb.change_code("app/models/user.rb", "class User < ApplicationRecord\n  self.ignored_columns = [\"name\"]\nend\n")
    r = sb.shipit("release")
    assert r.code == 0, r.text
    columns = {c["Field"] for c in sb.sql("SHOW COLUMNS FROM users")}
    assert {"nickname", "age"} <= columns and "name" not in columns, columns
    assert {"20240120000001", "20240115000001", "20240121000001"} <= sb.schema_versions()


def test_failing_post_deploy_migration_keeps_the_verified_code_and_says_so(sandbox):
    sb = sandbox
    sb.bootstrap()
    sb.add_migration("20240116000001", "remove_name_from_users", (
        "def up\n  remove_column :users, :name\n  remove_index :users, name: 'index_that_is_not_there'\nend\n"
        "def down\nend"))
    target = sb.change_code("app/models/user.rb", "class User < ApplicationRecord\n  self.ignored_columns = [\"name\"]\nend\n")
    r = sb.shipit("release", "--yes", "--output", "json")
    out = r.json()
    post = _phase(out, "post_deploy")
    assert post["status"] == "failed", out
    assert r.code == 2, r.text  # the column is gone but the version is not recorded: a person must look
    assert out["status"] != "reverted" and not any(p["phase"] == "revert" for p in out["phases"])
    assert set(sb.deployment_images().values()) == {sb.image(target)}  # the verified code stays
    assert "name" not in {c["Field"] for c in sb.sql("SHOW COLUMNS FROM users")}
    assert "20240116000001" not in sb.schema_versions()
    d = out["diagnosis"]
    assert "index_that_is_not_there" in " ".join([d["why"], *d["details"]]), d
    assert "new code stays deployed" in d["did"], d
    details = "\n".join(d["details"])
    assert "failed part-way" in details, details
    assert "made all its changes" not in details, details  # the index was never there: this run did not remove it
    assert re.search(r"applied +remove_column :users, :name \(column gone\)", details), details
    assert re.search(r"not.applied +remove_index .*was not there before the migration", details), details
