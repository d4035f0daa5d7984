"""The gate phases keep each gate's last reading: on the record (structured, through the records adapter and back),
in the text, JSON and Markdown summaries, and on the live view's lines."""

from __future__ import annotations

import dataclasses
import io
import json

from shipit.adapters.records import record_to_state, state_to_record
from shipit.kube.records import ReleaseRecord
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.gate_result import Bound, GateReading, Observation
from shipit.release.orchestrator import Release
from shipit.release.phases import Phase, PhaseStatus
from shipit.report.live import PlainView
from shipit.report.summary import render_markdown, render_text, to_json
from tests.unit.release.fakes import FakeEdges, make_config

RATE = GateReading("error rate (rollbar)", True, "0.31 errors/min since the release", 100.0, 45.0,
                   Observation(Bound.MAX, 1.0, 0.31, "/min"))
HTTP = GateReading("HTTP http://app/up", True, "HTTP 200 in 3 ms", 100.0, 30.0)
DOWN = GateReading("metric error-ratio", False, "inconclusive (connection refused); on_inconclusive: fail", 100.0, 0.0,
                   Observation(Bound.MAX, 0.05, None, inconclusive="cannot reach http://prom:9090: connection refused"))


def run(edges):
    clock = iter(range(1_700_000_000, 1_700_000_100))
    return Release(make_config(), edges.ports(), user="tester", now=lambda: float(next(clock))).run(from_ref="x")


def test_a_release_records_each_gates_last_reading_on_the_gate_phases():
    state = run(FakeEdges(readings=(HTTP, RATE)))
    assert state.phase(Phase.GATES).gates == (HTTP, RATE) and state.phase(Phase.VERIFY).gates == (HTTP, RATE)
    assert state.phase(Phase.GATES).message == "2 gate(s) passed"
    assert state.phase(Phase.MIGRATE).gates == ()
    stored = dataclasses.replace(state, templates_before=())  # the fake cluster's templates are not Deployments
    again = record_to_state(ReleaseRecord.from_json(state_to_record(stored).to_json()))
    assert again.phase(Phase.VERIFY).gates == (HTTP, RATE)


def test_a_failed_gate_phase_keeps_the_readings_that_failed_it():
    edges = FakeEdges(fail={"gates": PhaseFailed(Diagnosis("a gate before the code failed: metric error-ratio", "x"),
                                                 gates=(DOWN,))})
    state = run(edges)
    gates = state.phase(Phase.GATES)
    assert gates.status is PhaseStatus.FAILED and gates.gates == (DOWN,)


def test_the_summaries_show_the_value_against_the_threshold():
    state = run(FakeEdges(readings=(HTTP, RATE)))
    text = render_text(state)
    assert "error rate (rollbar): 0.31/min <= 1.00/min, held 45s" in text
    assert "HTTP http://app/up: HTTP 200 in 3 ms, held 30s" in text
    [verify] = [p for p in to_json(state)["phases"] if p["phase"] == "verify"]
    observed = verify["gates"][1]["observed"]
    assert (observed["value"], observed["comparison"], observed["threshold"], observed["unit"]) == (0.31, "<=", 1.0, "/min")
    md = render_markdown(state)
    assert "| error rate (rollbar) | Verify (bake) | 0.31/min <= 1.00/min, held 45s |" in md


def test_the_live_view_lists_the_readings_under_a_gate_phases_line():
    out = io.StringIO()
    view = PlainView(out)
    state = run(FakeEdges(readings=(DOWN,)))
    view.phase_ended(state.phase(Phase.GATES))
    view.gate_progress(RATE, "passing")
    lines = out.getvalue().splitlines()
    assert lines[1].endswith("metric error-ratio: inconclusive: cannot reach http://prom:9090: connection refused "
                             "(threshold max 0.05); counted as a failure")
    assert lines[2].endswith("error rate (rollbar): passing (0.31/min <= 1.00/min, held 45s)")


def test_json_log_format_gives_a_gate_reading_its_fields(capsys):
    from shipit.core import log
    from shipit.report.live import make_view

    log.configure(log.LogFormat.JSON)
    try:
        make_view().gate_progress(RATE, "passing")
        [event] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        log.configure(log.LogFormat.CONSOLE)
    assert event["text"] == "error rate (rollbar): passing (0.31/min <= 1.00/min, held 45s)"
    assert event["state"] == "passing" and event["held_s"] == 45.0
    assert event["observed"]["comparison"] == "<=" and event["observed"]["threshold"] == 1.0
