"""Migration state on the real MariaDB: versions, migrators (Rails lock, gh-ost/pt-osc/LHM artefacts), partial state."""

from __future__ import annotations

import hashlib

import pytest

from shipit.db.connection import DatabaseURL, Server
from shipit.db.migration_state import (
    MigratorKind,
    ObjectState,
    applied_versions,
    partial_state,
    pending_versions,
    rails_lock_name,
    running_migrators,
)
from shipit.planning.classify import ExpectedObject, ObjectKind
from tests.support.railsapp import make_rails_app


@pytest.fixture
def server(fresh_db):
    s = Server("primary", DatabaseURL.parse(fresh_db.url))
    yield s
    s.close()


def _fk_name(table: str, column: str) -> str:
    return "fk_rails_" + hashlib.sha256(f"{table}_{column}_fk".encode()).hexdigest()[:10]


def test_versions(fresh_db, server):
    assert applied_versions(server) == frozenset()  # no schema_migrations yet
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE schema_migrations (version VARCHAR(255) PRIMARY KEY)")
        cur.execute("INSERT INTO schema_migrations VALUES ('20240101000001'), ('20240101000002')")
    conn.close()
    applied = applied_versions(server)
    assert applied == {"20240101000001", "20240101000002"}
    assert pending_versions(applied, ["20240101000002", "20240101000003", "20240101000004"]) == (
        "20240101000003", "20240101000004",
    )


def test_finds_the_rails_migrator_and_tool_artefacts(fresh_db, server):
    assert running_migrators(server) == ()
    migrator = fresh_db.connect()
    conn = fresh_db.connect()
    try:
        with migrator.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0), CONNECTION_ID()", (rails_lock_name(fresh_db.name),))
            _, migrator_id = cur.fetchone()
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(100))")
            cur.execute("CREATE TABLE _users_gho LIKE users")
            cur.execute("CREATE TABLE _orders_new (id BIGINT PRIMARY KEY)")
            cur.execute("CREATE TABLE lhma_2024_01_01_events (id BIGINT PRIMARY KEY)")
            cur.execute("CREATE TRIGGER pt_osc_shop_users_ins AFTER INSERT ON users FOR EACH ROW SET @x = 1")
        found = running_migrators(server)
    finally:
        migrator.close()
        conn.close()
    by_kind = {(a.kind, a.detail.split(":")[0]) for a in found}
    rails = [a for a in found if a.kind is MigratorKind.RAILS]
    assert len(rails) == 1 and rails[0].connection_id == migrator_id and rails[0].live
    assert (MigratorKind.GH_OST, "table _users_gho") in by_kind
    assert (MigratorKind.PT_OSC, "table _orders_new") in by_kind
    assert (MigratorKind.LHM, "table lhma_2024_01_01_events") in by_kind
    trigger = next(a for a in found if a.detail.startswith("trigger"))
    assert trigger.kind is MigratorKind.PT_OSC and trigger.table == "users"
    assert all(not a.live for a in found if a.detail.startswith("table"))


def test_partial_state_after_a_real_rails_migration_fails_on_orphans(tmp_path, fresh_db, server):
    """add_index then add_foreign_key over orphaned rows: MariaDB keeps the index, Rails records nothing."""
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100))")
        cur.execute("CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT)")
        cur.execute("INSERT INTO users (email) VALUES ('a@x.io'), ('b@x.io')")
        cur.execute("INSERT INTO orders (user_id) VALUES (1), (2), (999)")  # 999: orphan
    conn.close()
    app = make_rails_app(tmp_path / "app")
    app.add_migration("20240301000001", "add_email_index_and_user_fk", """\
def change
  add_index :users, :email
  add_foreign_key :orders, :users
end""")
    result = app.migrate(fresh_db.url)
    assert result.returncode != 0, result.stdout
    assert "1452" in result.stdout or "foreign key constraint fails" in result.stdout

    expected = (
        ExpectedObject(ObjectKind.INDEX, "users", "index_users_on_email", ("email",), False, "20240301000001", 3),
        ExpectedObject(ObjectKind.FOREIGN_KEY, "orders", _fk_name("orders", "user_id"), ("user_id",), False,
                       "20240301000001", 4),
    )
    state = partial_state(server, "20240301000001", expected)
    assert not state.recorded and state.is_partial
    assert [(o.name, o.state) for o in state.objects] == [
        ("index_users_on_email", ObjectState.APPLIED),
        (_fk_name("orders", "user_id"), ObjectState.NOT_APPLIED),
    ]
    assert state.rerun_stops_at.name == "index_users_on_email"
    text = state.render()
    assert "failed part-way: it is NOT recorded in schema_migrations" in text
    assert "applied      index index_users_on_email on users (email)  (line 3)" in text
    assert f"not applied  foreign key {_fk_name('orders', 'user_id')} on orders (user_id)  (line 4)" in text
    assert "A rerun will fail at line 3" in text and "Duplicate key name 'index_users_on_email' (error 1061)" in text

    # and the prediction is what Rails really does on a rerun
    rerun = app.migrate(fresh_db.url)
    assert rerun.returncode != 0
    assert "Duplicate key name 'index_users_on_email'" in rerun.stdout
    assert state.to_json()["rerun_error"].startswith("Duplicate key name")


def test_partial_state_flags_a_name_with_other_columns(fresh_db, server):
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(100), name VARCHAR(100))")
        cur.execute("CREATE INDEX index_users_on_email ON users (name)")
    conn.close()
    expected = (
        ExpectedObject(ObjectKind.COLUMN, "users", "email", ("email",), statement_line=2),
        ExpectedObject(ObjectKind.INDEX, "users", "index_users_on_email", ("email",), statement_line=3),
        ExpectedObject(ObjectKind.TABLE, "accounts", "accounts", statement_line=4),
    )
    state = partial_state(server, "20240301000002", expected)
    assert [o.state for o in state.objects] == [ObjectState.APPLIED, ObjectState.DIFFERENT, ObjectState.NOT_APPLIED]
    assert "conflicts    index index_users_on_email on users (email) but with columns (name)" in state.render()
    assert state.rerun_stops_at.rerun_error == "Duplicate column name 'email' (error 1060)"


def test_live_gh_ost_is_told_apart_from_a_leftover_by_its_heartbeat(fresh_db, server):
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        for name, age in (("_users_ghc", 0), ("_orders_ghc", 3600)):
            cur.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, last_update TIMESTAMP, hint VARCHAR(64), "
                        "value VARCHAR(4096))")
            cur.execute(f"INSERT INTO {name} VALUES (1, NOW() - INTERVAL {age} SECOND, 'heartbeat', 'x')")
    conn.close()
    live = {a.table: a.live for a in running_migrators(server)}
    assert live == {"users": True, "orders": False}
