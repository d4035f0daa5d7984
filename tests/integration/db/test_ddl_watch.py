"""Finding DDL, its progress and ETA with real ALTERs on real servers (the pure parts: tests/unit/db)."""

from __future__ import annotations

from shipit.db.connection import Servers
from shipit.db.ddl_watch import (
    DdlKind,
    DdlWatcher,
    ProgressSource,
)
from tests.integration.db.helpers import Background, fill, server, wait_for


def test_copy_alter_progress_from_processlist_on_real_mariadb(fresh_db):
    """The machine's MariaDB has performance_schema off: a COPY ALTER reports through processlist PROGRESS."""
    conn = fresh_db.connect()
    fill(conn, "orders", 300_000)
    srv = server(fresh_db.url)
    watcher = DdlWatcher(Servers(srv))
    alter = Background(fresh_db.connect, "ALTER TABLE orders FORCE, ALGORITHM=COPY")
    readings = []
    try:
        def mine():
            found = [p for p in watcher.poll() if p.ddl.conn_id == alter.conn_id]
            readings.extend(found)
            return alter.finished_at is not None or any(p.pct for p in found)
        wait_for(mine, timeout=60, interval=0.1)
        alter.join()
        assert alter.error is None
        measured = [p for p in readings if p.pct]
        assert measured, f"no progress reading among {readings}"
        assert measured[0].source is ProgressSource.PROCESSLIST and measured[0].phase == "copying rows"
        assert 0 < measured[0].pct <= 100 and measured[0].ddl.table == "orders"
    finally:
        alter.close()
        srv.close()
        conn.close()


def test_watcher_reports_progress_and_waits_for_an_index_build_on_a_million_rows(pair_db):
    """A real online index build on 1,048,576 rows in another connection; P_S stage events give the progress.

    The table lives on the pair's primary only (sql_log_bin=0), so the replica does not replay a million rows.
    """
    conn = pair_db.connect()
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute("CREATE TABLE big (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, "
                    "email CHAR(32) NOT NULL)")
        cur.execute("INSERT INTO big (user_id, email) VALUES (1, MD5(1))")
        for _ in range(20):  # doubling: 2^20 rows in 20 statements
            cur.execute("INSERT INTO big (user_id, email) SELECT id % 5000, MD5(id + RAND()) FROM big")
        cur.execute("SELECT COUNT(*) FROM big")
        assert cur.fetchone()[0] == 1_048_576
    srv = server(pair_db.primary_url)
    watcher = DdlWatcher(Servers(srv))
    alter = Background(pair_db.connect, "ALTER TABLE big ADD INDEX index_big_on_email (email), ALGORITHM=INPLACE, "
                       "LOCK=NONE", setup=("SET SESSION sql_log_bin = 0",))
    readings = []
    try:
        wait_for(lambda: alter.finished_at is not None or any(
            p.ddl.conn_id == alter.conn_id for p in watcher.poll()), timeout=30, interval=0.05)
        assert alter.finished_at is None, "the build finished before the watcher saw it"
        watcher.wait_idle(tables=["big"], timeout=300, interval=0.1, on_progress=readings.extend)
        # wait_idle returns only once the ALTER has committed: the index is there
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
                        "AND TABLE_NAME = 'big' AND INDEX_NAME = 'index_big_on_email'")
            assert cur.fetchone()[0] == 1
        alter.join(60)
        assert alter.error is None
        ours = [p for p in readings if p.ddl.conn_id == alter.conn_id]
        measured = [p for p in ours if p.pct is not None]
        assert measured, f"no progress among {len(ours)} readings: {ours[:3]}"
        assert {p.source for p in measured} == {ProgressSource.PERFORMANCE_SCHEMA}
        assert all(0 <= p.pct <= 100 for p in measured) and len({p.pct for p in measured}) >= 2
        assert {p.phase for p in measured} & {"scanning rows", "sorting", "writing index", "applying concurrent "
                                              "changes", "flushing", "committing"}
        assert all(p.ddl.table == "big" and p.ddl.kind is DdlKind.ALTER_TABLE for p in ours)
        etas = [p.eta_s for p in measured if p.eta_s is not None]
        assert etas and all(e >= 0 for e in etas), "no ETA once progress moved"
        assert f"primary: alter_table on {pair_db.name}.big: " in measured[-1].describe()
    finally:
        alter.close()
        srv.close()
        conn.close()
