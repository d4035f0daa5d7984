"""Notifiers over real HTTP against a local server answering in Slack's, GitHub's, Rollbar's and Sentry's documented
formats: what each sends at each moment, retries of what can heal, and failures listed, never raised."""

from __future__ import annotations

from shipit.adapters.notify.listener import ReleaseNotifiers
from shipit.release.phases import Phase, PhaseStatus
from tests.integration.integrations.states import TO, TOKENS, load, phase, reverted, running, succeeded


def notifiers(services, notify: str, env: dict | None = None) -> ReleaseNotifiers:
    cfg = load(f"notify:\n  timeout: 2s\n{notify}", env)
    return ReleaseNotifiers.from_config(cfg, env=env or {})


def test_slack_one_message_updated_as_phases_end_and_the_diagnosis_in_its_thread(services):
    n = notifiers(services, f"  slack: {{token: '${{SLACK_TOKEN}}', channel: '#deploys', api_url: '{services.url}/api/'}}\n")
    state = running()
    n.started(state)
    for p in (Phase.LOCK, Phase.PREFLIGHT):
        state, result = phase(state, p)
        n.phase_ended(state, result)
    state, result = phase(state, Phase.VERIFY, PhaseStatus.FAILED, "error-ratio 0.31 > 0.05")
    n.phase_ended(state, result)
    n.finished(reverted(state))
    assert n.failures == ()
    posts, updates = services.calls("/api/chat.postMessage"), services.calls("/api/chat.update")
    assert len(posts) == 2 and len(updates) == 4, (posts, updates)
    first, thread = posts
    ts = "1733400001.000100"
    assert first.body["channel"] == "#deploys" and "r0007" in first.body["text"] and "thread_ts" not in first.body
    assert all(u.body["ts"] == ts and u.body["channel"] == "C0DEPLOYS" for u in updates)  # the channel ID Slack gave
    assert "Preflight" in updates[1].body["text"] and "FAILED" in updates[2].body["text"]
    assert "REVERTED" in updates[-1].body["text"]
    assert thread.body["thread_ts"] == ts and "What failed:" in thread.body["text"] and "0.31" in thread.body["text"]
    assert thread.body["channel"] == "C0DEPLOYS"


def test_slack_success_posts_no_thread(services):
    n = notifiers(services, f"  slack: {{token: '${{SLACK_TOKEN}}', channel: '#deploys', api_url: '{services.url}/api/'}}\n")
    n.started(running())
    n.finished(succeeded(running()))
    assert len(services.calls("/api/chat.postMessage")) == 1 and n.failures == ()


def test_github_deployment_for_the_target_commit_with_statuses_and_log_url(services):
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "42"}
    n = notifiers(services, f"  github: {{token: '${{GH_TOKEN}}', repository: acme/shop, environment: production, "
                            f"api_url: '{services.url}'}}\n", env)
    n.started(running())
    n.finished(reverted(running()))
    assert n.failures == ()
    [deployment] = services.calls("/repos/acme/shop/deployments", "POST")[:1]
    assert deployment.path == "/repos/acme/shop/deployments"
    assert deployment.body["ref"] == TO and deployment.body["environment"] == "production"
    assert deployment.body["auto_merge"] is False and deployment.body["required_contexts"] == []
    statuses = services.calls("/repos/acme/shop/deployments/1/statuses")
    assert [s.body["state"] for s in statuses] == ["in_progress", "failure"]
    assert {s.body["log_url"] for s in statuses} == {"https://github.com/acme/shop/actions/runs/42"}
    assert "REVERTED" in statuses[-1].body["description"]


def test_rollbar_deploy_started_then_succeeded(services):
    n = notifiers(services, f"  rollbar: {{token: '${{ROLLBAR_WRITE}}', environment: production, api_url: '{services.url}'}}\n")
    n.started(running())
    n.finished(succeeded(running()))
    assert n.failures == ()
    [start] = services.calls("/api/1/deploy", "POST")
    assert start.body == {"environment": "production", "revision": TO, "local_username": "alice",
                          "comment": "shipit shop r0007", "status": "started"}
    [done] = services.calls("/api/1/deploy/31415", "PATCH")
    assert done.body == {"status": "succeeded"}


def test_sentry_release_then_a_deploy_only_when_it_went_out(services):
    line = (f"  sentry: {{token: '${{SENTRY_TOKEN}}', organization: acme, projects: [shop], environment: production, "
            f"api_url: '{services.url}'}}\n")
    ok = notifiers(services, line)
    ok.started(running())
    ok.finished(succeeded(running()))
    failed = notifiers(services, line)
    failed.started(running())
    failed.finished(reverted(running()))
    assert ok.failures == () and failed.failures == ()
    releases = services.calls("/api/0/organizations/acme/releases/", "POST")
    deploys = [r for r in releases if r.path.endswith("/deploys/")]
    assert [r.body["version"] for r in releases if not r.path.endswith("/deploys/")] == [TO, TO]
    assert len(deploys) == 1 and deploys[0].path == f"/api/0/organizations/acme/releases/{TO}/deploys/"
    assert deploys[0].body["environment"] == "production" and deploys[0].body["projects"] == ["shop"]


def test_webhook_gets_the_release_json_at_start_each_phase_end_and_the_end(services):
    n = notifiers(services, f"  webhook: '{services.url}/hooks/shipit'\n")
    state = running()
    n.started(state)
    state, result = phase(state, Phase.LOCK)
    n.phase_ended(state, result)
    n.finished(succeeded(state))
    calls = services.calls("/hooks/shipit", "POST")
    assert [c.body["event"] for c in calls] == ["started", "phase_ended", "finished"]
    assert calls[1].body["phase"]["phase"] == "lock" and calls[0].body["phase"] is None
    assert calls[2].body["release"]["status"] == "succeeded" and calls[2].body["release"]["to"] == TO


def test_a_transient_failure_is_retried_and_not_listed(services):
    services.fail("/api/1/deploy", 503, 0.0)  # a 503, then a normal answer
    n = notifiers(services, f"  rollbar: {{token: '${{ROLLBAR_WRITE}}', api_url: '{services.url}'}}\n")
    n.started(running())
    assert n.failures == ()
    assert len(services.calls("/api/1/deploy", "POST")) == 2


def test_a_service_that_stays_down_is_listed_not_raised_and_not_called_again(services):
    services.fail("/hooks/", 500, 500, 500)
    n = notifiers(services, f"  webhook: '{services.url}/hooks/shipit'\n"
                            f"  rollbar: {{token: '${{ROLLBAR_WRITE}}', api_url: '{services.url}'}}\n")
    state = running()
    n.started(state)
    state, result = phase(state, Phase.LOCK)
    n.phase_ended(state, result)
    n.finished(succeeded(state))
    assert len(services.calls("/hooks/")) == 3  # three attempts at the start, nothing after
    [failure] = n.failures
    assert failure.kind == "webhook" and failure.moment == "started" and "HTTP 500" in failure.error
    assert "notification webhook failed at started" in n.notes()[0]
    assert services.calls("/api/1/deploy/31415", "PATCH"), "the other notifiers carry on"


def test_a_refused_token_is_not_retried_and_never_shown(services):
    n = notifiers(services, f"  rollbar: {{token: '${{ROLLBAR_WRITE}}', api_url: '{services.url}'}}\n",
                  env={"ROLLBAR_WRITE": "wrong-rollbar-token"})
    n.started(running())
    assert len(services.calls("/api/1/deploy")) == 1
    [failure] = n.failures
    assert "HTTP 401" in failure.error
    assert "wrong-rollbar-token" not in " ".join(n.notes())


def test_a_hung_service_times_out_within_its_bound_and_is_listed(services):
    services.fail("/api/chat.", 3.0, 3.0)
    n = notifiers(services, f"  attempts: 2\n  slack: {{token: '${{SLACK_TOKEN}}', channel: '#deploys', "
                            f"api_url: '{services.url}/api/'}}\n".replace("timeout: 2s", "timeout: 1s"))
    n.started(running())
    [failure] = n.failures
    assert failure.kind == "slack" and "timed out" in failure.error.lower(), failure
    assert len(services.calls("/api/chat.postMessage")) == 2
    assert TOKENS["SLACK_TOKEN"] not in failure.note()
