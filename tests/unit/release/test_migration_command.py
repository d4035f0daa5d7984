"""The pre-deploy Job's command: exactly the pending pre-deploy migrations, never a post-deploy one, never a newer
applied one migrated down."""

import pytest

from shipit.core.errors import ShipitError
from shipit.release.migration_command import pre_deploy_command


def test_pre_deploy_command_is_plain_without_post_deploy_migrations():
    cmd = ("bin/rails", "db:migrate")
    assert pre_deploy_command(cmd, ("20240102000000",), (), frozenset({"20240105000000"})) == cmd


def test_pre_deploy_command_stops_at_the_last_pre_deploy_version_when_that_is_safe():
    cmd = ("bin/rails", "db:migrate")
    got = pre_deploy_command(cmd, ("20240110000001",), ("20240110000002",), frozenset({"20240101000001"}))
    assert got == ("bin/rails", "db:migrate", "VERSION=20240110000001")


def test_pre_deploy_command_never_lets_rails_migrate_a_newer_applied_one_down():
    cmd = ("bin/rails", "db:migrate")
    applied = frozenset({"20240101000001", "20240120000001"})  # newer than the late-merged pre-deploy one
    got = pre_deploy_command(cmd, ("20240116000001", "20240115000001"), ("20240121000001",), applied)
    assert got == ("sh", "-c", "bin/rails db:migrate:up VERSION=20240115000001 && "
                               "bin/rails db:migrate:up VERSION=20240116000001")
    # a post-deploy migration older than the target would run early with VERSION=: same per-version form
    got = pre_deploy_command(cmd, ("20240115000001",), ("20240110000001",), frozenset())
    assert got[:2] == ("sh", "-c") and "VERSION=20240110000001" not in got[2]
    with pytest.raises(ShipitError, match="db:migrate:up"):
        pre_deploy_command(("./migrate.sh",), ("20240115000001",), ("20240121000001",), applied)


def test_an_app_with_several_databases_runs_each_version_with_its_databases_namespaced_task():
    cmd = ("bin/rails", "db:migrate")
    databases = {"20240115000001": "primary", "20240116000001": "queue"}
    applied = frozenset({"20240120000001"})  # newer, applied in one of the databases: VERSION= would migrate it down
    got = pre_deploy_command(cmd, ("20240116000001", "20240115000001"), ("20240121000001",), applied,
                             databases=databases)
    assert got == ("sh", "-c", "bin/rails db:migrate:up:primary VERSION=20240115000001 && "
                               "bin/rails db:migrate:up:queue VERSION=20240116000001")
