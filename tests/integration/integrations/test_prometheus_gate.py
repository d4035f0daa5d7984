"""The metric gate against a real Prometheus scraping a test app: it passes once the error ratio has held under
its max, and fails the bake when the app's error rate rises, with the value against the threshold."""

from __future__ import annotations

import threading

from shipit.release.gate_kinds import MetricGate
from shipit.release.gates import GateState, Mode, run_gates
from tests.integration.integrations.prometheus import ERROR_RATIO, wait_for_samples
from tests.integration.integrations.states import load


def gate(url: str, query: str = ERROR_RATIO, policy: str = "fail", hold: str = "1s") -> MetricGate:
    cfg = load(f"gates:\n  on_inconclusive: {policy}\n  metrics:\n    - name: error-ratio\n      prometheus: '{url}'\n"
               f"      query: '{query}'\n      max: 0.05\n      for: {hold}\n      interval: 200ms\n      timeout: 2s\n")
    return MetricGate(cfg.gates.metrics[0], cfg.gates.on_inconclusive)


def test_holds_before_the_code_then_fails_the_bake_when_errors_rise(prometheus, metrics_app):
    metrics_app.set_error_ratio(0.01)
    wait_for_samples(prometheus)
    g = gate(prometheus.url)
    before = run_gates([g], mode=Mode.UNTIL, duration=30)
    assert before.ok, before
    [reading] = before.readings()
    assert reading.observed.value is not None and reading.observed.value < 0.05 and reading.observed.threshold == 0.05
    assert reading.ok and reading.held_s >= 1 and str(reading).startswith("metric error-ratio: ")
    assert f" <= 0.05, held {reading.held_s:.0f}s" in str(reading), reading

    raise_later = threading.Timer(1.0, metrics_app.set_error_ratio, args=(0.4,))
    raise_later.start()
    try:
        bake = run_gates([g], mode=Mode.KEEP, duration=30)
    finally:
        raise_later.cancel()
    assert not bake.ok and bake.failed == "metric error-ratio", bake
    [reading] = bake.readings()
    assert reading.ok is False and reading.observed.value > 0.05 and reading.observed.comparison == ">", reading
    assert "> 0.05, failing for" in str(reading), reading
    assert any("FAIL" in line and "error-ratio" in line for line in bake.evidence())


def test_a_high_error_ratio_before_the_code_fails_once_held(prometheus, metrics_app):
    metrics_app.set_error_ratio(0.5)
    wait_for_samples(prometheus)
    report = run_gates([gate(prometheus.url)], mode=Mode.UNTIL, duration=30)
    assert not report.ok and "for " in report.reason and "> 0.05" in report.reason, report


def test_a_query_prometheus_rejects_or_without_series_is_inconclusive(prometheus, metrics_app):
    wait_for_samples(prometheus)
    bad = gate(prometheus.url, query="sum(rate(http_requests_total[3s])").probe()  # unbalanced parenthesis
    assert bad.ok is False and "inconclusive" in bad.summary and "HTTP 400" in bad.summary, bad
    several = gate(prometheus.url, query="http_requests_total", policy="pass").probe()
    assert several.ok is True and "2 series" in several.summary and "on_inconclusive: pass" in several.summary


def test_an_unreachable_prometheus_is_inconclusive_and_fails_by_default():
    g = gate("http://127.0.0.1:9")  # discard port: connection refused
    probe = g.probe()
    assert probe.ok is False and "inconclusive" in probe.summary and "cannot reach" in probe.summary, probe
    assert g.decide([probe], Mode.KEEP).state is GateState.FAILED
