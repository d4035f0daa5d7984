"""Releases whose migration runs pt-online-schema-change (Debian's percona-toolkit) from Rails: the code rolls out
only after the tool's cut-over, with its progress shown; a tool killed mid-copy fails the release before the code
and the diagnosis lists what it left behind with the SQL that cleans it up; a gh-ost run that hangs (its changelog
kept by the migration in SQL) stops the migration within seconds instead of at the Job's timeout."""

from __future__ import annotations

import shutil

import pytest

from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.skipif(shutil.which("pt-online-schema-change") is None,
                                reason="pt-online-schema-change (Debian's percona-toolkit) is not installed")

CREATE_ORDERS = """def change
  create_table :orders do |t|
    t.integer :customer_id, null: false
    t.string :note
  end
end"""

INDEX = "index_orders_on_customer_id"

# The migration builds the pt-osc DSN from Rails' own connection settings, as departure-style helpers do.
PT_OSC_MIGRATION = """def up
  c = ActiveRecord::Base.connection_db_config.configuration_hash
  dsn = "h=#{{c[:host]}},P=#{{c[:port]}},u=#{{c[:username]}},p=#{{c[:password]}},D=#{{c[:database]}},t=orders"
  args = ["pt-online-schema-change", "--alter", "ADD INDEX {index} (customer_id)", dsn, "--execute",
          "--recursion-method", "none", "--no-check-replication-filters", "--progress", "percentage,10",
          {extra}]
  {run}
end

def down
  remove_index :orders, name: "{index}"
end"""

RUN_TO_END = 'system(*args) or raise "pt-online-schema-change failed"'
# killed mid-copy (as by the OOM killer): started, left to create its triggers and copy a little, then SIGKILL
RUN_AND_KILL = """pid = Process.spawn(*args)
  sleep 0.1 until ActiveRecord::Base.connection.select_value("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE 'pt_osc_%'").to_i == 3
  sleep 1
  Process.kill(:KILL, pid)
  Process.wait(pid)
  raise "pt-online-schema-change was killed (signal #{$?.termsig})\""""


def _orders(sb: Sandbox, rows: int) -> str:
    """Release the orders table, fill it; returns the commit that serves."""
    sb.bootstrap()
    sb.add_migration("20240102000001", "create_orders", CREATE_ORDERS)
    serving = sb.change_code("app/models/order.rb", "class Order < ApplicationRecord\nend\n")
    r = sb.shipit("release", "--output", "json")
    assert r.code == 0, r.text
    sb.sql(f"INSERT INTO orders (customer_id, note) SELECT seq % 4999, 'n' FROM seq_1_to_{rows}")
    return serving


def test_pt_osc_migration_rolls_the_code_out_only_after_the_cut_over(sandbox):
    sb = sandbox
    _orders(sb, 1_000_000)
    sb.add_migration("20240103000001", "add_customer_index_with_pt_osc",
                     PT_OSC_MIGRATION.format(index=INDEX, extra='"--chunk-size", "20000"', run=RUN_TO_END))
    target = sb.change_code()

    r = sb.shipit("release", "--yes", "--output", "json")
    assert r.code == 0, r.text
    out = r.json()
    phases = {p["phase"]: p for p in out["phases"]}
    assert phases["migrate"]["status"] == "succeeded" and phases["code"]["status"] == "succeeded"
    assert phases["code"]["started"] >= phases["migrate"]["ended"]
    assert INDEX in sb.indexes("orders")
    assert set(sb.deployment_images().values()) == {sb.image(target)}
    # the tool's progress reached the release: shown live, and its last reading kept in the migrate phase's record
    assert "pt-online-schema-change finished (last progress line: " in phases["migrate"]["message"], phases["migrate"]
    assert "pt-online-schema-change: " in r.stderr and "% copied, ETA " in r.stderr, r.stderr[-3000:]
    # and from the server: the copy chunk's key range against the table's, beside the log's figure
    assert ": pt-online-schema-change on " in r.stderr and ": copying rows up to id " in r.stderr, r.stderr[-3000:]
    assert not {t["TABLE_NAME"] for t in sb.sql(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_%'")}
    sb.assert_no_secret(r)


def test_a_killed_pt_osc_run_fails_before_the_code_and_lists_its_leftovers(sandbox):
    sb = sandbox
    serving = _orders(sb, 200_000)
    sb.add_migration("20240103000002", "add_customer_index_killed",
                     PT_OSC_MIGRATION.format(index=INDEX, extra='"--chunk-size", "500", "--sleep", "0.05"',
                                             run=RUN_AND_KILL))
    sb.change_code()

    r = sb.shipit("release", "--yes")
    assert r.code == 2, r.text  # the tool's triggers and shadow table are left on the table: a person cleans up
    assert set(sb.deployment_images().values()) == {sb.image(serving)}
    assert INDEX not in sb.indexes("orders")
    db = sb.sql("SELECT DATABASE() AS db")[0]["db"]
    for fragment in ("pt-online-schema-change on", "orders", "left behind",
                     f"DROP TRIGGER IF EXISTS `{db}`.`pt_osc_{db}_orders_ins`;",
                     f"DROP TABLE IF EXISTS `{db}`.`_orders_new`;"):
        assert fragment in r.stdout, f"{fragment!r} not in\n{r.text}"
    sb.assert_no_secret(r)
    latest = sb.status()["release"]
    assert latest["status"] == "needs_attention" and latest["exit_code"] == 2


# gh-ost's changelog as it keeps it (a state row, a heartbeat rewritten every 100 ms), then a hang: no heartbeat, no exit
GH_OST_HANGS = """def up
  create_table :_orders_gho do |t|
    t.integer :customer_id, null: false
    t.string :note
  end
  create_table :_orders_ghc do |t|
    t.datetime :last_update, precision: 6, null: false
    t.string :hint, limit: 64, null: false
    t.string :value, limit: 4096, null: false
    t.index :hint, unique: true
  end
  execute "INSERT INTO _orders_ghc (hint, value, last_update) VALUES ('state', 'GhostTableMigrated', NOW(6))"
  150.times do
    execute "INSERT INTO _orders_ghc (hint, value, last_update) VALUES ('heartbeat', NOW(6), NOW(6)) ON DUPLICATE KEY UPDATE last_update = NOW(6), value = VALUES(value)"
    sleep 0.1
  end
  sleep 600
end

def down
  drop_table :_orders_ghc
  drop_table :_orders_gho
end"""


def test_a_gh_ost_run_that_hangs_fails_the_migration_without_waiting_out_the_jobs_timeout(sandbox):
    sb = sandbox
    serving = _orders(sb, 1000)
    sb.add_migration("20240103000003", "gh_ost_hangs", GH_OST_HANGS)
    sb.change_code()

    r = sb.shipit("release", "--yes", timeout=200)
    assert r.code == 2, r.text
    # the Job's timeout is 5m: the hang is seen within seconds of the heartbeat stopping
    assert r.seconds < 120, (r.seconds, r.text[-3000:])
    assert set(sb.deployment_images().values()) == {sb.image(serving)}
    db = sb.sql("SELECT DATABASE() AS db")[0]["db"]
    for fragment in (f"gh-ost on {db}.orders hung during the migration; shipit stopped it",
                     "[last state: ghost table altered]", "no heartbeat for",
                     f"DROP TABLE IF EXISTS `{db}`.`_orders_ghc`;"):
        assert fragment in r.stdout, f"{fragment!r} not in\n{r.text}"
    assert not [j for j in sb.jobs() if (j.get("status") or {}).get("active")]
    sb.assert_no_secret(r)
