"""Health signals on a real server: a pile-up of identical slow queries (the decisions: tests/unit/db)."""

from __future__ import annotations

from shipit.db.connection import Servers
from shipit.db.health import (
    HealthLevel,
    HealthSnapshot,
    HealthThresholds,
    baseline_from,
    compare,
    read_server_health,
    read_threads,
    take_snapshot,
)
from tests.integration.db.helpers import Background, server, wait_for


def test_real_pileup_of_identical_slow_queries(fresh_db):
    conn = fresh_db.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE orders (id INT PRIMARY KEY, user_id INT)")
        cur.execute("INSERT INTO orders SELECT seq, seq % 10 FROM seq_1_to_100")
    srv = server(fresh_db.url)
    th = HealthThresholds()
    base = baseline_from([take_snapshot(Servers(srv), th)])
    slow = [Background(fresh_db.connect, f"SELECT SLEEP(3), user_id FROM orders WHERE id = {i + 1}") for i in range(6)]
    try:
        ids = {b.conn_id for b in slow}
        wait_for(lambda: ids <= {t.id for t in read_threads(srv) if t.info.startswith("SELECT SLEEP")})
        health = read_server_health(srv, th)
        assert health.threads_running >= 6
        assert len(health.pileups) == 1
        pile = health.pileups[0]
        assert pile.fingerprint == "select sleep(?), user_id from orders where id = ?"
        assert set(pile.thread_ids) == ids
        verdict = compare(base, HealthSnapshot(0, (health,)), th)
        assert verdict.level is HealthLevel.CRITICAL
        assert any("6 threads on one new query shape" in r for r in verdict.reasons)
    finally:
        for b in slow:
            b.join()
            b.close()
        srv.close()
        conn.close()
