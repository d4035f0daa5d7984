"""The partial-apply diagnosis on a real MariaDB after real `rails db:migrate` failures: it never claims a migration
"made all its changes" when a change_column or a unique index was not applied, or when it cannot check a statement."""

from __future__ import annotations

import threading
import time

import pytest

from shipit.db.connection import DatabaseURL, Server
from shipit.db.migration_state import ObjectState, partial_state, read_schema
from shipit.db.operation_state import ChangeState
from shipit.planning.classify import expected_objects
from shipit.planning.rails import parse_migration
from tests.support.railsapp import make_rails_app

HELPER = """\
class AddEmailUnique < ActiveRecord::Migration[6.1]
  def up
    add_column :accounts, :code, :string
    change_column :users, :name, :text
    unique_index_after_dedupe :users, :email
  end

  private

  def unique_index_after_dedupe(table, column)
    add_index table, column, name: "index_users_on_email"
    execute "ALTER TABLE users DROP INDEX index_users_on_email, ADD UNIQUE INDEX index_users_on_email (email)"
  end
end
"""

KILLED = """\
class ChangeName < ActiveRecord::Migration[6.1]
  def change
    add_column :accounts, :code, :string
    change_column :users, :name, :text
    add_index :users, :email, unique: true
  end
end
"""


@pytest.fixture
def server(fresh_db):
    s = Server("primary", DatabaseURL.parse(fresh_db.url))
    yield s
    s.close()


def _setup(fresh_db, *, duplicates: bool) -> None:
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE accounts (id BIGINT AUTO_INCREMENT PRIMARY KEY)")
        cur.execute("CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100), name VARCHAR(255))")
        cur.execute("INSERT INTO users (email, name) VALUES ('a@x.io', 'a'), (%s, 'b')", ("a@x.io" if duplicates else "b@x.io",))
    conn.close()


def _parsed(app, version, name, text):
    path = app.add_migration(version, name, text)
    return parse_migration(path.read_bytes(), f"db/migrate/{path.name}")


def test_helper_failing_on_duplicates_is_unsure_not_complete(tmp_path, fresh_db, server):
    _setup(fresh_db, duplicates=True)
    app = make_rails_app(tmp_path / "app")
    pm = _parsed(app, "20240401000001", "add_email_unique", HELPER)
    before = read_schema(server, {"users", "accounts"})
    result = app.migrate(fresh_db.url)
    assert result.returncode != 0 and "Duplicate entry" in result.stdout, result.stdout

    state = partial_state(server, pm.version, expected_objects(pm), operations=pm.operations, before=before)
    text = state.render()
    assert not state.recorded
    assert "made all its changes" not in text and "created all its objects" not in text
    assert "cannot tell whether it completed" in text and "Check them by hand" in text
    assert [c.state for c in state.changes] == [ChangeState.APPLIED, ChangeState.UNSURE]
    assert "type changed from varchar(255) to text" in text
    assert "unsure       unique_index_after_dedupe :users, :email" in text
    # the live schema: the helper's index is there, but not unique
    assert read_schema(server, {"users"}).indexes[("users", "index_users_on_email")] == (("email",), False)


def test_connection_killed_mid_alter_reports_the_change_not_applied(tmp_path, fresh_db, server):
    _setup(fresh_db, duplicates=False)
    app = make_rails_app(tmp_path / "app")
    pm = _parsed(app, "20240401000002", "change_name", KILLED)
    before = read_schema(server, {"users", "accounts"})

    blocker = fresh_db.connect()  # holds the table's metadata lock so the ALTER waits where it can be killed
    killer = fresh_db.connect()
    with blocker.cursor() as cur:
        cur.execute("START TRANSACTION")
        cur.execute("SELECT * FROM users")
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("r", app.migrate(fresh_db.url)))
    worker.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline:
        with killer.cursor() as cur:
            cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND INFO LIKE 'ALTER TABLE `users`%%'",
                        (fresh_db.name,))
            row = cur.fetchone()
        if row:
            killed = row[0]
            with killer.cursor() as cur:
                cur.execute(f"KILL CONNECTION {int(killed)}")
        else:
            time.sleep(0.05)
    worker.join(timeout=120)
    blocker.rollback()
    blocker.close()
    killer.close()
    assert killed is not None, "the ALTER never started"
    result = outcome["r"]
    assert result.returncode != 0, result.stdout

    state = partial_state(server, pm.version, expected_objects(pm), operations=pm.operations, before=before)
    text = state.render()
    assert "failed part-way" in text and "made all its changes" not in text
    assert [(o.name, o.state) for o in state.objects] == [("code", ObjectState.APPLIED),
                                                          ("index_users_on_email", ObjectState.NOT_APPLIED)]
    assert [c.state for c in state.changes] == [ChangeState.NOT_APPLIED]
    assert "type is still varchar(255), not :text" in text
    assert "A rerun will fail at line 3" in text and "Duplicate column name 'code'" in text


def test_existing_non_unique_index_with_the_unique_name_conflicts(fresh_db, server):
    _setup(fresh_db, duplicates=False)
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE INDEX index_users_on_email ON users (email)")
    conn.close()
    pm = parse_migration(b"class A < ActiveRecord::Migration[6.1]\n  def change\n    add_index :users, :email, "
                         b"unique: true\n  end\nend\n", "db/migrate/20240401000003_a.rb")
    state = partial_state(server, pm.version, expected_objects(pm), operations=pm.operations)
    assert [o.state for o in state.objects] == [ObjectState.DIFFERENT]
    assert "conflicts    index index_users_on_email on users (email) but not unique" in state.render()
