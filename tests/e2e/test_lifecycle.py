"""Preflight over orphaned rows, two releases at once, `shipit rollback`."""

from __future__ import annotations

import json
import signal

import pytest

from tests.support.waiting import wait_for

CREATE_ORDERS = """\
def change
  create_table :orders do |t|
    t.bigint :user_id, null: false
    t.integer :total_cents
  end
end
"""


def test_foreign_key_over_orphans_stops_in_preflight_then_succeeds_after_fix(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.add_migration("20240103000001", "create_orders", CREATE_ORDERS)
    second = sb.change_code("app/models/order.rb", "class Order < ApplicationRecord\nend\n")
    assert sb.shipit("release").code == 0
    sb.sql("INSERT INTO users (id, email, created_at, updated_at) VALUES (1, 'a@x', NOW(), NOW())")
    sb.sql("INSERT INTO orders (user_id, total_cents) VALUES (1, 100), (41, 200), (42, 300), (42, 400)")
    sb.add_migration("20240103000002", "add_users_fk_to_orders", "def change\n  add_foreign_key :orders, :users\nend")
    target = sb.change_code("app/models/order.rb", "class Order < ApplicationRecord\n  belongs_to :user\nend\n")
    jobs_before = sb.job_names()

    r = sb.shipit("release")
    assert r.code == 1, r.text
    assert "3 orphaned rows (first ids: 2, 3, 4)" in r.stdout, r.text  # the orphans, reported
    assert "What failed:" in r.stdout and "Next:" in r.stdout
    sb.assert_no_secret(r)
    assert sb.job_names() == jobs_before  # no Job created
    assert "20240103000002" not in sb.schema_versions() and not sb.foreign_keys("orders")
    assert set(sb.deployment_images().values()) == {sb.image(second)}
    failed = sb.status()["release"]
    assert (failed["status"], failed["exit_code"]) == ("failed", 1)
    assert [p["status"] for p in failed["phases"] if p["phase"] == "preflight"] == ["failed"]

    sb.sql("DELETE FROM orders WHERE user_id NOT IN (SELECT id FROM users)")  # fix the data
    r = sb.shipit("release", "--output", "json")
    assert r.code == 0, r.text
    out = r.json()
    assert (out["status"], out["from"], out["to"]) == ("succeeded", second, target)
    assert "20240103000002" in sb.schema_versions() and sb.foreign_keys("orders")
    assert set(sb.deployment_images().values()) == {sb.image(target)}
    assert len(sb.job_names()) == len(jobs_before) + 1
    assert base != second


def test_two_releases_at_once_one_proceeds_the_other_exits_4(sandbox):
    sb = sandbox
    sb.bootstrap()
    sb.add_nickname_migration("20240104000001")
    target = sb.change_code()
    sb.write_config(gates={"bake": "6s"})
    first = sb.spawn("release")
    try:
        wait_for(lambda: (sb.status().get("lock") or None), what="the first release to hold the lock")
        second = sb.shipit("release", "--output", "json")
        assert second.code == 4, second.text
        assert "holds the lock" in second.stderr and "e2e on" in second.stderr, second.text  # the holder's details
        assert "release r0002" in second.stderr, second.text
        assert second.json() == {"status": "error", "exit_code": 4, "message": second.json()["message"]}
        assert "holds the lock" in second.json()["message"]
        out, err = first.communicate(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    history = sb.history()
    assert [h["status"] for h in history] == ["succeeded", "succeeded"]  # the loser left no record
    assert history[0]["to"] == target
    assert set(sb.deployment_images().values()) == {sb.image(target)}
    assert sum(1 for j in sb.job_names()) == 2  # the bootstrap's and the winner's
    assert "20240104000001" in sb.schema_versions()


def released_with_a_migration(sb, version: str) -> tuple[str, str]:
    """Bootstrap, then release a commit adding one migration: (the bootstrap's sha, the released sha)."""
    base = sb.bootstrap()
    sb.add_nickname_migration(version)
    target = sb.change_code()
    assert sb.shipit("release").code == 0
    return base, target


def test_rollback_after_a_good_release_restores_the_previous(sandbox):
    sb = sandbox
    base, target = released_with_a_migration(sb, "20240105000001")
    assert set(sb.deployment_images().values()) == {sb.image(target)}

    r = sb.shipit("rollback", "--output", "json")
    assert r.code == 0, r.text
    out = r.json()
    assert out["status"] == "succeeded" and out["image_after"] == sb.image(base)
    assert any("20240105000001" in n and "stays applied" in n for n in out["notes"]), out
    sb.assert_no_secret(r)
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    sb.wait_deployments_ready()
    assert sb.serving_images() == {"web": {sb.image(base)}, "worker": {sb.image(base)}}
    assert "20240105000001" in sb.schema_versions()  # migrations are never rolled back
    statuses = [(h["release"], h["status"]) for h in sb.history()]
    assert statuses == [("r0003", "succeeded"), ("r0002", "rolled_back"), ("r0001", "succeeded")], statuses


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_signal_during_migration_stops_cleanly(sandbox, signum):
    """Ctrl-C (SIGINT) or CI's SIGTERM: the Job is deleted, the record says what happened, the lock is released."""
    sb = sandbox
    base = sb.bootstrap()
    sb.add_migration("20240109000001", "slow_backfill", 'def up\n  execute "SELECT SLEEP(60)"\nend\ndef down\nend')
    sb.change_code()
    proc = sb.spawn("release", "--yes", "--output", "json")
    try:
        job = sb.wait_migration_job_running()[0]["metadata"]["name"]
        wait_for(lambda: sb.sql("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%%'"),
                 what="the migration's statement to run")
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    result = json.loads(out)
    assert result["status"] == "failed" and result["exit_code"] == 1, result
    assert result["diagnosis"]["what"].startswith("interrupted during migrate"), result["diagnosis"]
    assert "deleted Job" in result["diagnosis"]["why"], result["diagnosis"]
    wait_for(lambda: job not in sb.job_names(), timeout=30, what="the Job to be deleted")
    status = sb.status()
    assert status["lock"] is None
    assert status["release"]["release"] == "r0002" and status["release"]["status"] == "failed"
    assert [p["status"] for p in status["release"]["phases"] if p["phase"] == "migrate"] == ["failed"]
    assert "20240109000001" not in sb.schema_versions()
    assert set(sb.deployment_images().values()) == {sb.image(base)}


def test_kill_9_during_the_migration_job_resume_adopts_the_job(sandbox):
    """The crashed run's Job keeps running in the cluster; --resume watches that Job instead of starting a second
    migration next to it, and finishes the release."""

    sb = sandbox
    sb.write_config(lock={"duration": "5s"})
    sb.bootstrap()
    sb.add_slow_migration("20240112000001", seconds=8)
    target = sb.change_code()
    sb.kill_9("release", "--yes", when=lambda _: sb.wait_migration_job_running())
    crashed = sb.status()["release"]
    assert crashed["status"] == "running"
    assert [p["status"] for p in crashed["phases"] if p["phase"] == "migrate"] == ["running"]

    r = sb.resume()
    assert r.code == 0, r.text
    assert "watching it" in r.stderr or "already exists" in r.stderr, r.text  # adopted, not a second Job
    release_jobs = [j for j in sb.job_names() if crashed["release"] in j]
    assert len(release_jobs) == 1, sb.job_names()
    assert "20240112000001" in sb.schema_versions()
    assert "nickname" in {c["Field"] for c in sb.sql("SHOW COLUMNS FROM users")}
    assert set(sb.deployment_images().values()) == {sb.image(target)}
    assert sb.status()["release"]["status"] == "succeeded"


def test_rollback_to_a_named_release_then_release_again(sandbox):
    sb = sandbox
    first, second = released_with_a_migration(sb, "20240113000001")
    third = sb.change_code("app/models/order.rb", "class Order < ApplicationRecord\nend\n")
    assert sb.shipit("release").code == 0

    r = sb.shipit("rollback", "--to", "r0001", "--output", "json")
    assert r.code == 0, r.text
    assert r.json()["image_after"] == sb.image(first)
    assert set(sb.deployment_images().values()) == {sb.image(first)}
    statuses = {h["release"]: h["status"] for h in sb.history()}
    assert statuses == {"r0004": "succeeded", "r0003": "rolled_back", "r0002": "rolled_back", "r0001": "succeeded"}

    # the next release starts from what runs now (r0001's commit); the migration it meets again is already applied,
    # so the plan (pending = not in schema_migrations) holds no migration to run
    fourth = sb.change_code("app/models/user.rb", "class User < ApplicationRecord\n  has_many :orders\nend\n")
    r = sb.shipit("release", "--output", "json")
    assert r.code == 0, r.text
    out = r.json()
    assert out["from"] == first and out["to"] == fourth, out
    migrate = next(p for p in out["phases"] if p["phase"] == "migrate")
    assert migrate["status"] == "skipped" and "no pre-deploy migrations" in migrate["message"], migrate
    assert "0 pre-deploy" in out["phases"][0]["message"], out["phases"][0]
    assert set(sb.deployment_images().values()) == {sb.image(fourth)}
    assert second != third


def test_migration_past_its_timeout_is_stopped_and_reported(sandbox):
    """migration.timeout is the Job's activeDeadlineSeconds: a migration that runs past it fails the release before
    the code, and the diagnosis says it was the deadline."""
    sb = sandbox
    base = sb.bootstrap()
    sb.add_migration("20240117000001", "slow_backfill", 'def up\n  execute "SELECT SLEEP(60)"\nend\ndef down\nend')
    sb.change_code()
    sb.write_config(migration={"timeout": "4s", "lock_wait_max": "2s"})
    r = sb.shipit("release", "--yes", "--output", "json")
    assert r.code == 1, r.text
    out = r.json()
    migrate = next(p for p in out["phases"] if p["phase"] == "migrate")
    assert migrate["status"] == "failed" and migrate["duration_s"] < 40, migrate
    d = out["diagnosis"]
    assert "deadline" in (d["what"] + d["why"]).lower(), d
    assert "20240117000001" not in sb.schema_versions()
    assert set(sb.deployment_images().values()) == {sb.image(base)}
