"""`shipit plan --config` as a real subprocess: pending is what the real MariaDB has not applied, and a database it
cannot read (closed port, wrong password, a server that never answers) falls back to git with a note, no traceback
and no password."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from shipit.cli.plan_source import read_pending_source
from tests.integration.db.test_commands import PASSWORD_ENV, account, shipit, write_config
from tests.support.mariadb import admin_connect
from tests.unit.planning.conftest import AppRepo, migration

USERS, ORDERS, ADDRESSES = "20230101000000", "20230101000001", "20240101000002"


@pytest.fixture
def repo(tmp_path):
    """Two migrations at --from, a third added at --to: (repo, from sha, to sha)."""
    import git

    path = tmp_path / "app"
    path.mkdir()
    app = AppRepo(path, git.Repo.init(path, initial_branch="main"))
    base = app.commit({
        f"db/migrate/{USERS}_create_users.rb": migration("CreateUsers", "create_table :users do |t|\n  t.string :email\nend"),
        f"db/migrate/{ORDERS}_create_orders.rb": migration("CreateOrders", "create_table :orders do |t|\n  t.bigint :n\nend"),
    }, "initial")
    head = app.commit({f"db/migrate/{ADDRESSES}_create_addresses.rb": migration(
        "CreateAddresses", "create_table :addresses do |t|\n  t.string :city\nend")}, "addresses")
    return app, base, head


@pytest.fixture
def reader(fresh_db):
    """A password account that may read the test database, whose schema_migrations lists only the first migration
    (the second is in the --from commit but was never applied)."""
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE schema_migrations (version VARCHAR(255) PRIMARY KEY)")
        cur.execute(f"INSERT INTO schema_migrations VALUES ('{USERS}')")
    conn.close()
    with account(admin_connect, fresh_db.name, ()) as acct:
        yield acct


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pending_is_what_the_database_has_not_applied(tmp_path, fresh_db, repo, reader):
    app, base, head = repo
    name, password = reader
    url = f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:3306/{fresh_db.name}"
    cfg = write_config(tmp_path / "shipit.yaml", repo=app.path, url=url)

    r = shipit("plan", "--config", str(cfg), "--from", base, "--to", head, "-o", "json", password=password)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    # the orders migration is at --from but not in schema_migrations: git alone would not plan it
    assert [m["version"] for m in out["migrations"]] == [ORDERS, ADDRESSES]
    assert (out["pending"]["source"], out["pending"]["applied"]) == ("database", 1)

    text = shipit("plan", "--config", str(cfg), "--from", base, "--to", head, password=password)
    assert text.returncode == 0, text.stderr
    shown = f"mysql://{name}:***@127.0.0.1:3306/{fresh_db.name}"
    assert all(len(line) <= 100 for line in text.stdout.splitlines())
    assert (f"pending: versions at --to the database has not applied (1 in schema_migrations at {shown})"
            in " ".join(text.stdout.split()))
    assert password not in r.stdout + r.stderr + text.stdout + text.stderr


@pytest.mark.parametrize("where", ["closed port", "wrong password"])
def test_an_unreadable_database_falls_back_to_git_with_a_note(tmp_path, fresh_db, repo, reader, where):
    app, base, head = repo
    name, password = reader
    port = closed_port() if where == "closed port" else 3306
    given = password if where == "closed port" else "not-" + password
    url = f"mysql://{name}:${{{PASSWORD_ENV}}}@127.0.0.1:{port}/{fresh_db.name}"
    cfg = write_config(tmp_path / "shipit.yaml", repo=app.path, url=url)

    t0 = time.monotonic()
    r = shipit("plan", "--config", str(cfg), "--from", base, "--to", head, "-o", "json", password=given)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [m["version"] for m in out["migrations"]] == [ADDRESSES]  # absent at --from
    assert out["pending"]["source"] == "git"
    assert ("Connection refused" if where == "closed port" else "Access denied") in out["pending"]["error"]

    text = shipit("plan", "--config", str(cfg), "--from", base, "--to", head, password=given)
    assert text.returncode == 0, text.stderr
    assert "  pending: versions present at --to and absent at --from (the database was not read)" in (
        text.stdout.splitlines())
    shown = f"mysql://{name}:***@127.0.0.1:{port}/{fresh_db.name}"
    assert (f"note: could not read schema_migrations at {shown}, so git decided what is pending: "
            in " ".join(text.stdout.split())), text.stdout
    everything = r.stdout + r.stderr + text.stdout + text.stderr
    assert given not in everything and "Traceback" not in everything
    assert time.monotonic() - t0 < 30


def test_a_server_that_never_answers_is_abandoned_at_the_deadline():
    """A listener that accepts and never sends the handshake: pymysql's connect timeout does not cover that."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    held: list[socket.socket] = []
    accepting = threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True)
    accepting.start()
    try:
        t0 = time.monotonic()
        source = read_pending_source(f"mysql://u:pw@127.0.0.1:{listener.getsockname()[1]}/shop", deadline=1.0)
        assert 1.0 <= time.monotonic() - t0 < 3.0
        assert (source.source, source.error) == ("git", "no answer within 1s")
        assert source.lines()[1].startswith("note: could not read schema_migrations at mysql://u:***@127.0.0.1:")
    finally:
        for s in held:
            s.close()
        listener.close()
