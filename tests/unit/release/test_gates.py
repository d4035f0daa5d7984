"""Gates: the pure decision, and the runner over real HTTP against a local controllable app."""

from __future__ import annotations

import threading
import time

from shipit.core.config import HttpGateConfig
from shipit.release.gates import DbHealthGate, GateState, HttpGate, Mode, Probe, decide, run_gates


def p(ok: bool) -> Probe:
    return Probe(ok, "HTTP 200" if ok else "HTTP 500", 0.0)


def test_decide_until_needs_consecutive_successes():
    assert decide([], consecutive=3, mode=Mode.UNTIL).state is GateState.WAITING
    assert decide([p(True), p(False), p(True), p(True)], consecutive=3, mode=Mode.UNTIL).state is GateState.WAITING
    assert decide([p(False), p(True), p(True), p(True)], consecutive=3, mode=Mode.UNTIL).state is GateState.PASSED


def test_decide_fails_after_consecutive_failures_in_both_modes():
    for mode in Mode:
        assert decide([p(False), p(False)], consecutive=3, mode=mode).state is not GateState.FAILED
        d = decide([p(True), p(False), p(False), p(False)], consecutive=3, mode=mode)
        assert d.state is GateState.FAILED and "HTTP 500" in d.reason
    assert decide([p(False), p(True)], consecutive=2, mode=Mode.KEEP).state is GateState.PASSING


def test_hold_neither_passes_nor_fails():
    hold = Probe(None, "Threads_running 30 > 25", 0.0)
    assert decide([hold] * 5, consecutive=3, mode=Mode.UNTIL).state is GateState.WAITING
    assert decide([p(True), p(True), hold], consecutive=3, mode=Mode.UNTIL).state is GateState.WAITING
    assert decide([hold] * 5, consecutive=3, mode=Mode.KEEP).state is GateState.PASSING


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


def test_no_gates_pass_immediately():
    assert run_gates([], mode=Mode.UNTIL, duration=1).ok
