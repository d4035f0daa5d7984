"""The metric and error-rate gates' pure rules: each reading against its threshold, how long it must hold, what an
inconclusive reading counts as, and the registry building every configured kind."""

from __future__ import annotations

import pytest

from shipit.core import config
from shipit.core.config_integrations import Inconclusive
from shipit.release.gate_kinds import (
    Bound, ErrorRateGate, ErrorWindow, MetricGate, Threshold, configured_gates, decide_held, error_rate_probe,
    inconclusive_probe, metric_probe, window_of,
)
from shipit.release.gate_result import GateReading, Observation
from shipit.release.gates import GateReport, GateState, HttpGate, Mode, Probe, held_for

MAX = Threshold(Bound.MAX, 0.05)


def reading(value: float, at: float, threshold: Threshold = MAX) -> Probe:
    return metric_probe("error-ratio", value, threshold, at)


def test_a_reading_against_max_and_min_says_which_side_it_is():
    assert reading(0.05, 0).ok is True and reading(0.0501, 0).ok is False
    assert reading(0.2, 0).summary == "error-ratio 0.2 > 0.05" and reading(0.01, 0).summary == "error-ratio 0.01 <= 0.05"
    low = Threshold(Bound.MIN, 10)
    assert reading(9, 0, low).ok is False and reading(9, 0, low).summary == "error-ratio 9 < 10"
    assert reading(10, 0, low).ok is True and reading(10, 0, low).summary == "error-ratio 10 >= 10"
    assert reading(0.2, 0).observed == Observation(Bound.MAX, 0.05, 0.2)
    assert reading(0.2, 0).observed.comparison == ">" and reading(9, 0, low).observed.comparison == "<"


def test_before_the_code_it_passes_only_once_held_without_a_break():
    held = [reading(0.01, t) for t in (0, 10, 20)]
    assert decide_held(held, hold=30, mode=Mode.UNTIL).state is GateState.WAITING
    assert decide_held(held + [reading(0.01, 30)], hold=30, mode=Mode.UNTIL).state is GateState.PASSED
    broken = [reading(0.01, 0), reading(0.01, 20), reading(0.2, 25), reading(0.01, 30), reading(0.01, 50)]
    d = decide_held(broken, hold=30, mode=Mode.UNTIL)
    assert d.state is GateState.WAITING and "(20s of 30s)" in d.reason  # the clock restarted at the break


def test_before_the_code_it_fails_once_out_of_bounds_that_long():
    bad = [reading(0.01, 0), reading(0.2, 10), reading(0.3, 25)]
    assert decide_held(bad, hold=30, mode=Mode.UNTIL).state is GateState.WAITING
    d = decide_held(bad + [reading(0.3, 40)], hold=30, mode=Mode.UNTIL)
    assert d.state is GateState.FAILED and "0.3 > 0.05" in d.reason and "for 30s" in d.reason
    assert decide_held([reading(0.3, 0)], hold=0, mode=Mode.UNTIL).state is GateState.FAILED


def test_during_the_bake_every_reading_must_be_within_bounds():
    assert decide_held([reading(0.01, 0), reading(0.02, 1)], hold=30, mode=Mode.KEEP).state is GateState.PASSING
    d = decide_held([reading(0.01, 0), reading(0.06, 1)], hold=30, mode=Mode.KEEP)
    assert d.state is GateState.FAILED and d.reason == "error-ratio 0.06 > 0.05"
    assert decide_held([], hold=30, mode=Mode.KEEP).state is GateState.WAITING


def test_an_inconclusive_reading_counts_as_the_policy_says_and_says_so():
    fail = inconclusive_probe("cannot reach prometheus", Inconclusive.FAIL, 5, Bound.MAX, 0.05)
    assert fail.ok is False and fail.observed.value is None and "inconclusive (cannot reach prometheus)" in fail.summary
    assert fail.observed.inconclusive == "cannot reach prometheus" and fail.observed.comparison == ""
    assert decide_held([fail], hold=0, mode=Mode.KEEP).state is GateState.FAILED
    lenient = inconclusive_probe("cannot reach prometheus", Inconclusive.PASS, 5, Bound.MAX, 0.05)
    assert lenient.ok is True and "on_inconclusive: pass" in lenient.summary
    assert decide_held([lenient], hold=0, mode=Mode.KEEP).state is GateState.PASSING


@pytest.mark.parametrize("since, before, ok", [
    (ErrorWindow(10, 600), ErrorWindow(60, 3600), True),  # 1/min, as usual
    (ErrorWindow(100, 600), ErrorWindow(60, 3600), False),  # 10/min vs 1/min: above 2/min and 3x
    (ErrorWindow(100, 600), ErrorWindow(360, 3600), True),  # 10/min on a busy app used to 6/min: under 3x
    (ErrorWindow(3, 600), ErrorWindow(0, 3600), True),  # a quiet app's 0.3/min: infinite ratio, under the threshold
    (ErrorWindow(2, 20), ErrorWindow(0, 3600), True),  # 2 errors in the first 20s count over one minute, not 6/min
    (ErrorWindow(30, 20), ErrorWindow(0, 3600), False),
])
def test_the_error_rate_fails_only_above_both_the_threshold_and_the_ratio(since, before, ok):
    p = error_rate_probe(since, before, threshold=2, ratio=3, at=0)
    assert p.ok is ok, p.summary
    assert p.observed.value == pytest.approx(since.per_minute) and (p.observed.bound, p.observed.threshold) == (Bound.MAX, 2)
    assert p.observed.unit == "/min" and "fails above 3x it too" in p.observed.context
    assert f"{since.per_minute:.2f} errors/min since the release vs {before.per_minute:.2f}/min" in p.summary


def test_a_window_counts_the_buckets_overlapping_it_over_the_part_they_cover():
    buckets = [[600, 1], [660, 2], [720, 4], [780, 8]]  # one-minute buckets, [600, 840) known
    assert window_of(buckets, 660, 780, bucket=60) == ErrorWindow(6, 120)
    assert window_of(buckets, 690, 750, bucket=60) == ErrorWindow(6, 60)  # partly covered buckets count whole
    assert window_of(buckets, 0, 700, bucket=60) == ErrorWindow(3, 100)  # the provider kept only [600, ...)
    assert window_of(buckets, 900, 960, bucket=60) == ErrorWindow(0, 0)


def test_without_a_count_for_the_hour_before_only_the_threshold_decides_and_it_says_so():
    p = error_rate_probe(ErrorWindow(10, 600), ErrorWindow(0, 0), threshold=2, ratio=3, at=0)
    assert p.ok is True and "no count for the hour before" in p.summary
    assert error_rate_probe(ErrorWindow(300, 600), ErrorWindow(0, 0), threshold=2, ratio=3, at=0).ok is False


def test_the_report_shows_each_gates_last_value_against_its_threshold_and_how_long_it_held():
    report = GateReport(False, Mode.KEEP, "metric error-ratio", "x", probes=(
        ("HTTP http://app/up", (Probe(True, "HTTP 200 in 3 ms", 0), Probe(True, "HTTP 200 in 4 ms", 9))),
        ("metric error-ratio", (reading(0.01, 0), reading(0.2, 10), reading(0.3, 22))),
    ))
    http, metric = report.readings()
    assert (http.gate, http.observed, http.held_s) == ("HTTP http://app/up", None, 9)
    assert str(http) == "HTTP http://app/up: HTTP 200 in 4 ms, held 9s"
    assert (metric.ok, metric.held_s, metric.observed.value) == (False, 12, 0.3)  # out of bounds since t=10
    assert str(metric) == "metric error-ratio: 0.3 > 0.05, failing for 12s"


def test_an_inconclusive_reading_says_why_and_what_it_counted_as():
    down = GateReport(True, Mode.KEEP, probes=(
        ("error rate (rollbar)", (inconclusive_probe("HTTP 503", Inconclusive.PASS, 0, Bound.MAX, 1.0, "/min"),)),
    )).readings()[0]
    assert down.inconclusive and down.describe() == "inconclusive: HTTP 503 (threshold max 1.00/min); counted as a pass"


def test_a_reading_survives_the_record_as_structured_data():
    p = error_rate_probe(ErrorWindow(3.1, 600), ErrorWindow(6, 3600), threshold=1.0, ratio=3, at=50)
    r = GateReport(True, Mode.KEEP, probes=(("error rate (sentry)", (p,)),)).readings()[0]
    assert str(r).startswith("error rate (sentry): 0.31/min <= 1.00/min (vs 0.10/min the hour before")
    assert GateReading.from_json(r.to_json()) == r
    assert r.to_json()["observed"]["comparison"] == "<="


def test_held_for_counts_the_unbroken_run_ending_with_the_last_probe():
    assert held_for([]) == 0
    assert held_for([Probe(True, "", 0), Probe(False, "", 5), Probe(True, "", 7), Probe(True, "", 11)]) == 4


MINIMAL = """\
app: shop
image: {repository: reg/shop}
deployments: [{name: web}]
migration: {from_deployment: web, container: web}
database: {url: "mysql://root@127.0.0.1:3306/shop"}
"""


def test_the_registry_builds_every_configured_kind_in_order():
    cfg = config.parse(MINIMAL + """\
gates:
  http: [{url: "http://app/up"}]
  metrics:
    - {name: errors, prometheus: "http://prom:9090", query: "up", max: 1}
    - {name: latency, prometheus: "http://prom:9090", query: "up", min: 0, for: 30s}
  errors: {provider: rollbar, token: "${RB}"}
""", env={"RB": "rollbar-read-token"})
    gates = configured_gates(cfg.gates, release_started=100.0)
    assert [type(g) for g in gates] == [HttpGate, MetricGate, MetricGate, ErrorRateGate]
    assert [g.name for g in gates[1:]] == ["metric errors", "metric latency", "error rate (rollbar)"]
    assert gates[3].started == 100.0 and gates[2].cfg.hold == 30
    assert configured_gates(config.parse(MINIMAL, env={}).gates, release_started=0) == []
