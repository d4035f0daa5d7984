"""Summary rendering: text, JSON, Markdown for $GITHUB_STEP_SUMMARY; secrets never appear."""

from __future__ import annotations

import json

from shipit.core import redact
from shipit.release.diagnosis import Diagnosis
from shipit.release.orchestrator import Release
from shipit.report.summary import append_step_summary, render_markdown, render_text, to_json
from tests.unit.release.fakes import FakeEdges, make_config


def reverted_state():
    edges = FakeEdges(
        fail={
            "rollout": Diagnosis(
                "web: new pods crash-loop (CrashLoopBackOff)",
                "container app exited 1, restarted 3 times",
                details=("log: NameError: uninitialized constant Order::Totals", "event: Back-off restarting failed container"),
            )
        }
    )
    clock = iter(range(1_700_000_000, 1_700_000_100))
    return Release(make_config(), edges.ports(), user="tester", now=lambda: float(next(clock))).run(from_ref="x")


def test_text_summary_has_every_phase_with_duration_and_the_diagnosis():
    text = render_text(reverted_state())
    first = text.splitlines()[0]
    assert first.startswith("shipit shop r0001: FAILED and REVERTED") and "exit 1" in first
    for title in ("Plan", "Lock", "Preflight", "Migrate (pre-deploy)", "Wait for DDL", "Code rollout", "Automatic revert"):
        assert title in text
    assert "Code rollout             FAILED" in text and "1.0s" in text
    assert "What failed: web: new pods crash-loop (CrashLoopBackOff)" in text
    assert "  | log: NameError: uninitialized constant Order::Totals" in text
    assert "shipit did:  rolled the workloads back" in text and "Next:" in text
    assert "stays applied" in text


def test_json_summary_is_one_serialisable_object():
    data = json.loads(json.dumps(to_json(reverted_state())))
    assert data["status"] == "reverted" and data["exit_code"] == 1 and data["release"] == "r0001"
    assert [p["phase"] for p in data["phases"]][-1] == "revert"
    assert data["diagnosis"]["what"].startswith("web: new pods crash-loop")
    assert all(p["duration_s"] is not None for p in data["phases"])


def test_markdown_is_appended_to_github_step_summary(tmp_path):
    target = tmp_path / "summary.md"
    target.write_text("previous step\n")
    state = reverted_state()
    assert append_step_summary(state, env={}) is None
    append_step_summary(state, env={"GITHUB_STEP_SUMMARY": str(target)})
    text = target.read_text()
    assert text.startswith("previous step\n### ↩️ shipit shop r0001")
    assert "| Code rollout | FAILED |" in text and "**Next:**" in text and "```" in text


def test_secrets_are_redacted_everywhere():
    redact.register_secret("s3cr3t-pw")
    edges = FakeEdges(fail={"preflight": Diagnosis("cannot connect", "mysql://app:s3cr3t-pw@db/shop refused")})
    state = Release(make_config(), edges.ports(), user="t").run(from_ref="x")
    assert "s3cr3t-pw" not in render_text(state) and "s3cr3t-pw" not in render_markdown(state)


def test_long_evidence_keeps_its_start_and_its_end():
    from shipit.report.summary import EVIDENCE_HEAD, EVIDENCE_TAIL, evidence

    details = tuple(f"line {i}" for i in range(100))
    shown = evidence(details)
    assert shown[0] == "line 0" and shown[-1] == "line 99"
    assert len(shown) == EVIDENCE_HEAD + EVIDENCE_TAIL + 1
    assert shown[EVIDENCE_HEAD] == f"... ({100 - EVIDENCE_HEAD - EVIDENCE_TAIL} lines omitted)"
    assert evidence(details[:10]) == list(details[:10])


def test_a_running_release_headline_has_no_exit_code():
    import dataclasses

    from shipit.release.phases import ReleaseStatus
    from shipit.report.summary import headline

    running = dataclasses.replace(reverted_state(), status=ReleaseStatus.RUNNING, ended=None, exit_code=0)
    line = headline(running)
    assert "still running (interrupted?)" in line and "exit" not in line


def test_a_failure_after_the_code_went_out_does_not_claim_nothing_changed():
    import dataclasses

    from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus
    from shipit.report.summary import headline

    state = dataclasses.replace(reverted_state(), status=ReleaseStatus.FAILED, exit_code=1)
    state = state.with_phase(PhaseResult(Phase.CODE, PhaseStatus.SUCCEEDED, 1.0, 2.0, "web serving"))
    state = state.with_phase(PhaseResult(Phase.POST_DEPLOY, PhaseStatus.FAILED, 3.0, 4.0, "Job failed"))
    line = headline(state)
    assert "after the new code went out" in line and "nothing" not in line


def test_a_failure_before_any_migration_applied_says_nothing_changed_and_after_says_compatible():
    from shipit.report.summary import headline

    preflight_failed = Release(make_config(), FakeEdges(fail={"preflight": Diagnosis("orphans", "3 rows")}).ports(),
                               user="tester").run(from_ref="x")
    assert "FAILED before changing anything" in headline(preflight_failed)
    gates_failed = Release(make_config(), FakeEdges(fail={"gates": Diagnosis("HTTP 500", "twice")}).ports(),
                           user="tester").run(from_ref="x")
    line = headline(gates_failed)
    assert "nothing the previous code cannot run with was changed" in line and "before changing" not in line
