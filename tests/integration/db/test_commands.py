"""`shipit preflight` and `shipit db status` as real subprocesses: a real git repo of Rails migrations, real MariaDB
accounts with passwords (which must never reach stdout or stderr), a real replica for `db status`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pymysql
import pytest

from tests.integration.db.helpers import Background, wait_for
from tests.support.mariadb import admin_connect, hold_in_transaction
from tests.unit.planning.conftest import AppRepo, migration

ROOT = Path(__file__).resolve().parents[3]
PASSWORD_ENV = "SHIPIT_DB_PASSWORD"


def shipit(*args: str, password: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **{PASSWORD_ENV: password, "CI": "true"})
    return subprocess.run([sys.executable, "-m", "shipit.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=180)


def write_config(path: Path, *, repo: Path, url: str, replicas: tuple[tuple[str, str], ...] = ()) -> Path:
    lines = [
        "app: shop", f"repo: {repo}", "image:", "  repository: registry.local/shop", "deployments:", "  - name: web",
        "migration:", "  from_deployment: web", "  container: web", "database:", f"  url: {url}",
    ]
    if replicas:
        lines.append("  replicas:")
        lines += [f"    - name: {name}\n      url: {u}" for name, u in replicas]
    lines += ["preflight:", "  budget: 60s", "  chunk_time: 50ms", "  long_transaction: 30s"]
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def account(connect, database: str, grants: tuple[str, ...]):
    """A real user with a password; yields (name, password)."""
    name, password = f"shipit_c_{uuid.uuid4().hex[:8]}", "pw-" + uuid.uuid4().hex
    admin = connect()
    with admin.cursor() as cur:
        cur.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT SELECT ON `{database}`.* TO '{name}'@'%'")
        for g in grants:  # "PRIVILEGES ON what"
            cur.execute(f"GRANT {g} TO '{name}'@'%'")
    try:
        yield name, password
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
        admin.close()


# --- preflight -----------------------------------------------------------------------------------------------------

CREATE_USERS = "create_table :users do |t|\n  t.string :email\nend"
CREATE_ORDERS = "create_table :orders do |t|\n  t.bigint :user_id\nend"
ADD_FK = "add_index :users, :email, unique: true\nadd_foreign_key :orders, :users"


@pytest.fixture
def app_repo_only(tmp_path):
    """A git repo whose HEAD adds a unique index and a foreign key: (repo, base sha, head sha)."""
    import git

    path = tmp_path / "app"
    path.mkdir()
    repo = AppRepo(path, git.Repo.init(path, initial_branch="main"))
    base = repo.commit({
        "db/migrate/20230101000000_create_users.rb": migration("CreateUsers", CREATE_USERS),
        "db/migrate/20230101000001_create_orders.rb": migration("CreateOrders", CREATE_ORDERS),
    }, "initial")
    head = repo.commit({"db/migrate/20240101000001_add_user_fk.rb": migration("AddUserFk", ADD_FK)}, "fk")
    return repo, base, head


@pytest.fixture
def app(app_repo_only, fresh_db):
    """The repo, with the database at its base commit."""
    seed(fresh_db.connect())
    return app_repo_only


def seed(conn) -> None:
    """The database as the base commit left it, with one orphaned order."""
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE schema_migrations (version VARCHAR(255) PRIMARY KEY)")
        cur.execute("INSERT INTO schema_migrations VALUES ('20230101000000'), ('20230101000001')")
        cur.execute("CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255))")
        cur.execute("CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT)")
        cur.execute("INSERT INTO users (email) VALUES ('a@x.io'), ('b@x.io'), ('c@x.io')")
        cur.execute("INSERT INTO orders (user_id) VALUES (1), (2), (77), (3), (NULL)")  # 77: orphan
    conn.close()


@pytest.fixture
def preflight_user(fresh_db):
    with account(admin_connect, fresh_db.name, ("PROCESS ON *.*",)) as acct:
        yield acct


def _schema(fresh_db) -> list:
    conn = fresh_db.connect()
    try:
        with conn.cursor() as cur:
            out = []
            for table in ("users", "orders", "schema_migrations"):
                cur.execute(f"SHOW CREATE TABLE `{table}`")
                out.append(cur.fetchone()[1])
                cur.execute(f"SELECT * FROM `{table}` ORDER BY 1")
                out.append(cur.fetchall())
            return out
    finally:
        conn.close()


def test_preflight_blocks_on_orphans_lists_the_reason_and_changes_nothing(tmp_path, fresh_db, app, preflight_user):
    repo, base, head = app
    name, password = preflight_user
    url = f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:3306/{fresh_db.name}"
    cfg = write_config(tmp_path / "shipit.yaml", repo=repo.path, url=url)
    before = _schema(fresh_db)

    r = shipit("preflight", "--config", str(cfg), "--from", base, "--to", head, "--output", "json", password=password)
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["pending"] == ["20240101000001"] and out["to"] == head
    orphans = next(c for c in out["checks"] if c["kind"] == "orphans")
    assert (orphans["status"], orphans["count"]) == ("failed", 1)
    assert any("1 orphaned rows (first ids: 3)" in reason for reason in out["blocking_reasons"]), out
    dups = next(c for c in out["checks"] if c["kind"] == "duplicates")
    assert (dups["status"], dups["count"]) == ("passed", 0)
    assert "preflight blocked the release (1 reason)" in r.stderr
    assert password not in r.stdout + r.stderr

    text = shipit("preflight", "--config", str(cfg), "--from", base, password=password)
    assert text.returncode == 1
    assert text.stdout.startswith("Preflight BLOCKED: the release must not proceed.")
    assert "1 orphaned rows" in text.stdout and password not in text.stdout + text.stderr
    assert _schema(fresh_db) == before  # read only


def test_preflight_passes_once_the_data_is_fixed_and_without_from_uses_schema_migrations(
        tmp_path, fresh_db, app, preflight_user):
    repo, base, head = app
    name, password = preflight_user
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("DELETE FROM orders WHERE user_id = 77")
    conn.close()
    url = f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:3306/{fresh_db.name}"
    cfg = write_config(tmp_path / "shipit.yaml", repo=repo.path, url=url)
    r = shipit("preflight", "--config", str(cfg), "--output", "json", password=password)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    # without --from, the plan is the migrations at HEAD that schema_migrations does not list
    assert out["from"] is None and out["migrations"] == ["20240101000001"]
    assert out["ok"] is True and out["pending"] == ["20240101000001"] and out["blocking_reasons"] == []
    assert {(c["kind"], c["status"]) for c in out["checks"]} == {("orphans", "passed"), ("duplicates", "passed")}
    text = shipit("preflight", "--config", str(cfg), password=password)
    assert text.returncode == 0 and text.stdout.startswith("Preflight passed: the release may proceed.")


def test_preflight_missing_grant_blocks_with_the_exact_grant(tmp_path, fresh_db, app):
    repo, base, head = app
    with account(admin_connect, fresh_db.name, ()) as (name, password):  # SELECT only: no PROCESS
        url = f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:3306/{fresh_db.name}"
        cfg = write_config(tmp_path / "shipit.yaml", repo=repo.path, url=url)
        r = shipit("preflight", "--config", str(cfg), "--from", base, "--output", "json", password=password)
    assert r.returncode == 1
    grants = [x for x in json.loads(r.stdout)["risks"] if x["kind"] == "grants"]
    assert grants and grants[0]["blocking"] and f"GRANT PROCESS ON *.* TO '{name}'@'%';" in grants[0]["message"]


def test_preflight_bad_input_is_exit_3_and_a_wrong_password_is_never_shown(tmp_path, fresh_db, app, preflight_user):
    repo, base, head = app
    name, password = preflight_user
    cfg = write_config(tmp_path / "shipit.yaml", repo=repo.path,
                       url=f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:3306/{fresh_db.name}")
    r = shipit("preflight", "--config", str(cfg), "--from", "no-such-ref", password=password)
    assert r.returncode == 3 and "unknown git ref 'no-such-ref'" in r.stderr
    r = shipit("preflight", "--config", str(tmp_path / "absent.yaml"), password=password)
    assert r.returncode == 3 and "configuration file not found" in r.stderr
    no_db = write_config(tmp_path / "nodb.yaml", repo=repo.path, url=f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:3306")
    r = shipit("preflight", "--config", str(no_db), password=password)
    assert r.returncode == 3 and "must name one database" in r.stderr and password not in r.stderr

    wrong = "wrong-" + uuid.uuid4().hex
    r = shipit("preflight", "--config", str(cfg), "--from", base, password=wrong)
    assert r.returncode == 1 and "Access denied" in r.stderr
    assert wrong not in r.stdout + r.stderr and f"{name}:***@127.0.0.1" in r.stderr


@pytest.fixture
def monitor_on_pair(pair_db):
    """The monitoring account the probe asks for (created on the primary, replicated to the replica); without
    SELECT on performance_schema the watchdog would fall back to guessing blockers from transaction ages."""
    with account(pair_db.pair.primary.connect, pair_db.name,
                 ("PROCESS, SLAVE MONITOR ON *.*", "SELECT ON performance_schema.*")) as acct:
        pair_db.pair.wait_caught_up()
        yield acct


def pair_config(tmp_path: Path, pair_db, name: str, repo: Path) -> Path:
    port = {s: getattr(pair_db.pair, s).port for s in ("primary", "replica")}
    url = {s: f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:{p}/{pair_db.name}" for s, p in port.items()}
    return write_config(tmp_path / "shipit.yaml", repo=repo, url=url["primary"], replicas=(("replica1", url["replica"]),))


def test_preflight_runs_the_data_checks_on_the_replica(tmp_path, app_repo_only, pair_db, monitor_on_pair):
    repo, base, head = app_repo_only
    name, password = monitor_on_pair
    seed(pair_db.connect())
    pair_db.pair.wait_caught_up()
    cfg = pair_config(tmp_path, pair_db, name, repo.path)
    r = shipit("preflight", "--config", str(cfg), "--from", base, "--output", "json", password=password)
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["server"] == "replica1"
    orphans = next(c for c in out["checks"] if c["kind"] == "orphans")
    assert (orphans["status"], orphans["count"], orphans["server"]) == ("failed", 1, "replica1")
    assert not [x for x in out["risks"] if x["kind"] == "grants"] and password not in r.stdout + r.stderr


# --- db status -----------------------------------------------------------------------------------------------------


def test_db_status_shows_ddl_mdl_wait_replica_replay_lag_and_pileup(tmp_path, pair_db, monitor_on_pair):
    name, password = monitor_on_pair
    setup = pair_db.connect()
    with setup.cursor() as cur:
        cur.execute("CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100))")
        cur.execute("CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL)")
        cur.execute("INSERT INTO orders VALUES (1, 101), (2, 102)")
    pair_db.pair.wait_caught_up()
    cfg = pair_config(tmp_path, pair_db, name, tmp_path)

    replica_reader = pair_db.connect("replica")  # holds users' MDL on the replica: its replay of the ALTER waits
    blocker = pair_db.connect()
    started: list[Background] = []
    try:
        hold_in_transaction(replica_reader, "SELECT COUNT(*) FROM users")
        with setup.cursor() as cur:
            cur.execute("ALTER TABLE users ADD INDEX index_users_on_email (email)")
        blocker_id = hold_in_transaction(blocker, "SELECT user_id FROM orders WHERE id = 2")
        alter = Background(pair_db.connect, "ALTER TABLE orders ADD INDEX index_orders_on_user_id (user_id)")
        started.append(alter)
        with setup.cursor() as cur:
            def mdl_waiters() -> int:
                cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = "
                            "'Waiting for table metadata lock'")
                return cur.fetchone()[0]
            wait_for(lambda: mdl_waiters() == 1, timeout=30)
            started += [Background(pair_db.connect, "SELECT user_id FROM orders WHERE id = 1") for _ in range(5)]
            wait_for(lambda: mdl_waiters() == 6, timeout=30)
        wait_for(lambda: pair_db.pair.replica.sql(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE = "
            "'Waiting for table metadata lock'")[0]["n"] == 1, timeout=30)

        r = shipit("db", "status", "--config", str(cfg), "--output", "json", password=password)
        assert r.returncode == 0, r.stderr
        assert password not in r.stdout + r.stderr
        out = json.loads(r.stdout)
        ddl = {(d["server"], d["table"]): d for d in out["ddl"]}
        mine = ddl[("primary", "orders")]
        assert mine["statement"].startswith("ALTER TABLE orders ADD INDEX index_orders_on_user_id")
        assert (mine["phase"], mine["progress"], mine["eta_s"], mine["connection"]) == (
            "waiting for metadata lock", None, None, alter.conn_id)
        replay = ddl[("replica1", "users")]
        assert replay["replaying"] is True and "index_users_on_email" in replay["statement"]
        assert set(ddl) == {("primary", "orders"), ("replica1", "users")}

        (wait,) = [w for w in out["mdl_waits"] if w["server"] == "primary"]
        assert (wait["table"], wait["connection"], wait["victims"]) == ("orders", alter.conn_id, 5)
        (b,) = wait["blockers"]
        assert (b["connection"], b["user"], b["idle_in_transaction"], b["lock_type"]) == (
            blocker_id, "root", True, "SHARED_READ")
        assert b["last_statement"] == "select user_id from orders where id = ?"
        assert wait["action"] == f"end session {blocker_id}"  # no migrator holds Rails' lock: not our DDL to kill

        (replica,) = out["replicas"]
        assert replica["name"] == "replica1" and replica["lag_s"] is not None and replica["sql_running"] is True
        assert out["health"]["threads_running"] >= 6
        (pile,) = out["health"]["pileups"]
        assert (pile["server"], pile["threads"], pile["fingerprint"]) == (
            "primary", 5, "select user_id from orders where id = ?")
        assert {s["name"] for s in out["health"]["servers"]} == {"primary", "replica1"} and out["errors"] == []

        text = shipit("db", "status", "--config", str(cfg), password=password)
        assert text.returncode == 0 and password not in text.stdout + text.stderr
        assert f"blocked by connection {blocker_id} (root@127.0.0.1" in text.stdout
        assert f"    action: end session {blocker_id}" in text.stdout
        assert "replica1 (replaying): alter_table on" in text.stdout
        assert "pile-up: 5 threads on select user_id from orders where id = ?" in text.stdout
    finally:
        with contextlib.suppress(pymysql.MySQLError):
            replica_reader.rollback()
        for conn in (blocker, replica_reader, setup):
            conn.close()
        for b in started:
            b.join(60)
            b.close()


def test_db_status_reports_an_unreachable_replica_and_reads_the_rest(tmp_path, fresh_db, preflight_user):
    name, password = preflight_user
    url = f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:3306/{fresh_db.name}"
    cfg = write_config(tmp_path / "shipit.yaml", repo=tmp_path, url=url,
                       replicas=(("replica1", f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:1/{fresh_db.name}"),))
    r = shipit("db", "status", "--config", str(cfg), "--output", "json", password=password)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ddl"] == [] and out["mdl_waits"] == [] and out["replicas"] == []
    (err,) = out["errors"]
    assert err["server"] == "replica1" and "unreachable" in err["error"]
    assert f"{name}:***@127.0.0.1:1" in err["error"] and password not in r.stdout + r.stderr
    assert isinstance(out["health"]["threads_running"], int)

    broken = write_config(tmp_path / "broken.yaml", repo=tmp_path,
                          url=f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:1/{fresh_db.name}")
    r = shipit("db", "status", "--config", str(broken), password=password)
    assert r.returncode == 1 and "no database server could be read" in r.stderr and password not in r.stderr
