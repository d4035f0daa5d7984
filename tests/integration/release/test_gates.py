"""HTTP gates against a real local HTTP app: probes, warm-up, the bake, failing fast, cancellation."""

from __future__ import annotations

import threading
import time

from shipit.core.config import HttpGateConfig
from shipit.release.gates import DbHealthGate, HttpGate, Mode, run_gates


def gate(app, **kw) -> HttpGate:
    return HttpGate(HttpGateConfig(url=app.url + "/up", **({"consecutive": 2, "interval": 0.02, "timeout": 1.0} | kw)))


def test_http_probe_reports_status_and_wrong_status(httpapp):
    g = gate(httpapp)
    assert g.probe().ok
    httpapp.set_status(503)
    probe = g.probe()
    assert not probe.ok and "HTTP 503" in probe.summary and "expected 200" in probe.summary
    assert gate(httpapp, expect_status=503).probe().ok


def test_http_probe_connection_refused(httpapp):
    httpapp.stop()
    probe = gate(httpapp).probe()
    assert not probe.ok and "request failed" in probe.summary


def test_until_passes_after_a_warmup(httpapp):
    httpapp.script(502, 502)
    report = run_gates([gate(httpapp, consecutive=3)], mode=Mode.UNTIL, duration=5)
    assert report.ok and httpapp.hits == 5


def test_until_fails_when_the_app_stays_down(httpapp):
    httpapp.set_status(500)
    report = run_gates([gate(httpapp)], mode=Mode.UNTIL, duration=5)
    assert not report.ok and report.failed.endswith("/up") and "HTTP 500" in report.reason
    assert any("FAIL HTTP 500" in line for line in report.evidence())


def test_keep_passes_for_the_whole_bake(httpapp):
    started = time.monotonic()
    report = run_gates([gate(httpapp)], mode=Mode.KEEP, duration=0.3)
    assert report.ok and time.monotonic() - started >= 0.3 and httpapp.hits >= 5


def test_keep_fails_fast_when_the_app_breaks_mid_bake(httpapp):
    threading.Timer(0.1, httpapp.set_status, (500,)).start()
    started = time.monotonic()
    report = run_gates([gate(httpapp)], mode=Mode.KEEP, duration=30)
    assert not report.ok and time.monotonic() - started < 2
    assert time.time() - report.decided_at < 1


def test_db_health_gate_failure_stops_the_bake(httpapp):
    samples = iter([(True, "ok"), (False, "pile-up: 40 threads on SELECT ... FROM orders"), (False, "pile-up")])
    db = DbHealthGate(lambda: next(samples, (False, "pile-up")), interval=0.02, consecutive=2)
    report = run_gates([gate(httpapp), db], mode=Mode.KEEP, duration=30)
    assert not report.ok and report.failed == "database health" and "pile-up" in report.reason


def test_cancel_stops_the_runner(httpapp):
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    report = run_gates([gate(httpapp)], mode=Mode.KEEP, duration=30, cancel=cancel)
    assert not report.ok and report.failed == "interrupted"
