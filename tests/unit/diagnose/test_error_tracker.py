"""The error tracker section's pure parts: where the rate counts from, the verdict over the gate rule's reading,
the likely cause it adds, and the note when no tracker is configured."""

from __future__ import annotations

import types

from shipit.release.gate_kinds import ErrorWindow, error_rate_probe
from shipit.report.diagnose import cause, errors
from shipit.report.diagnose.findings import Kind, Section, State

NOW = 1_764_936_000.0


def read(since: ErrorWindow, before: ErrorWindow) -> errors.ErrorsRead:
    return errors.ErrorsRead("sentry", NOW - 600, "release r0007",
                             error_rate_probe(since, before, threshold=2, ratio=3, at=NOW))


def test_the_rate_counts_from_the_last_release_else_from_the_since_window_saying_why():
    record = types.SimpleNamespace(id="r0007", started="2025-12-05T12:00:00.000Z")
    assert errors.release_start(types.SimpleNamespace(record=record), 3600, NOW) == (1764936000.0, "release r0007")
    assert errors.release_start(types.SimpleNamespace(record=None), 3600, NOW) == (
        NOW - 3600, "the --since window (no release recorded)")
    assert errors.release_start(None, 60, NOW)[1] == "the --since window (the release record was not read in time)"


def test_a_usual_rate_is_no_finding_and_shows_its_value_against_the_threshold():
    r = errors.verdict(read(ErrorWindow(3, 600), ErrorWindow(360, 3600)))
    assert r.state is State.OK and r.findings == ()
    assert r.lines[0].startswith("sentry: 0.30 errors/min since the release vs 6.00/min the hour before")
    assert r.data["observed"]["value"] == 0.3 and r.data["observed"]["comparison"] == "<="


def test_a_jump_above_threshold_and_ratio_is_a_finding_and_a_likely_cause():
    r = errors.verdict(read(ErrorWindow(300, 600), ErrorWindow(60, 3600)))
    [f] = r.findings
    assert f.kind is Kind.ERROR_RATE and f.count == 30 and f.summary.startswith("sentry: error rate 30.00/min > 2.00/min")
    [c] = cause.rank(r.findings)
    assert c.explains == (f,) and "shipit rollback" in c.next_step


def test_without_a_tracker_the_section_says_it_was_not_read_and_is_not_a_problem():
    r = errors.not_configured()
    assert r.section is Section.ERRORS and r.state is State.OK and r.lines == (errors.NOT_CONFIGURED,)
