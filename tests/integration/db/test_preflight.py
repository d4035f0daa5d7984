"""Preflight on the real MariaDB: chunked orphan/NULL scans, collation-aware duplicates, throttling, budget, risks."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from shipit.db.connection import DatabaseURL, Role, Server, Servers
from shipit.db.migration_state import rails_lock_name
from shipit.db.checks import Check, CheckKind
from shipit.db.checks.result import CheckStatus
from shipit.db.preflight import Settings, Throttle, next_chunk_size, run_check, run_preflight, throttle_reason
from shipit.db.risks import RiskKind, Transaction, transaction_risks
from shipit.planning.classify import ExpectedObject, ObjectKind

FAST = Settings(budget=30.0, chunk_time=0.02, long_transaction=30.0, threads_running_max=1000, replica_lag_max=10.0)


@dataclasses.dataclass(frozen=True)
class Migration:  # the shape of shipit.planning.plan.Migration that preflight reads
    version: str
    checks: tuple = ()
    expected: tuple = ()
    operations: tuple = ()
    database: str = "primary"


@pytest.fixture
def server(fresh_db):
    s = Server("primary", DatabaseURL.parse(fresh_db.url))
    yield s
    s.close()


def _sql(db, *statements):
    conn = db.connect()
    with conn.cursor() as cur:
        for s in statements:
            cur.execute(s)
    conn.close()


def _orders(db, rows=20000, orphans=(), nulls=()):
    """users 1..100; orders 1..rows with user_id cycling 1..100, orphans point at 100000+id, nulls have NULL."""
    _sql(db,
         "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(100) COLLATE utf8mb4_unicode_ci)",
         "INSERT INTO users SELECT seq, CONCAT('u', seq, '@x.io') FROM seq_1_to_100",
         "CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT, note VARCHAR(10))",
         f"INSERT INTO orders (id, user_id, note) SELECT seq, 1 + seq % 100, 'n' FROM seq_1_to_{rows}")
    for i in orphans:
        _sql(db, f"UPDATE orders SET user_id = {100000 + i} WHERE id = {i}")
    for i in nulls:
        _sql(db, f"UPDATE orders SET user_id = NULL, note = NULL WHERE id = {i}")


def test_orphans_found_in_chunks_and_nulls_are_not_orphans(fresh_db, server):
    orphans = (7, 19, 5000, 5001, 12000, 19999, 20000, 31, 77, 88, 99, 120)
    _orders(fresh_db, orphans=orphans, nulls=(3, 4, 15000))
    check = Check(CheckKind.ORPHANS, "orders", column="user_id", to_table="users", primary_key="id",
                  migration_version="20240101000001")
    r = run_check(server, check, FAST, time.monotonic() + 30, None)
    assert r.status is CheckStatus.FAILED
    assert r.count == len(orphans)
    assert r.samples == tuple(sorted(orphans)[:10])
    assert r.rows_scanned == 20000 and r.chunks > 3
    assert "orphans orders.user_id -> users.id: 12 orphaned rows (first ids: 7, 19, 31" in r.finding()
    assert "ERROR 1452" in r.finding()


def test_nulls_check(fresh_db, server):
    _orders(fresh_db, rows=5000, nulls=(10, 4000))
    r = run_check(server, Check(CheckKind.NULLS, "orders", column="note"), FAST, time.monotonic() + 30, None)
    assert (r.status, r.count, r.samples, r.rows_scanned) == (CheckStatus.FAILED, 2, (10, 4000), 5000)
    clean = run_check(server, Check(CheckKind.NULLS, "orders", column="id"), FAST, time.monotonic() + 30, None)
    assert clean.status is CheckStatus.PASSED and "none in 5,000 rows" in clean.describe()


def test_duplicates_follow_the_column_collation(fresh_db, server):
    _sql(fresh_db,
         "CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(50) COLLATE utf8mb4_unicode_ci, "
         "code VARCHAR(50) COLLATE utf8mb4_bin)",
         "INSERT INTO people VALUES (1, 'a@x.com', 'a@x.com'), (2, 'A@x.com', 'A@x.com'), (3, 'b@x.com', 'b'), "
         "(4, 'b@x.com ', 'c'), (5, NULL, NULL), (6, NULL, NULL), (7, 'c@x.com', 'd')")
    r = run_check(server, Check(CheckKind.DUPLICATES, "people", columns=("email",)), FAST, time.monotonic() + 30, None)
    assert r.status is CheckStatus.FAILED and r.count == 2  # case and trailing space (PAD SPACE); NULLs are allowed
    assert set(r.samples) == {(2, 1, 2), (2, 3, 4)}
    assert "ERROR 1062" in r.finding()
    binary = run_check(server, Check(CheckKind.DUPLICATES, "people", columns=("code",)), FAST, time.monotonic() + 30,
                       None)
    assert binary.status is CheckStatus.PASSED


def test_missing_table_is_skipped_and_budget_exhaustion_blocks(fresh_db, server):
    r = run_check(server, Check(CheckKind.NULLS, "nope", column="x"), FAST, time.monotonic() + 30, None)
    assert r.status is CheckStatus.SKIPPED and "does not exist yet" in r.note
    _orders(fresh_db, rows=50000)
    check = Check(CheckKind.ORPHANS, "orders", column="user_id", to_table="users")
    ticks = iter(range(1_000_000))  # a clock that moves one second per reading: the budget ends after a few chunks
    r = run_check(server, check, FAST, 8, None, clock=lambda: next(ticks))
    assert 0 < r.rows_scanned < 50000
    assert r.status is CheckStatus.INCOMPLETE and "budget ran out" in r.note and "% of keys scanned" in r.note


def test_throttles_on_threads_running(fresh_db, server):
    _orders(fresh_db, rows=2000)
    sleepers = []

    def sleep_query():
        conn = fresh_db.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT SLEEP(1.5)")
        conn.close()

    for _ in range(6):
        t = threading.Thread(target=sleep_query)
        t.start()
        sleepers.append(t)
    time.sleep(0.3)
    settings = dataclasses.replace(FAST, threads_running_max=4)
    throttle = Throttle(server, (), settings.threads_running_max, settings.replica_lag_max)
    assert throttle.reason_now().startswith("Threads_running")
    started = time.monotonic()
    r = run_check(server, Check(CheckKind.ORPHANS, "orders", column="user_id", to_table="users"), settings,
                  time.monotonic() + 20, throttle)
    for t in sleepers:
        t.join()
    assert r.status is CheckStatus.PASSED
    assert throttle.waited_s > 0.5 and time.monotonic() - started >= 1.0


def test_pure_decisions():
    @dataclasses.dataclass(frozen=True)
    class Lag:
        lag_s: float | None

        def within(self, limit):
            return self.lag_s is not None and self.lag_s <= limit

        def describe(self):
            return f"r1: {self.lag_s}s behind"

    assert throttle_reason(3, [Lag(0.5)], 50, 10) is None
    assert throttle_reason(51, [], 50, 10) == "Threads_running 51 > 50"
    assert throttle_reason(3, [Lag(None)], 50, 10).startswith("replica r1")
    assert next_chunk_size(1000, 0.01, 0.05) == 2000 and next_chunk_size(1000, 0.2, 0.05) == 500
    trx = [Transaction(11, 45, "Query", 45, "app", "h", "SELECT 1", 0), Transaction(12, 20, "Sleep", 15, "app", "h", "", 3),
           Transaction(13, 5, "Sleep", 5, "app", "h", "", 0)]
    risks = transaction_risks(trx, long_transaction=30)
    assert [(r.kind, r.blocking) for r in risks] == [(RiskKind.LONG_TRANSACTION, True),
                                                     (RiskKind.IDLE_IN_TRANSACTION, True)]
    assert "KILL 12" in risks[1].message


def test_whole_preflight_reports_data_risks_and_estimates(fresh_db, server):
    _orders(fresh_db, rows=3000, orphans=(42,))
    _sql(fresh_db, "CREATE TABLE schema_migrations (version VARCHAR(255) PRIMARY KEY)",
         "INSERT INTO schema_migrations VALUES ('20240101000000')",
         "CREATE INDEX index_users_on_email ON users (email)")  # left behind by a failed earlier attempt
    idle = fresh_db.connect()
    migrator = fresh_db.connect()
    with idle.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SELECT COUNT(*) FROM orders")  # holds a metadata lock on orders from now on
    with migrator.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, 0)", (rails_lock_name(fresh_db.name),))
    time.sleep(1.1)
    migrations = [
        Migration("20240101000000", checks=(Check(CheckKind.NULLS, "orders", column="note"),)),  # applied: skipped
        Migration("20240101000001",
                  checks=(Check(CheckKind.ORPHANS, "orders", column="user_id", to_table="users"),
                          Check(CheckKind.DUPLICATES, "users", columns=("email",))),
                  expected=(ExpectedObject(ObjectKind.INDEX, "users", "index_users_on_email", ("email",), True,
                                           "20240101000001", 3),
                            ExpectedObject(ObjectKind.FOREIGN_KEY, "orders", "fk_rails_0123456789", ("user_id",),
                                           False, "20240101000001", 4))),
    ]
    try:
        report = run_preflight(Servers(server), migrations, dataclasses.replace(FAST, long_transaction=1.0))
    finally:
        idle.close()
        migrator.close()
    assert not report.ok
    assert report.pending == ("20240101000001",)
    assert [(c.kind, c.status) for c in report.checks] == [("orphans", CheckStatus.FAILED),
                                                          ("duplicates", CheckStatus.PASSED)]
    kinds = {r.kind for r in report.risks if r.blocking}
    assert {RiskKind.LONG_TRANSACTION, RiskKind.MIGRATOR, RiskKind.PARTIAL_MIGRATION} <= kinds
    assert [e.name for e in report.estimates] == ["index_users_on_email", "fk_rails_0123456789"]
    text = report.render_text()
    assert text.startswith("Preflight BLOCKED: the release must not proceed.")
    assert "orphans orders.user_id -> users.id: 1 orphaned rows (first ids: 42)" in text
    assert "rails running (connection" in text
    assert "A rerun will fail at line 3" in text
    data = report.to_json()
    assert data["ok"] is False and data["checks"][0]["samples"] == [42] and data["estimates"][1]["kind"] == "foreign_key"


def test_clean_preflight_runs_checks_on_a_fresh_replica(pair_db):
    primary_conn = pair_db.connect()
    with primary_conn.cursor() as cur:
        cur.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)")
        cur.execute("INSERT INTO users SELECT seq FROM seq_1_to_100")
        cur.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT)")
        cur.execute("INSERT INTO orders SELECT seq, 1 + seq % 100 FROM seq_1_to_5000")
    primary_conn.close()
    pair_db.pair.wait_caught_up()
    servers = Servers(Server("primary", DatabaseURL.parse(pair_db.primary_url)),
                      (Server("r1", DatabaseURL.parse(pair_db.replica_url), Role.REPLICA),))
    try:
        report = run_preflight(servers, [Migration("20240101000001", checks=(
            Check(CheckKind.ORPHANS, "orders", column="user_id", to_table="users"),))], FAST)
    finally:
        servers.close()
    assert report.ok, report.render_text()
    assert report.server == "r1" and report.checks[0].server == "r1"
    assert report.checks[0].rows_scanned == 5000
    assert report.render_text().startswith("Preflight passed: the release may proceed.")


def test_prefix_duplicates_compare_only_the_prefix(fresh_db, server):
    """A `length: {url: 5}` unique index rejects rows equal in their first 5 characters, not only equal rows."""
    _sql(fresh_db,
         "CREATE TABLE pages (id INT PRIMARY KEY, site_id INT, url VARCHAR(100))",
         "INSERT INTO pages VALUES (1, 1, 'https://a'), (2, 1, 'https://b'), (3, 2, 'https://a'), (4, 2, 'ftp:/x')")
    whole = Check(CheckKind.DUPLICATES, "pages", columns=("site_id", "url"))
    prefix = Check(CheckKind.DUPLICATES, "pages", columns=("site_id", "url"), lengths=(("url", 5),))
    assert run_check(server, whole, FAST, time.monotonic() + 30, None).status is CheckStatus.PASSED
    r = run_check(server, prefix, FAST, time.monotonic() + 30, None)
    assert r.status is CheckStatus.FAILED and r.count == 1 and r.samples == ((2, 1, 2),)
    assert r.finding().startswith("duplicates pages (site_id, url(5)): 1 duplicated value(s)")
    assert r.to_json()["lengths"] == {"url": 5}


def test_check_constraint_violations_and_advisory_checks_do_not_block(fresh_db, server):
    _sql(fresh_db,
         "CREATE TABLE products (id INT PRIMARY KEY, price INT)",
         "INSERT INTO products VALUES (1, 10), (2, -1), (3, NULL), (4, -5), (5, 0)")
    check = Check(CheckKind.CHECK_CONSTRAINT, "products", expression="price >= 0")
    r = run_check(server, check, FAST, time.monotonic() + 30, None)
    assert r.status is CheckStatus.FAILED and r.count == 2 and r.samples == (2, 4)  # NULL passes a CHECK
    assert "ERROR 3819" in r.finding() and r.blocking
    advisory = dataclasses.replace(check, advisory="data code at line 3 runs first and may fix these rows")
    report = run_preflight(Servers(server), [Migration("20240101000009", checks=(advisory,))], FAST)
    assert report.checks[0].status is CheckStatus.FAILED and report.ok, report.render_text()
    text = report.render_text()
    assert "Preflight passed" in text and "(advisory: data code at line 3 runs first" in text


def test_table_rebuilds_are_reported_with_the_table_size(fresh_db, server):
    from shipit.planning.rails import parse_migration

    _orders(fresh_db, rows=3000)
    parsed = parse_migration("class W < ActiveRecord::Migration[7.1]\n  def up\n"
                             "    change_column :orders, :note, :text\n  end\nend\n", "db/migrate/20240101000005_w.rb")
    report = run_preflight(Servers(server), [Migration("20240101000005", operations=parsed.operations)], FAST)
    (risk,) = [r for r in report.risks if r.kind is RiskKind.REBUILD]
    assert not risk.blocking and "migration 20240101000005 line 3: a column type change rebuilds orders (" in risk.message
    assert "rows" in risk.message and report.ok


def test_other_databases_migrations_are_named_not_checked(fresh_db, server):
    queue = Migration("20240101000007", checks=(Check(CheckKind.NULLS, "jobs", column="queue"),), database="queue")
    report = run_preflight(Servers(server), [queue], FAST)
    assert report.pending == () and report.checks == () and report.ok
    assert "1 migration(s) for database queue were not checked: this preflight reads only database primary" in report.render_text()
