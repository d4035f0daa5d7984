"""`shipit diagnose` against real incidents made by hand, without shipit: kubectl against kubesim (exec mode, so a
migration Job runs `rails db:migrate` for real), the real MariaDB, and the real CLI.

The outage: a migration Job started with kubectl fails on orphaned payments before it builds the index the new code
needs; the new code is rolled out with `kubectl set image`; a bounded load generator runs the new code's query and
piles up full scans. Also: a healthy system, a crash-looping release, a metadata-lock pile-up and a lagging replica.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pymysql

from tests.kubesim import resources as R
from tests.support.sandbox import NAMESPACE, ROOT, Sandbox, connect

V1 = "20240101000001"
V2 = "20240201000001"
INDEX = "index_orders_on_customer_id_and_created_at"
ORDERS = 200_000
CREATE = """\
def change
  create_table :orders do |t|
    t.bigint :customer_id, null: false
    t.integer :total_cents, null: false, default: 0
    t.timestamps
  end
  create_table :payments do |t|
    t.bigint :order_id, null: false
    t.integer :amount_cents, null: false
  end
end
"""
ADD_FK_AND_INDEX = """\
def change
  add_foreign_key :payments, :orders
  add_index :orders, [:customer_id, :created_at]
end
"""
SCHEMA_V1 = f"""\
ActiveRecord::Schema.define(version: {V1}) do
  create_table "orders", charset: "utf8mb4", force: :cascade do |t|
    t.bigint "customer_id", null: false
    t.integer "total_cents", default: 0, null: false
    t.datetime "created_at", precision: 6, null: false
    t.datetime "updated_at", precision: 6, null: false
  end

  create_table "payments", charset: "utf8mb4", force: :cascade do |t|
    t.bigint "order_id", null: false
    t.integer "amount_cents", null: false
  end
end
"""
SCHEMA_V2 = SCHEMA_V1.replace(f"version: {V1}", f"version: {V2}").replace(
    '    t.datetime "updated_at", precision: 6, null: false\n  end\n\n  create_table "payments"',
    f'    t.datetime "updated_at", precision: 6, null: false\n    t.index ["customer_id", "created_at"], name: "{INDEX}"\n'
    '  end\n\n  create_table "payments"').replace("  end\nend\n", '  end\n\n  add_foreign_key "payments", "orders"\nend\n')
NEW_QUERY = "SELECT * FROM orders WHERE customer_id = {} ORDER BY created_at DESC LIMIT 20"


def _set_image(sb: Sandbox, sha: str) -> None:
    """The release by hand: every Deployment to the image of `sha`."""
    for name in ("web", "worker"):
        sb.cluster.kubectl("set", "image", f"deployment/{name}", f"{name}={sb.image(sha)}", "-n", NAMESPACE)


def _release_v1(sb: Sandbox) -> str:
    """Orders and payments, migrated with `rails db:migrate` run by hand, and the code rolled out with kubectl."""
    sb.add_migration(V1, "create_orders_and_payments", CREATE, commit=False)
    (sb.repo / "db" / "schema.rb").write_text(SCHEMA_V1)
    sha = sb.commit("orders and payments")
    out = sb.app.migrate(sb.db_admin_url)
    assert out.returncode == 0, out.stdout
    _set_image(sb, sha)
    sb.wait_deployments_ready()
    return sha


def _run_diagnose(sb: Sandbox) -> tuple[object, dict, object]:
    j = sb.shipit("diagnose", "--output", "json", timeout=60)
    t = sb.shipit("diagnose", timeout=60)
    sb.assert_no_secret(j, t)
    assert j.stdout.count("\n{") == 0 and j.stdout.lstrip().startswith("{"), j.text  # exactly one JSON object
    return j, j.json(), t


def _findings(report: dict, kind: str) -> list[dict]:
    return [f for s in report["sections"].values() for f in s["findings"] if f["kind"] == kind]


def _migration_job(sb: Sandbox, sha: str) -> str:
    """A migration Job as a person would start it: kubectl apply, the app's image, `bin/rails db:migrate`."""
    name = f"deploy-tasks-{sha[:7]}"
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NAMESPACE},
           "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [{
               "name": "migrate", "image": sb.image(sha), "command": ["bin/rails", "db:migrate"],
               "workingDir": str(sb.repo),
               "env": [{"name": "RAILS_ENV", "value": "development"},
                       {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "DATABASE_URL"}}}],
           }]}}}}
    sb.cluster.kubectl("apply", "-f", "-", input=json.dumps(job))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = next((j.get("status") or {} for j in sb.jobs() if j["metadata"]["name"] == name), {})
        if any(c["type"] == "Failed" and c["status"] == "True" for c in status.get("conditions") or []):
            return name
        assert not status.get("succeeded"), "the migration was meant to fail on the orphaned payments"
        time.sleep(0.3)
    raise AssertionError(f"Job {name} did not fail within 120s: {status}")


@contextlib.contextmanager
def _load(sb: Sandbox, threads: int = 12, seconds: float = 90.0) -> Iterator[None]:
    """The new code's query on `threads` connections in a loop, stopped on exit or after `seconds` at most."""
    stop = threading.Event()
    end = time.monotonic() + seconds

    def worker(i: int) -> None:
        conn = connect(sb.db_admin_url)
        try:
            with conn.cursor() as cur:
                while not stop.is_set() and time.monotonic() < end:
                    cur.execute(NEW_QUERY.format(1000 + i))
                    cur.fetchall()
        finally:
            conn.close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.join(30)


def _wait_piling(sb: Sandbox, at_least: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = sb.sql("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE "
                      "'SELECT * FROM orders WHERE customer_id%%'")
        if rows[0]["n"] >= at_least:
            return
        time.sleep(0.1)
    raise AssertionError("the load never piled up")


def test_the_outage_by_hand_is_diagnosed(sandbox):
    sb = sandbox
    _release_v1(sb)
    sb.sql(f"INSERT INTO orders (customer_id, total_cents, created_at, updated_at) SELECT seq % 5000, seq, "
           f"NOW() - INTERVAL seq SECOND, NOW() FROM seq_1_to_{ORDERS}")
    sb.sql("INSERT INTO payments (order_id, amount_cents) SELECT seq, 100 FROM seq_1_to_1000")
    sb.sql("INSERT INTO payments (order_id, amount_cents) VALUES (90000001, 5), (90000002, 5), (90000003, 5)")
    sb.add_migration(V2, "add_payments_fk_and_orders_index", ADD_FK_AND_INDEX, commit=False)
    (sb.repo / "db" / "schema.rb").write_text(SCHEMA_V2)
    target = sb.commit("orders by customer, newest first")

    job = _migration_job(sb, target)
    assert INDEX not in sb.indexes("orders") and V2 not in sb.schema_versions()
    _set_image(sb, target)
    sb.wait_deployments_ready()

    with _load(sb):
        _wait_piling(sb, 6)
        j, report, t = _run_diagnose(sb)

    assert j.code == 1 and t.code == 1, j.text + t.text
    assert report["ok"] is False and report["elapsed_s"] <= 10.0
    assert report["serving_commit"] == target and report["sections"]["release"]["schema_matches"] is False
    assert all(s["state"] != "skipped" for s in report["sections"].values()), report["sections"]
    missing = _findings(report, "missing_schema")
    assert any(f["subject"] == INDEX and f["table"] == "orders" for f in missing), missing
    assert any(f["subject"] == V2 for f in _findings(report, "pending_migration"))
    failed = _findings(report, "job_failed")
    assert [f["subject"] for f in failed] == [job]
    assert any("Mysql2::Error" in e and "foreign key constraint fails" in e for e in failed[0]["evidence"]), failed
    assert "ERROR 1452: orphaned rows in payments.order_id" in failed[0]["summary"]
    scans = _findings(report, "full_scan")
    assert scans and scans[0]["table"] == "orders" and "customer_id" in scans[0]["columns"], scans
    assert "select * from orders where customer_id = ?" in scans[0]["subject"]
    assert any(INDEX in e for e in scans[0]["evidence"]), scans[0]
    top = report["likely_causes"][0]
    for fact in (INDEX, V2, job, "1452", "full scans"):
        assert fact in top["cause"], top
    assert "shipit rollback" in top["next"]
    for fact in (INDEX, V2, job, "1452", "full scans", "Likely cause:"):
        assert fact in t.stdout, t.text

    argv = [sys.executable, "-m", "shipit.cli", "db", "drift", "--config", str(sb.config_path), "--output", "json"]
    d = subprocess.run(argv, cwd=ROOT, env=sb.env(), capture_output=True, text=True, timeout=60)  # no --at: serving
    assert d.returncode == 1 and sb.password not in d.stdout + d.stderr, d.stdout + d.stderr
    drift = json.loads(d.stdout)
    assert drift["commit"] == target and {(x["kind"], x["name"]) for x in drift["servers"][0]["drift"]} == {
        ("missing_index", INDEX), ("missing_foreign_key", "fk_rails_6af949464b"), ("pending_version", V2)}


def test_a_healthy_system_exits_0_and_invents_nothing(sandbox):
    sb = sandbox
    sha = _release_v1(sb)
    j, report, t = _run_diagnose(sb)
    assert j.code == 0 and t.code == 0, j.text + t.text
    assert report["ok"] is True and report["likely_causes"] == [] and report["serving_commit"] == sha
    assert report["sections"]["release"]["schema_matches"] is True
    assert f"code and schema: match db/schema.rb at {sha[:12]}" in t.stdout
    for name, section in report["sections"].items():
        assert section["state"] == "ok" and section["findings"] == [], (name, section)
    assert "nothing wrong found" in t.stdout and "Likely cause" not in t.stdout
    assert report["sections"]["database"]["servers"][0]["usual"] is None  # released by hand: no record measured it
    assert "usual unknown: no shipit release recorded this server's load" in t.stdout


def test_a_crash_looping_release_is_named_with_its_log_line(sandbox):
    sb = sandbox
    _release_v1(sb)
    bad = sb.change_code("app/models/order.rb", "class Order < ApplicationRecord; end\n")
    sb.crash_image(bad)
    _set_image(sb, bad)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pods = [p for p in sb.cluster.store.list(R.PODS, NAMESPACE)[0] if p["spec"]["containers"][0]["image"] == sb.image(bad)]
        if any(cs.get("restartCount", 0) >= 1 for p in pods for cs in (p.get("status") or {}).get("containerStatuses") or []):
            break
        time.sleep(0.2)
    j, report, t = _run_diagnose(sb)
    assert j.code == 1, j.text
    failing = _findings(report, "pod_failing")
    assert failing and all(f["subject"] in ("web", "worker") for f in failing), failing
    top = report["likely_causes"][0]
    assert "pods are failing" in top["cause"] and "CrashLoopBackOff" in top["cause"] + json.dumps(failing)
    assert any("boom in config/initializers/cache.rb:3" in e for e in top["evidence"]), top
    assert "boom in config/initializers/cache.rb:3" in t.stdout


def test_a_metadata_lock_pileup_names_the_blocking_session(sandbox):
    sb = sandbox
    _release_v1(sb)
    holder = connect(sb.db_admin_url)
    queued: list[pymysql.connections.Connection] = []
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            holder_id = cur.fetchone()[0]
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM orders LIMIT 1")
        ddl = connect(sb.db_admin_url)
        queued.append(ddl)
        threading.Thread(target=lambda: _quiet(ddl, "ALTER TABLE orders ADD COLUMN note VARCHAR(20)"), daemon=True).start()
        for _ in range(5):
            c = connect(sb.db_admin_url)
            queued.append(c)
            threading.Thread(target=lambda c=c: _quiet(c, "SELECT COUNT(*) FROM orders"), daemon=True).start()
        deadline = time.monotonic() + 20
        while sb.sql("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE = "
                     "'Waiting for table metadata lock'")[0]["n"] < 6:
            assert time.monotonic() < deadline, "the pile-up never formed"
            time.sleep(0.1)
        j, report, t = _run_diagnose(sb)
    finally:
        holder.close()
        for c in queued:
            c.close()
    assert j.code == 1, j.text
    waits = _findings(report, "mdl_wait")
    assert waits and waits[0]["table"] == "orders" and waits[0]["count"] >= 5, waits
    assert str(holder_id) in waits[0]["subject"].split(","), waits
    top = report["likely_causes"][0]
    assert "metadata lock" in top["cause"] and f"KILL {holder_id}" in top["next"], top
    assert f"connection {holder_id}" in t.stdout


def _quiet(conn: pymysql.connections.Connection, sql: str) -> None:
    with contextlib.suppress(pymysql.MySQLError):
        with conn.cursor() as cur:
            cur.execute(sql)


def test_a_lagging_replica_is_named(replica_sandbox):
    sb = replica_sandbox
    _release_v1(sb)
    deadline = time.monotonic() + 30
    while sb.schema_versions("replica1") != sb.schema_versions():
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.2)
    sb.sql("STOP REPLICA SQL_THREAD", server="replica1")
    try:
        sb.sql("INSERT INTO orders (customer_id, created_at, updated_at) VALUES (1, NOW(), NOW())")
        j, report, t = _run_diagnose(sb)
    finally:
        sb.sql("START REPLICA SQL_THREAD", server="replica1")
    assert j.code == 1, j.text
    lag = _findings(report, "replica_lag")
    assert [f["subject"] for f in lag] == ["replica1"], lag
    assert "SQL thread stopped" in lag[0]["summary"]
    assert any("replica1" in c["cause"] for c in report["likely_causes"])
    assert "replica1: lag unknown" in t.stdout


USERS_SCHEMA = """\
ActiveRecord::Schema.define(version: 2024_01_03_000001) do
  create_table "users", charset: "utf8mb4", force: :cascade do |t|
    t.string "email", null: false
    t.string "name"
    t.datetime "created_at", precision: 6, null: false
    t.datetime "updated_at", precision: 6, null: false
    t.string "nickname"
    t.index ["email"], name: "index_users_on_email"
  end
end
"""


def test_release_stops_before_the_code_when_the_schema_file_declares_a_missing_index(sandbox):
    """A migration recorded without its index (edited after it ran, or run outside shipit) is outside this release's
    range; the release touches the same table and its schema file declares the index: no code without it."""
    sb = sandbox
    sb.bootstrap()
    sb.add_migration("20240102000001", "add_index_on_users_email", "def change\n  add_index :users, :email\nend")
    deployed = sb.head()
    sb.sql("INSERT INTO schema_migrations (version) VALUES ('20240102000001')")  # recorded, index never built
    sb.add_migration("20240103000001", "add_nickname_to_users", "def change\n  add_column :users, :nickname, :string\nend",
                     commit=False)
    (sb.repo / "db" / "schema.rb").write_text(USERS_SCHEMA)
    target = sb.change_code("app/models/user.rb", "class User < ApplicationRecord\n  def self.by_email(e) = find_by(email: e)\nend\n")
    r = sb.shipit("release", "--from", deployed, "--output", "json")
    assert r.code in (1, 2), r.text  # 2 when the gate runs in the DDL-wait phase: this release's migration is applied
    assert "index_users_on_email" in r.stdout + r.stderr
    assert sb.deployment_images()["web"] != sb.image(target)
