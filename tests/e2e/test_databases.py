"""Releases of an app with two Rails databases (primary and `queue`, two schemas on one server): the real
`rails db:migrate` migrates both, and shipit's preflight, pending set and schema wait cover the queue database."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pymysql
import pytest

from tests.support.mariadb import query
from tests.support.sandbox import connect

DATABASE_YML = """\
development: &default
  primary:
    adapter: mysql2
    encoding: utf8mb4
    url: <%= ENV["DATABASE_URL"] %>
  queue:
    adapter: mysql2
    encoding: utf8mb4
    url: <%= ENV["DATABASE_URL"].to_s.sub(/\\/([A-Za-z0-9_]+)(\\?|\\z)/) { "/#{$1}_queue#{$2}" } %>
    migrations_paths: db/queue_migrate
production: *default
"""
CREATE_JOBS = """\
class CreateJobs < ActiveRecord::Migration[6.1]
  def change
    create_table :batches
    create_table :jobs do |t|
      t.bigint :batch_id
    end
  end
end
"""
ADD_BATCH_FK = """\
class AddBatchFkToJobs < ActiveRecord::Migration[6.1]
  def change
    add_index :jobs, :batch_id
    add_foreign_key :jobs, :batches
  end
end
"""


def _queue_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + "_queue"))


@pytest.fixture
def two_databases(sandbox):
    """The sandbox after its first release, with an empty queue database beside its primary."""
    sb = sandbox
    sb.bootstrap()
    queue_admin = _queue_url(sb.db_admin_url)
    name = urlsplit(queue_admin).path.lstrip("/")
    sb.sql(f"CREATE DATABASE `{name}`")
    yield sb, queue_admin
    sb.sql(f"DROP DATABASE IF EXISTS `{name}`")


def _queue_sql(url: str, statement: str) -> list[dict]:
    return query(connect(url, cursorclass=pymysql.cursors.DictCursor), statement)


def _write(sb, rel: str, text: str) -> str:
    target = sb.repo / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return sb.commit(f"add {rel}")


def test_a_release_migrates_and_checks_the_queue_database_on_its_own_servers(two_databases):
    sb, queue_admin = two_databases
    _write(sb, "config/database.yml", DATABASE_YML)
    _write(sb, "db/queue_migrate/20240201000001_create_jobs.rb", CREATE_JOBS)
    sb.add_migration("20240201000002", "add_name_index", "def change\n  add_index :users, :name\nend")

    # a queue migration without the queue database's URL stops before anything changes
    r = sb.shipit("release")
    assert r.code == 3, r.text
    assert "database queue (db/queue_migrate/20240201000001_create_jobs.rb)" in r.stderr, r.text
    assert "database.databases.queue.url" in r.stderr and "Traceback" not in r.stderr
    assert sb.schema_versions() == {"20240101000001"}

    sb.write_config(database={"url": sb.db_url, "databases": {"queue": {"url": _queue_url(sb.db_url)}}})
    r = sb.shipit("release", "--output", "json")
    assert r.code == 0, r.text
    assert sb.schema_versions() == {"20240101000001", "20240201000002"}
    assert {row["version"] for row in _queue_sql(queue_admin, "SELECT version FROM schema_migrations")} == \
        {"20240201000001"}
    sb.assert_no_secret(r)

    # orphans in the queue database (the primary has no jobs table at all) stop the next release at preflight
    _queue_sql(queue_admin, "INSERT INTO batches (id) VALUES (1), (2)")
    _queue_sql(queue_admin, "INSERT INTO jobs (id, batch_id) VALUES (1, 1), (2, 2), (3, 999), (4, 998)")
    _write(sb, "db/queue_migrate/20240301000001_add_batch_fk_to_jobs.rb", ADD_BATCH_FK)
    r = sb.shipit("release", "--output", "json")
    assert r.code == 1, r.text
    diagnosis = r.json()["diagnosis"]
    assert "database queue: orphans jobs.batch_id -> batches.id: 2 orphaned rows (first ids: 3, 4)" in \
        diagnosis["why"], diagnosis
    assert any("Data checks (on queue:primary):" in line for line in diagnosis["details"]), diagnosis

    # fixed data: the Job builds the index and the foreign key, and the wait reads them on the queue database
    _queue_sql(queue_admin, "DELETE FROM jobs WHERE batch_id > 2")
    r = sb.shipit("release", "--output", "json")
    assert r.code == 0, r.text
    queue_indexes = {row["n"] for row in _queue_sql(
        queue_admin, "SELECT DISTINCT INDEX_NAME AS n FROM information_schema.STATISTICS "
                     "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'jobs'")}
    assert "index_jobs_on_batch_id" in queue_indexes
    wait = next(p for p in r.json()["phases"] if p["phase"] == "wait_ddl")
    assert wait["status"] == "succeeded", wait
