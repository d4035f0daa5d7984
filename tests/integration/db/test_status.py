"""`shipit db status`'s reading, in process, during a real table copy: progress and an ETA from two samples."""

from __future__ import annotations

import time

from shipit.db.connection import Servers
from shipit.db.ddl_watch import DdlWatcher
from shipit.db.health import HealthThresholds
from shipit.db.status import read_db_status
from tests.integration.db.helpers import Background, fill, server, wait_for


def test_status_during_a_table_copy_has_progress_and_eta(fresh_db):
    conn = fresh_db.connect()
    fill(conn, "orders", 400_000)
    srv = server(fresh_db.url)
    servers = Servers(srv)
    alter = Background(fresh_db.connect, "ALTER TABLE orders FORCE, ALGORITHM=COPY")
    try:
        watcher = DdlWatcher(servers)
        wait_for(lambda: alter.finished_at is not None or any(
            p.pct for p in watcher.poll() if p.ddl.conn_id == alter.conn_id), timeout=60, interval=0.05)
        slept = []

        def sleep(s: float) -> None:
            slept.append(s)
            time.sleep(s)
        status = read_db_status(servers, HealthThresholds(), sample_interval=0.5, sleep=sleep)
        assert slept == [0.5]  # progress was seen, so it sampled twice for the ETA
        out = status.to_json()
        (mine,) = [d for d in out["ddl"] if d["connection"] == alter.conn_id]
        # a copying ALTER has two stages on MariaDB; on a busy machine the reading can land in the second
        phase = mine["phase"]
        assert mine["table"] == "orders" and mine["schema"] == fresh_db.name
        assert phase in ("copying rows", "building indexes"), phase
        assert 0 < mine["progress"] <= 100 and mine["progress_source"] == "processlist"
        assert mine["eta_s"] is not None and mine["eta_s"] >= 0
        assert out["replicas"] == [] and out["errors"] == [] and out["health"]["threads_running"] >= 1
        assert f"primary: alter_table on {fresh_db.name}.orders: {phase}" in status.render_text()
        alter.join(120)
        assert alter.error is None
        idle = read_db_status(servers, HealthThresholds(), sample_interval=0.5, sleep=sleep)
        assert not [d for d in idle.ddl if d.ddl.conn_id == alter.conn_id]
    finally:
        alter.close()
        servers.close()
        conn.close()
