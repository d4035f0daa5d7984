"""Schema drift, the release gate and the diagnose database probe on real MariaDB (a primary + replica pair), and
`shipit db drift` as a real subprocess."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

from shipit.db.connection import DatabaseURL, Server, Servers
from shipit.db.drift import DriftKind, read_drift, schema_gate
from shipit.db.health import HealthThresholds
from shipit.db.migration_state import read_schema
from shipit.report.diagnose import database
from shipit.report.diagnose.findings import Kind
from shipit.planning.schema_file import parse_schema_rb
from tests.integration.db.helpers import Background, pair_servers, wait_for
from tests.integration.db.test_commands import shipit, write_config

V1, V2 = "20240101000001", "20240201000001"
IX = "index_orders_on_customer_id_and_created_at"
SCHEMA = f'''\
ActiveRecord::Schema.define(version: {V2}) do
  create_table "orders", charset: "utf8mb4", force: :cascade do |t|
    t.bigint "customer_id", null: false
    t.datetime "created_at", precision: 6, null: false
    t.index ["customer_id", "created_at"], name: "{IX}"
  end
  create_table "payments", charset: "utf8mb4", force: :cascade do |t|
    t.bigint "order_id", null: false
  end
  add_foreign_key "payments", "orders"
end
'''
TABLES = (
    "CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT NOT NULL, created_at DATETIME(6) NOT NULL)",
    "CREATE TABLE payments (id BIGINT AUTO_INCREMENT PRIMARY KEY, order_id BIGINT NOT NULL)",
    "CREATE TABLE schema_migrations (version VARCHAR(255) PRIMARY KEY)",
    f"INSERT INTO schema_migrations VALUES ('{V1}')",
)


def model():
    return dataclasses.replace(parse_schema_rb(SCHEMA), migrations=(V1, V2))


def _sql(conn, *statements: str) -> None:
    with conn.cursor() as cur:
        for s in statements:
            cur.execute(s)


def test_drift_on_every_server_and_the_gate(pair_db, replica_pair):
    primary = pair_db.connect()
    _sql(primary, *TABLES, "ALTER TABLE payments ADD CONSTRAINT fk_rails_6af949464b FOREIGN KEY (order_id) "
                           "REFERENCES orders (id)")
    _sql(primary, "SET SESSION sql_log_bin = 0", f"CREATE INDEX {IX} ON orders (customer_id, created_at)")
    replica_pair.wait_caught_up()
    servers = pair_servers(pair_db)
    try:
        report = read_drift(servers, model(), "c" * 40)
        by_server = {s.server: [(d.kind, d.name) for d in s.drifts if d.depends] for s in report.servers}
        assert by_server == {"primary": [(DriftKind.PENDING_VERSION, V2)],
                             "replica1": [(DriftKind.PENDING_VERSION, V2), (DriftKind.MISSING_INDEX, IX)]}
        live = {s.name: read_schema(s, ["orders", "payments"]) for s in servers.all()}
        gate = schema_gate(model(), ["orders"], live)
        assert not gate.ok and [(d.server, d.name) for d in gate.missing] == [("replica1", IX)]
        assert schema_gate(model(), ["payments"], live).ok  # the foreign key exists everywhere
        _sql(pair_db.connect("replica"), "SET SESSION sql_log_bin = 0",
             f"CREATE INDEX {IX} ON orders (customer_id, created_at)")
        live = {s.name: read_schema(s, ["orders", "payments"]) for s in servers.all()}
        assert schema_gate(model(), ["orders", "payments"], live).ok
    finally:
        servers.close()
        primary.close()


def test_a_down_server_is_reported_not_fatal(pair_db):
    _sql(pair_db.connect(), *TABLES)
    servers = pair_servers(pair_db)
    down = Server("replica2", DatabaseURL.parse("mysql://root@127.0.0.1:1/x"), retry_budget=0.2)
    try:
        report = read_drift(Servers(servers.primary, (down,)), model(), "c" * 40)
        assert report.servers[0].error == "" and "unreachable" in report.servers[1].error
    finally:
        servers.close()


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, text=True).stdout.strip()


def test_db_drift_command_exit_codes(tmp_path, fresh_db):
    repo = tmp_path / "app"
    (repo / "db" / "migrate").mkdir(parents=True)
    (repo / "db" / "schema.rb").write_text(SCHEMA)
    for v in (V1, V2):
        (repo / "db" / "migrate" / f"{v}_m.rb").write_text("")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "schema")
    conn = fresh_db.connect()
    _sql(conn, *TABLES)
    cfg = write_config(tmp_path / "shipit.yaml", repo=repo, url=fresh_db.url)

    r = shipit("db", "drift", "--config", str(cfg), "--at", "HEAD", "--output", "json", password="")
    assert r.returncode == 1, r.stdout + r.stderr
    out = json.loads(r.stdout)
    drift = {(d["kind"], d["name"]) for d in out["servers"][0]["drift"]}
    assert drift == {("pending_version", V2), ("missing_index", IX), ("missing_foreign_key", "fk_rails_6af949464b")}
    assert "depends on" in r.stderr and "Traceback" not in r.stderr

    _sql(conn, f"INSERT INTO schema_migrations VALUES ('{V2}')", f"CREATE INDEX {IX} ON orders (customer_id, created_at)",
         "ALTER TABLE payments ADD CONSTRAINT fk_rails_6af949464b FOREIGN KEY (order_id) REFERENCES orders (id)",
         "CREATE INDEX extra_ix ON orders (created_at)")
    r = shipit("db", "drift", "--config", str(cfg), "--at", "main", password="")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "index extra_ix on orders (created_at) is not in the schema file (the code does not depend on it)" in r.stdout

    r = shipit("db", "drift", "--config", str(cfg), "--at", "no-such-ref", "--output", "json", password="")
    assert r.returncode == 3 and json.loads(r.stdout)["error"].startswith("unknown git ref 'no-such-ref'")
    assert r.stdout.count("{") == 1 and "Traceback" not in r.stderr


def test_database_probe_explains_a_full_scan_pileup_on_the_replica(pair_db, replica_pair):
    primary = pair_db.connect()
    _sql(primary, TABLES[0], "INSERT INTO orders (customer_id, created_at) SELECT seq % 100, NOW() FROM seq_1_to_2000")
    replica_pair.wait_caught_up()
    servers = pair_servers(pair_db)
    queries: list[str] = []
    for s in servers.all():
        inner = s.query

        def counting(sql, args=None, *, timeout=5.0, inner=inner):
            queries.append(sql)
            return inner(sql, args, timeout=timeout)
        s.query = counting  # counts what the probe sends; every query still reaches the real server
    pile = [Background(pair_db.connect, "SELECT * FROM orders WHERE customer_id = 7 AND SLEEP(0.5) = 0")
            for _ in range(6)]
    try:
        wait_for(lambda: len([r for r in replica_pair.primary.sql(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT * FROM orders WHERE customer_id%%'")]) >= 6)
        facts = database.probe(servers, HealthThresholds())
    finally:
        for b in pile:
            b.close()
        servers.close()
        primary.close()
    assert facts.explained_on == "replica1"
    (plan,) = facts.plans
    assert plan.full_scan and plan.table == "orders" and plan.rows >= 1000
    assert plan.fingerprint == "select * from orders where customer_id = ? and sleep(?) = ?"
    assert sum(q.startswith("EXPLAIN") for q in queries) == 1
    assert len(queries) <= 12, queries  # per server: processlist, status, oldest transaction (+ replica status)
    assert not any(q.lstrip().upper().startswith("SELECT *") for q in queries)  # the piling query itself never runs
    r = database.verdict(facts, HealthThresholds())
    scan = next(f for f in r.findings if f.kind is Kind.FULL_SCAN)
    assert scan.count == 6 and scan.columns == ("customer_id",)
