"""The metadata-lock watchdog inside a release: an idle transaction holds `users`, the migration's index build
queues for its metadata lock and every later query on the table queues behind it (the outage's "many threads stuck").
shipit kills its own DDL query after migration.lock_wait_max, the queued queries run, the blocking session is left
alone, no code rolls out, and the diagnosis names the session. Once that session ends, the same release succeeds.
"""

from __future__ import annotations

import threading
import time

import pymysql
import pytest

from shipit.db.health import MDL_WAIT_STATE
from tests.support.mariadb import hold_in_transaction
from tests.support.sandbox import Sandbox, connect

LOCK_WAIT_MAX = 3.0
GRACE = 6.0  # poll interval, Rails reporting the error: "within threshold + a few seconds" on a loaded machine
ADD_INDEX = "def change\n  add_index :users, :email\nend"


def _waiting_ddl(sb: Sandbox) -> dict | None:
    """The migration's DDL on users while it queues for the metadata lock."""
    rows = sb.sql("SELECT ID AS id, INFO AS info FROM information_schema.PROCESSLIST WHERE STATE = %s "
                  "AND (INFO LIKE 'CREATE INDEX%%' OR INFO LIKE 'ALTER TABLE%%')", (MDL_WAIT_STATE,))
    return rows[0] if rows else None


class _Select(threading.Thread):
    """A query of the app on users, on its own connection: it queues behind the DDL until that one goes."""

    def __init__(self, sb: Sandbox):
        super().__init__(daemon=True)
        self.conn = connect(sb.db_admin_url)
        self.error: BaseException | None = None
        self.rows = None

    def run(self) -> None:
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM users WHERE email LIKE 'user%'")
                self.rows = cur.fetchall()
        except BaseException as e:  # the test inspects it
            self.error = e
        finally:
            self.conn.close()


def test_ddl_stuck_behind_an_idle_transaction_is_killed_and_the_app_recovers(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.sql("INSERT INTO users (email, created_at, updated_at) SELECT CONCAT('user', seq, '@x'), NOW(), NOW() "
           "FROM seq_1_to_2000")
    sb.add_migration("20240102000001", "add_index_on_users_email", ADD_INDEX)
    target = sb.change_code()
    sb.write_config(migration={"lock_wait_max": f"{LOCK_WAIT_MAX:g}s"})
    jobs_before = sb.job_names()

    # a session of someone else reads users in a transaction and goes idle (a console left open): it holds a shared
    # metadata lock on users until it ends; it is opened just before the release so preflight's idle check passes
    blocker = connect(sb.db_admin_url)
    selects: list[_Select] = []
    try:
        blocker_id = hold_in_transaction(blocker, "SELECT email FROM users WHERE id = 1")
        proc = sb.spawn("release")
        deadline = time.monotonic() + 120
        while (ddl := _waiting_ddl(sb)) is None:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the migration's DDL never queued for its metadata lock"
            time.sleep(0.1)
        queued_at = time.monotonic()
        selects = [_Select(sb) for _ in range(3)]
        for s in selects:
            s.start()
        while any(r["id"] == ddl["id"] for r in sb.sql("SELECT ID AS id FROM information_schema.PROCESSLIST "
                                                       "WHERE INFO LIKE 'CREATE INDEX%%' OR INFO LIKE 'ALTER TABLE%%'")):
            assert time.monotonic() - queued_at < LOCK_WAIT_MAX + GRACE, "shipit did not kill its DDL in time"
            time.sleep(0.1)
        gone_after = time.monotonic() - queued_at
        for s in selects:  # the app's queries ran as soon as the DDL was gone
            s.join(GRACE)
            assert not s.is_alive() and s.error is None and s.rows == ((2000,),), s.error
        stdout, stderr = proc.communicate(timeout=120)

        assert proc.returncode == 1, stdout + stderr  # nothing was applied
        assert LOCK_WAIT_MAX - 1 <= gone_after, gone_after  # not before the DDL had waited lock_wait_max
        with blocker.cursor() as cur:  # the blocking session was not touched: same session, transaction still open
            cur.execute("SELECT CONNECTION_ID(), @@in_transaction")
            assert cur.fetchone() == (blocker_id, 1)
        assert "index_users_on_email" not in sb.indexes("users")
        assert "20240102000001" not in sb.schema_versions()
        assert set(sb.deployment_images().values()) == {sb.image(base)}
        assert len(sb.job_names()) == len(jobs_before) + 1
        for fragment in ("What failed:", "stuck behind a metadata lock", f"held by session {blocker_id} (root@",
                         "in a transaction for", "queries were queued behind it",
                         f"KILL QUERY {ddl['id']}; the blocking session was left alone",
                         f"end the transaction of session {blocker_id}"):
            assert fragment in stdout, f"{fragment!r} not in the summary\n{stdout}\n{stderr}"
        assert "metadata-lock watchdog: killing our DDL query" in stderr, stderr
        latest = sb.status()["release"]
        assert (latest["status"], latest["exit_code"], latest["to"]) == ("failed", 1, target), latest
        assert latest["diagnosis"]["next"].startswith(f"end the transaction of session {blocker_id}")
    finally:
        for s in selects:
            s.join(30)
        try:
            blocker.close()
        except pymysql.err.Error:
            pass

    # what the diagnosis said to do: the session ended, the same release goes through
    r = sb.shipit("release")
    assert r.code == 0, r.text
    assert "index_users_on_email" in sb.indexes("users")
    assert set(sb.deployment_images().values()) == {sb.image(target)}


def test_configured_idle_blocker_is_ended_and_the_migration_goes_on(sandbox):
    """migration.kill_idle_blockers names the blocker's database user: shipit ends that idle session (performance_
    schema proves it holds the lock) instead of its own DDL, and the release completes."""
    sb = sandbox
    sb.bootstrap()
    sb.add_migration("20240102000001", "add_index_on_users_email", ADD_INDEX)
    target = sb.change_code()
    sb.write_config(migration={"lock_wait_max": f"{LOCK_WAIT_MAX:g}s", "kill_idle_blockers": ["root"]})
    blocker = connect(sb.db_admin_url)  # root; the migrator is the release's own user
    selects: list[_Select] = []
    try:
        hold_in_transaction(blocker, "SELECT email FROM users WHERE id = 1")
        proc = sb.spawn("release")
        deadline = time.monotonic() + 120
        while _waiting_ddl(sb) is None:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the migration's DDL never queued for its metadata lock"
            time.sleep(0.1)
        selects = [_Select(sb) for _ in range(2)]
        for s in selects:
            s.start()
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stdout + stderr
        for s in selects:
            s.join(30)
            assert not s.is_alive() and s.error is None and s.rows == ((0,),), s.error
        assert "metadata-lock watchdog: killing idle-in-transaction blocker" in stderr, stderr
        with pytest.raises(pymysql.err.OperationalError):  # the blocker's session was ended
            with blocker.cursor() as cur:
                cur.execute("SELECT 1")
        assert "index_users_on_email" in sb.indexes("users") and "20240102000001" in sb.schema_versions()
        assert set(sb.deployment_images().values()) == {sb.image(target)}
    finally:
        for s in selects:
            s.join(30)
        blocker.close()
