"""An app with two Rails databases on the real MariaDB (the primary and `queue`, two schemas on one server): the
release's reads for a `queue` migration go to the queue database and never to the primary, which holds tables of the
same names with other data."""

from __future__ import annotations

import json
import threading
import types

import git
import pytest

from shipit.adapters.database import MysqlDatabase
from shipit.adapters.planner import GitPlanner
from shipit.core import config
from shipit.core.errors import BadInput
from shipit.release.diagnosis import PhaseFailed
from shipit.report.live import PlainView
from tests.support.mariadb import execute

DATABASE_YML = """\
production:
  primary:
    adapter: mysql2
    database: shop
  queue:
    adapter: mysql2
    database: shop_queue
    migrations_paths: db/queue_migrate
"""
FK_MIGRATION = """\
class AddBatchToJobs < ActiveRecord::Migration[7.1]
  def change
    add_index :jobs, :batch_id
    add_foreign_key :jobs, :batches
  end
end
"""
QUEUE_SCHEMA = """\
ActiveRecord::Schema[7.1].define(version: 2024_03_01_000001) do
  create_table "batches" do |t|
  end
  create_table "jobs" do |t|
    t.bigint "batch_id"
    t.string "queue_name"
    t.index ["batch_id"], name: "index_jobs_on_batch_id"
  end
end
"""


def _tables(db, orphans: tuple[int, ...]) -> None:
    """batches 1..10; jobs 1..200 with batch_id cycling 1..10, the `orphans` pointing at batch 999."""
    conn = db.connect()
    try:
        execute(conn,
                "CREATE TABLE schema_migrations (version VARCHAR(255) PRIMARY KEY)",
                "CREATE TABLE batches (id BIGINT PRIMARY KEY)",
                "INSERT INTO batches SELECT seq FROM seq_1_to_10",
                "CREATE TABLE jobs (id BIGINT PRIMARY KEY, batch_id BIGINT)",
                "INSERT INTO jobs SELECT seq, 1 + seq % 10 FROM seq_1_to_200",
                *(f"UPDATE jobs SET batch_id = 999 WHERE id = {i}" for i in orphans))
    finally:
        conn.close()


def _sql(db, *statements: str) -> None:
    conn = db.connect()
    try:
        execute(conn, *statements)
    finally:
        conn.close()


def _repo(path) -> tuple[str, str]:
    """Two commits: the app with both databases, then the queue migration adding jobs' batch index and foreign key."""
    repo = git.Repo.init(path, initial_branch="main")
    author = git.Actor("Dev", "dev@example.com")
    shas = []
    for files in _COMMITS:
        for rel, text in files.items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(text)
        repo.index.add(list(files))
        shas.append(repo.index.commit("change", author=author, committer=author).hexsha)
    return shas[0], shas[1]


_COMMITS = (
    {
        "config/database.yml": DATABASE_YML,
        "db/migrate/20240101000001_create_users.rb":
            "class CreateUsers < ActiveRecord::Migration[7.1]\n  def change\n    create_table :users\n  end\nend\n",
        "db/queue_migrate/20240101000002_create_jobs.rb":
            "class CreateJobs < ActiveRecord::Migration[7.1]\n  def change\n    create_table :jobs\n  end\nend\n",
    },
    {"db/queue_migrate/20240301000001_add_batch_to_jobs.rb": FK_MIGRATION, "db/queue_schema.rb": QUEUE_SCHEMA},
)


def _config(path, primary_url: str, queue_url: str | None):
    queue = f"  databases:\n    queue:\n      url: {json.dumps(queue_url)}\n" if queue_url else ""
    text = ("app: shop\nrepo: .\nimage: {repository: reg/shop}\ndeployments: [{name: web}]\n"
            "migration: {from_deployment: web, container: web, lock_wait_max: 1s}\n"
            f"gates: {{ddl_timeout: 1s}}\ndatabase:\n  url: {json.dumps(primary_url)}\n{queue}")
    (path / "shipit.yaml").write_text(text)
    return config.load(path / "shipit.yaml", env={})


@pytest.fixture
def app(tmp_path, fresh_db, second_fresh_db):
    """The primary (fresh_db) and the queue database (second_fresh_db), each with batches and jobs: the primary's jobs
    hold 5 orphans, the queue's 2. Each database's schema_migrations lists its own first migration."""
    _tables(fresh_db, orphans=(3, 4, 5, 6, 7))
    _tables(second_fresh_db, orphans=(42, 77))
    _sql(fresh_db, "INSERT INTO schema_migrations VALUES ('20240101000001')")
    _sql(second_fresh_db, "INSERT INTO schema_migrations VALUES ('20240101000002')")
    _, sha = _repo(tmp_path)
    cfg = _config(tmp_path, fresh_db.url, second_fresh_db.url)
    db = MysqlDatabase(cfg, PlainView())
    yield cfg, db, sha
    db.close()


def test_the_pending_set_is_read_from_each_databases_schema_migrations(app):
    cfg, db, sha = app
    facts = GitPlanner(cfg, applied=db.applied_versions).plan(sha, sha)
    assert [(m.version, m.database) for m in facts.plan.migrations] == [("20240301000001", "queue")]
    assert facts.pre_deploy == ("20240301000001",)


def test_a_queue_migrations_orphan_check_runs_on_the_queue_database(app):
    cfg, db, sha = app
    facts = GitPlanner(cfg, applied=db.applied_versions).plan(sha, sha)
    report = db.preflight(facts)
    [problem] = report.problems
    assert problem.startswith("database queue: orphans jobs.batch_id -> batches.id: 2 orphaned rows "
                              "(first ids: 42, 77)"), problem
    assert "Data checks (on queue:primary):" in "\n".join(report.details)


def test_the_schema_wait_looks_at_the_queue_database(app, fresh_db, second_fresh_db):
    cfg, db, sha = app
    facts = GitPlanner(cfg, applied=db.applied_versions).plan(sha, sha)
    fk = next(e.name for e in facts.plan.migrations[0].expected if e.name.startswith("fk_rails_"))
    # the primary has what the queue migration creates: the wait must not be satisfied by it
    _sql(fresh_db, "DELETE FROM jobs WHERE batch_id = 999", "CREATE INDEX index_jobs_on_batch_id ON jobs (batch_id)",
         f"ALTER TABLE jobs ADD CONSTRAINT {fk} FOREIGN KEY (batch_id) REFERENCES batches (id)")
    with pytest.raises(PhaseFailed) as failed:
        db.wait_ddl(facts, timeout=0.6, cancel=threading.Event())
    why = failed.value.diagnosis.why
    assert "queue:primary: index index_jobs_on_batch_id on jobs (batch_id) missing" in why, why
    assert "primary: index" not in why.replace("queue:primary: index", "")

    _sql(second_fresh_db, "DELETE FROM jobs WHERE batch_id = 999",
         "CREATE INDEX index_jobs_on_batch_id ON jobs (batch_id)",
         f"ALTER TABLE jobs ADD CONSTRAINT {fk} FOREIGN KEY (batch_id) REFERENCES batches (id)")
    with pytest.raises(PhaseFailed) as failed:  # ready; then the schema gate reads db/queue_schema.rb
        db.wait_ddl(facts, timeout=5.0, cancel=threading.Event())
    found = failed.value.diagnosis
    assert found.what == "the schema of database queue the code expects is not on every server", found
    assert any(d.startswith("queue:primary: ") and "queue_name" in d for d in found.details), found.details

    _sql(second_fresh_db, "ALTER TABLE jobs ADD COLUMN queue_name VARCHAR(255)")
    db.wait_ddl(facts, timeout=5.0, cancel=threading.Event())


def test_the_health_gate_reads_a_shared_server_once(app):
    cfg, db, sha = app
    assert [s.name for s in db.health_servers()] == ["primary"]
    assert [s.name for s in db.databases.all_servers()] == ["primary", "queue:primary"]
    assert [s.name for s in db.baseline().servers] == ["primary"]


def test_a_migration_for_a_database_without_a_url_stops_the_release_as_bad_input(tmp_path, fresh_db):
    base, sha = _repo(tmp_path)
    cfg = _config(tmp_path, fresh_db.url, None)
    _tables(fresh_db, orphans=(3,))
    db = MysqlDatabase(cfg, PlainView())
    try:
        with pytest.raises(BadInput) as e:
            GitPlanner(cfg, applied=db.applied_versions).plan(base, sha)
    finally:
        db.close()
    message = str(e.value)
    assert "database queue (db/queue_migrate/20240301000001_add_batch_to_jobs.rb)" in message, message
    assert "Add database.databases.queue.url" in message and e.value.exit_code == 3


def test_shipit_preflight_checks_each_database_and_stops_on_one_without_a_url(app, tmp_path, fresh_db):
    from tests.integration.db.test_commands import shipit

    cfg, db, sha = app
    r = shipit("preflight", "--config", str(tmp_path / "shipit.yaml"), "--output", "json", password="")
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert [d["database"] for d in out["databases"]] == ["queue"] and out["pending"] == ["20240301000001"]
    assert out["blocking_reasons"][0].startswith("database queue: orphans jobs.batch_id -> batches.id: 2 orphaned")
    assert out["databases"][0]["server"] == "queue:primary" and out["notes"] == []

    base = git.Repo(tmp_path).commit("HEAD~1").hexsha
    _config(tmp_path, fresh_db.url, None)
    r = shipit("preflight", "--config", str(tmp_path / "shipit.yaml"), "--from", base, password="")
    assert r.returncode == 3 and "Traceback" not in r.stderr, r.stderr
    assert "database queue (db/queue_migrate/20240301000001_add_batch_to_jobs.rb)" in r.stderr
    r = shipit("plan", "--config", str(tmp_path / "shipit.yaml"), "--from", base, password="")
    assert r.returncode == 0 and "20240301000001" in r.stdout, r.stderr
    assert "shipit release would stop before anything changes (exit 3): the release migrates database queue" in \
        r.stderr, r.stderr
    r = shipit("preflight", "--config", str(tmp_path / "shipit.yaml"), password="")  # nothing new since --from
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().endswith("Note: database queue of config/database.yml has no database.databases entry: "
                                      "shipit reads neither its schema_migrations nor its health."), r.stdout


def test_the_metadata_lock_watchdog_guards_the_queue_databases_migration(app, second_fresh_db):
    """The queue migration's ALTER (its session holds Rails' migration lock for the queue database) waits behind an
    idle transaction with queries queued behind it: the guard of the queue database kills that ALTER."""
    from shipit.adapters.mdl_watch import migration_guard
    from shipit.db.mdl import MdlAction
    from shipit.db.migration_state import rails_lock_name
    from shipit.planning.rails.operations import Operation, OpKind
    from tests.integration.db.helpers import Background, wait_for
    from tests.support.mariadb import hold_in_transaction

    cfg, db, sha = app
    _sql(second_fresh_db, "CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL)",
         "INSERT INTO orders VALUES (1, 101), (2, 102)")
    migration = types.SimpleNamespace(version="20240301000002", database="queue", operations=(
        Operation(OpKind.ADD_INDEX, "orders", ("user_id",), name="index_orders_on_user_id"),))
    guard = migration_guard(db, cfg, [migration])
    blocker = second_fresh_db.connect()
    started = []
    try:
        hold_in_transaction(blocker, "SELECT user_id FROM orders WHERE id = 2")
        lock = rails_lock_name(second_fresh_db.name)
        alter = Background(second_fresh_db.connect, "ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id)",
                           setup=(f"SELECT GET_LOCK('{lock}', 0)",))
        started.append(alter)
        wait_for(lambda: any(w.ddl.conn_id == alter.conn_id for w in guard.poll().waits), timeout=30)
        started += [Background(second_fresh_db.connect, "SELECT user_id FROM orders WHERE id = 1") for _ in range(2)]
        acted = wait_for(lambda: guard.poll().acted, timeout=30)
        wait, decision = acted
        assert (decision.action, decision.conn_id) == (MdlAction.KILL_OUR_DDL, alter.conn_id), decision
        assert wait.ddl.table == "orders"
        alter.join(60)
        assert alter.error is not None and alter.error.args[0] == 1317  # interrupted: the migration fails clean
    finally:
        for b in started:
            b.close()
        blocker.close()


def test_the_health_gate_covers_the_queue_databases_own_servers(tmp_path, fresh_db, pair_db):
    """The queue database on its own primary + replica pair: its servers join the health gate, and a pile-up there
    fails the gate before the code, named by the queue server."""
    from shipit.adapters.gates import HealthGates
    from tests.integration.db.helpers import Background, wait_for

    _repo(tmp_path)
    text = ("app: shop\nrepo: .\nimage: {repository: reg/shop}\ndeployments: [{name: web}]\n"
            "migration: {from_deployment: web, container: web}\nrollout: {timeout: 20s}\n"
            "gates: {threads_running_max: 4, bake: 1s}\n"
            f"database:\n  url: {json.dumps(fresh_db.url)}\n  databases:\n    queue:\n"
            f"      url: {json.dumps(pair_db.primary_url)}\n      replicas: [{json.dumps(pair_db.replica_url)}]\n")
    (tmp_path / "shipit.yaml").write_text(text)
    cfg = config.load(tmp_path / "shipit.yaml", env={})
    db = MysqlDatabase(cfg, PlainView())
    sleepers = []
    try:
        assert [s.name for s in db.health_servers()] == ["primary", "queue:primary", "queue:replica1"]
        baseline = db.baseline()
        assert [s.name for s in baseline.servers] == ["primary", "queue:primary", "queue:replica1"]
        sleepers = [Background(pair_db.connect, "SELECT SLEEP(30)") for _ in range(6)]
        probe = pair_db.connect()
        with probe.cursor() as cur:
            def running() -> int:
                cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(30)'")
                return cur.fetchone()[0]
            wait_for(lambda: running() == 6, timeout=20)
        probe.close()
        with pytest.raises(PhaseFailed) as failed:
            HealthGates(cfg, PlainView(), db).before_code(baseline, since=0.0, cancel=threading.Event())
        why = failed.value.diagnosis.why
        assert "queue:primary: 6 threads on one new query shape" in why and "select sleep(?)" in why, why
    finally:
        admin = pair_db.connect()
        with admin.cursor() as cur:
            for s in sleepers:
                cur.execute(f"KILL QUERY {s.conn_id}")
        admin.close()
        for s in sleepers:
            s.close()
        db.close()


def test_the_migration_watch_stops_the_job_when_a_queue_databases_gh_ost_run_hangs(app, fresh_db, second_fresh_db):
    """gh-ost's tables in the queue database (a queue migration's run): its heartbeat, seen alive, goes stale."""
    import io

    from tests.integration.db.helpers import wait_for

    cfg, db, sha = app
    _sql(second_fresh_db,
         "CREATE TABLE carts (id INT PRIMARY KEY)", "CREATE TABLE _carts_gho LIKE carts",
         "CREATE TABLE _carts_ghc (id BIGINT AUTO_INCREMENT, last_update TIMESTAMP(6) NOT NULL DEFAULT "
         "CURRENT_TIMESTAMP(6), hint VARCHAR(64) NOT NULL, value VARCHAR(4096) NOT NULL, PRIMARY KEY (id), "
         "UNIQUE KEY hint_uidx (hint)) COMMENT='gh-ost changelog'",
         "INSERT INTO _carts_ghc (hint, value) VALUES ('state', 'GhostTableMigrated'), ('heartbeat', NOW(6))")
    chosen = (types.SimpleNamespace(version="1", database="primary", operations=()),
              types.SimpleNamespace(version="2", database="queue", operations=()))
    assert [s.name for s in db.primaries_of(chosen)] == ["primary", "queue:primary"]
    out = io.StringIO()
    from shipit.adapters.ddl_progress import DdlProgressWatch

    with DdlProgressWatch(db.ddl_servers(), PlainView(out), interval=0.1, osc_interval=0.2,
                          osc_servers=db.primaries_of(chosen)) as watch:
        wait_for(lambda: watch.judge.alive, timeout=10)
        _sql(second_fresh_db,
             "UPDATE _carts_ghc SET last_update = NOW(6) - INTERVAL 30 SECOND WHERE hint = 'heartbeat'")
        wait_for(watch.stop_job.is_set, timeout=10)
    assert watch.hung.table == "carts" and watch.hung.server == "queue:primary", watch.hung
    assert f"stopping the migration: gh-ost on {second_fresh_db.name}.carts" in out.getvalue(), out.getvalue()


def test_shipit_plan_reads_each_configured_databases_schema_migrations(app, tmp_path, second_fresh_db):
    """The queue database lacks a migration that is in git at --from: only its own schema_migrations says so."""
    from tests.integration.db.test_commands import shipit

    cfg, db, sha = app
    _sql(second_fresh_db, "DELETE FROM schema_migrations WHERE version = '20240101000002'")
    r = shipit("plan", "--config", str(tmp_path / "shipit.yaml"), "--from", sha, "--to", sha, "-o", "json",
               password="")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [(m["version"], m["database"]) for m in out["migrations"]] == [
        ("20240101000002", "queue"), ("20240301000001", "queue")]
    by_name = {d["name"]: d for d in out["pending"]["databases"]}
    assert (by_name["primary"]["source"], by_name["primary"]["applied"]) == ("database", 1)
    assert (by_name["queue"]["source"], by_name["queue"]["applied"]) == ("database", 0)

    text = shipit("plan", "--config", str(tmp_path / "shipit.yaml"), "--from", sha, "--to", sha, password="")
    assert text.returncode == 0, text.stderr
    joined = " ".join(text.stdout.split())
    assert "pending in queue: versions at --to the database has not applied (0 in schema_migrations at " in joined
    assert "pending in primary: versions at --to the database has not applied (1 in schema_migrations at " in joined
