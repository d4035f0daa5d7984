"""Hooks as real commands (release JSON on stdin, timeout, exit codes), and the error-rate gates against a local
server answering as Rollbar's and Sentry's REST APIs do."""

from __future__ import annotations

import json
import time

from shipit.adapters.notify.listener import ReleaseNotifiers
from shipit.core.config_integrations import Inconclusive
from shipit.release.gate_kinds import ErrorRateGate
from shipit.release.gates import GateState, Mode, run_gates
from shipit.release.phases import Phase, PhaseResult, PhaseStatus
from shipit.report.summary import render_markdown, render_text, to_json
from tests.integration.integrations.states import load, reverted, running, succeeded


def hooks(tmp_path, body: str, **kw) -> ReleaseNotifiers:
    script = tmp_path / "hook.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    lines = "".join(f"  {k}: [{json.dumps(str(script))}]\n" for k in kw.get("keys", ("pre_release",)))
    cfg = load(f"repo: {json.dumps(str(tmp_path))}\nhooks:\n{lines}  timeout: {kw.get('timeout', '10s')}\n")
    return ReleaseNotifiers.from_config(cfg, env={})


def test_a_failing_pre_release_hook_stops_with_its_output_and_the_release_json_on_stdin(tmp_path):
    n = hooks(tmp_path, 'cat > stdin.json\necho "deploy freeze until monday"\nexit 3\n')
    d = n.pre_release(running())
    assert d is not None and "exited 3" in d.what and "deploy freeze until monday" in d.details
    assert "before any change" in d.did
    assert json.loads((tmp_path / "stdin.json").read_text())["release"] == "r0007"


def test_a_passing_pre_release_hook_lets_the_release_go(tmp_path):
    assert hooks(tmp_path, "exit 0\n").pre_release(running()) is None


def test_a_pre_release_hook_past_its_timeout_stops_the_release(tmp_path):
    d = hooks(tmp_path, "sleep 5\n", timeout="300ms").pre_release(running())
    assert d is not None and "timed out after 0.3s" in d.what


def test_post_release_runs_after_success_and_on_failure_after_a_failure(tmp_path):
    n = hooks(tmp_path, 'echo "$SHIPIT_HOOK $SHIPIT_STATUS" >> ran.txt\n', keys=("post_release", "on_failure"))
    n.finished(succeeded(running()))
    n.finished(reverted(running()))
    assert (tmp_path / "ran.txt").read_text().split("\n")[:2] == ["post_release succeeded", "on_failure reverted"]
    assert n.failures == ()


def test_a_failing_post_release_hook_is_listed_not_raised(tmp_path):
    n = hooks(tmp_path, "echo boom >&2\nexit 1\n", keys=("post_release",))
    n.finished(succeeded(running()))
    [failure] = n.failures
    assert failure.kind == "hooks" and "post_release" in failure.error and "exited 1" in failure.error


def error_gate(services, provider: str, started: float, policy: str = "fail") -> ErrorRateGate:
    fields = {"rollbar": "token: '${ROLLBAR_READ}', environment: production",
              "sentry": "token: '${SENTRY_TOKEN}', organization: acme, project: shop"}[provider]
    cfg = load(f"gates:\n  on_inconclusive: {policy}\n  errors: {{provider: {provider}, {fields}, "
               f"api_url: '{services.url}', threshold: 2, ratio: 3, interval: 100ms, timeout: 1s}}\n")
    return ErrorRateGate(cfg.gates.errors, cfg.gates.on_inconclusive, release_started=started)


def test_error_rate_gates_pass_at_the_usual_rate_and_fail_when_it_jumps(services):
    now = time.time()
    started = now - 120  # the release started two minutes ago
    services.error_times.extend(started - 3600 + i * 60 for i in range(60))  # 1 error/min the hour before
    for provider in ("rollbar", "sentry"):
        quiet = error_gate(services, provider, started).probe()
        assert quiet.ok is True and quiet.observed.value is not None and quiet.observed.value < 2, (provider, quiet)
    services.error_times.extend(started + 1 + i for i in range(100))  # 100 errors since: ~50/min
    for provider in ("rollbar", "sentry"):
        gate = error_gate(services, provider, started)
        report = run_gates([gate], mode=Mode.KEEP, duration=5)
        assert not report.ok and report.failed == gate.name, (provider, report)
        [reading] = report.readings()
        assert reading.observed.value > 40 and "errors/min since the release" in reading.summary, reading
        assert reading.observed.comparison == ">" and "fails above 3x it too" in reading.observed.context
    sentry = services.calls("/api/0/projects/acme/shop/stats/")[-1]
    assert sentry.query["stat"] == "received" and sentry.query["resolution"] == "10s"
    rollbar = services.calls("/api/1/reports/occurrence_counts")[-1]
    assert rollbar.query == {"bucket_size": "60", "buckets": "60", "min_level": "error", "environments": "production"}


def test_an_unreachable_error_tracker_is_inconclusive_and_the_policy_decides(services):
    services.fail("/api/1/reports/", 503, 503, 503)
    gate = error_gate(services, "rollbar", time.time() - 60)
    failing = gate.probe()
    assert failing.ok is False and "inconclusive" in failing.summary and "on_inconclusive: fail" in failing.summary
    assert gate.decide([failing], Mode.KEEP).state is GateState.FAILED
    services.fail("/api/1/reports/", 503, 503, 503)
    lenient = error_gate(services, "rollbar", time.time() - 60, policy="pass")
    passing = lenient.probe()
    assert lenient.policy is Inconclusive.PASS
    assert passing.ok is True and "on_inconclusive: pass" in passing.summary and passing.observed.value is None
    assert "HTTP 503" in passing.observed.inconclusive, passing
    assert lenient.decide([passing], Mode.KEEP).state is GateState.PASSING


def test_the_summary_shows_the_error_rate_read_from_each_tracker_against_its_threshold(services):
    started = time.time() - 600  # ten minutes ago
    services.error_times.extend(started - 3600 + i * 360 for i in range(10))  # 10 errors in the hour before
    services.error_times.extend(started + 1 + i * 60 for i in range(3))  # 3 since: 0.30/min
    for provider in ("rollbar", "sentry"):
        gate = error_gate(services, provider, started)
        report = run_gates([gate], mode=Mode.KEEP, duration=0.5)
        assert report.ok, (provider, report)
        state = running()
        state = state.with_phase(PhaseResult(Phase.VERIFY, PhaseStatus.SUCCEEDED, state.started, state.started + 1,
                                             "healthy for 1s", report.readings()))
        line = f"error rate ({provider}): 0.30/min <= 2.00/min (vs 0.1"  # the hour before: 10 errors, whole buckets
        assert line in render_text(state) and "/min the hour before; fails above 3x it too), held" in render_text(state)
        assert line.split(": ", 1)[1] in render_markdown(state)
        [verify] = [p for p in to_json(state)["phases"] if p["phase"] == "verify"]
        assert round(verify["gates"][0]["observed"]["value"], 2) == 0.3 and verify["gates"][0]["observed"]["comparison"] == "<="
