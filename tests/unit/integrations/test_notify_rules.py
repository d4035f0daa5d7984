"""The notifiers' pure parts: what the Slack message and thread say, GitHub's log URL and final state, Rollbar's
deploy status, the webhook payload, and which notifiers a configuration builds."""

from __future__ import annotations

import dataclasses

from shipit.adapters.notify.github import final_state, log_url
from shipit.adapters.notify.listener import ReleaseNotifiers
from shipit.adapters.notify.markers import rollbar_status
from shipit.adapters.notify.slack import diagnosis_text, message_text
from shipit.adapters.notify.webhook import webhook_payload
from shipit.core import config, redact
from shipit.release.orchestrator import ReleaseState
from shipit.release.diagnosis import Diagnosis
from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus

T0 = 1764936000.0
STATE = ReleaseState(
    id="r0012", sequence=12, app="shop", status=ReleaseStatus.RUNNING, from_sha="a" * 40, to_sha="b" * 40,
    image_after="reg/shop:" + "b" * 40, user="alice", started=T0,
    phases=(PhaseResult(Phase.PLAN, PhaseStatus.SUCCEEDED, T0, T0 + 0.4, "2 migrations"),
            PhaseResult(Phase.VERIFY, PhaseStatus.FAILED, T0 + 10, T0 + 40, "error-ratio 0.3 > 0.05")),
)
FAILED = dataclasses.replace(
    STATE, status=ReleaseStatus.REVERTED, ended=T0 + 50, exit_code=1,
    diagnosis=Diagnosis("a gate failed during the bake: metric error-ratio", "error-ratio 0.3 > 0.05",
                        details=tuple(f"line {i}" for i in range(30)), did="reverted", next="look at Rollbar"),
)


def test_the_slack_message_is_the_headline_and_one_line_per_phase():
    text = message_text(STATE)
    first, *rest = text.split("\n")
    assert first.startswith("*shipit shop r0012:") and "aaaaaaa..bbbbbbb" in first
    assert any(line.startswith("Plan") and "ok" in line and "0.4s" in line and "2 migrations" in line for line in rest)
    assert any(line.startswith("Verify (bake)") and "FAILED" in line for line in rest)


def test_the_slack_thread_explains_the_failure_on_one_screen():
    text = diagnosis_text(FAILED)
    assert "*What failed:* a gate failed during the bake: metric error-ratio" in text
    assert "*Why:* error-ratio 0.3 > 0.05" in text and "*Next:* look at Rollbar" in text
    assert "line 14" in text and "line 15" not in text  # the evidence's first 15 lines


def test_secrets_never_reach_slack():
    redact.register_secret("hunter2-secret")
    leaky = dataclasses.replace(FAILED, diagnosis=dataclasses.replace(FAILED.diagnosis, why="auth hunter2-secret"))
    assert "hunter2-secret" not in diagnosis_text(leaky) and "***" in diagnosis_text(leaky)


def test_log_url_from_github_actions_or_gitlab_ci():
    gh = {"GITHUB_SERVER_URL": "https://ghe.example", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "99"}
    assert log_url(gh) == "https://ghe.example/acme/shop/actions/runs/99"
    assert log_url({"CI_JOB_URL": "https://gitlab.example/acme/shop/-/jobs/5"}) == "https://gitlab.example/acme/shop/-/jobs/5"
    assert log_url({}) is None


def test_final_states():
    assert final_state(ReleaseStatus.SUCCEEDED) == "success"
    assert {final_state(s) for s in (ReleaseStatus.FAILED, ReleaseStatus.REVERTED, ReleaseStatus.NEEDS_ATTENTION)} == {"failure"}
    assert rollbar_status(ReleaseStatus.SUCCEEDED) == "succeeded" and rollbar_status(ReleaseStatus.REVERTED) == "failed"


def test_the_webhook_payload_carries_the_release_json_and_the_phase_that_ended():
    payload = webhook_payload("phase_ended", STATE, STATE.phases[1])
    assert payload["event"] == "phase_ended" and payload["phase"]["phase"] == "verify"
    assert payload["release"]["release"] == "r0012" and payload["release"]["status"] == "running"
    assert webhook_payload("started", STATE)["phase"] is None


def test_the_configuration_builds_one_notifier_per_configured_kind():
    base = """\
app: shop
image: {repository: reg/shop}
deployments: [{name: web}]
migration: {from_deployment: web, container: web}
database: {url: "mysql://root@127.0.0.1:3306/shop"}
"""
    none = ReleaseNotifiers.from_config(config.parse(base, env={}), env={})
    assert none.notifiers == [] and none.pre_release(STATE) is None
    cfg = config.parse(base + """\
notify:
  slack: {token: "${T}", channel: c}
  rollbar: {token: "${T}"}
  webhook: http://127.0.0.1:9/hook
hooks:
  on_failure: [scripts/page]
""", env={"T": "token-value"})
    built = ReleaseNotifiers.from_config(cfg, env={})
    assert [n.kind for n in built.notifiers] == ["slack", "rollbar", "webhook", "hooks"]
