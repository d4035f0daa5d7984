"""Integrations through whole releases: a Prometheus metric gate that fails the bake when the error rate rises after
the rollout (and the release reverts), a pre_release hook that stops a release before anything changes, and a
webhook that is down without changing the outcome.
"""

from __future__ import annotations

import threading

from tests.integration.integrations.prometheus import ERROR_RATIO, metrics_app, prometheus, wait_for_samples  # noqa: F401



def _phase(out: dict, name: str) -> dict:
    return next(p for p in out["phases"] if p["phase"] == name)


def test_error_rate_rising_after_the_rollout_fails_the_metric_gate_and_reverts(sandbox, prometheus, metrics_app):
    sb = sandbox
    base = sb.bootstrap()
    target = sb.change_code()
    metrics_app.set_error_ratio(0.01)
    wait_for_samples(prometheus)
    sb.write_config(gates={"bake": "20s", "metrics": [
        {"name": "error-ratio", "prometheus": prometheus.url, "query": ERROR_RATIO, "max": 0.05, "for": "1s",
         "interval": "200ms"}]})
    stop = threading.Event()

    def break_the_app_once_rolled_out() -> None:
        while not stop.wait(0.1):
            if set(sb.deployment_images().values()) == {sb.image(target)}:
                metrics_app.set_error_ratio(0.4)
                return

    breaker = threading.Thread(target=break_the_app_once_rolled_out, daemon=True)
    breaker.start()
    try:
        r = sb.shipit("release", "--output", "json")
    finally:
        stop.set()
        breaker.join()
    assert r.code == 1, r.text
    out = r.json()
    assert out["status"] == "reverted", out
    assert _phase(out, "gates")["status"] == "succeeded"  # the metric held before the code
    assert _phase(out, "verify")["status"] == "failed" and _phase(out, "revert")["status"] == "succeeded"
    assert "metric error-ratio" in out["diagnosis"]["what"] and "> 0.05" in out["diagnosis"]["why"], out["diagnosis"]
    # each gate phase keeps the metric's last value against its threshold
    held = {g["gate"]: g for g in _phase(out, "gates")["gates"]}["metric error-ratio"]
    assert held["ok"] and held["observed"]["comparison"] == "<=" and held["observed"]["threshold"] == 0.05, held
    broke = {g["gate"]: g for g in _phase(out, "verify")["gates"]}["metric error-ratio"]
    assert broke["ok"] is False and broke["observed"]["comparison"] == ">" and broke["observed"]["value"] > 0.05, broke
    assert set(sb.deployment_images().values()) == {sb.image(base)}


def test_a_failing_pre_release_hook_stops_the_release_before_anything_changes(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.add_migration("20240120000001", "add_nickname_to_users", "def change\n  add_column :users, :nickname, :string\nend")
    sb.change_code()
    freeze = sb.config_path.parent / "check-freeze"
    freeze.write_text("#!/bin/sh\necho 'deploy freeze: holiday'\nexit 1\n")
    freeze.chmod(0o755)
    sb.write_config(hooks={"pre_release": [str(freeze)]})
    r = sb.shipit("release", "--output", "json")
    assert r.code == 1, r.text
    out = r.json()
    assert out["status"] == "failed" and "pre_release" in out["diagnosis"]["what"], out
    assert "deploy freeze: holiday" in out["diagnosis"]["details"]
    assert "20240120000001" not in sb.schema_versions()
    assert set(sb.deployment_images().values()) == {sb.image(base)}


def test_a_webhook_that_is_down_is_listed_and_the_release_still_succeeds(sandbox):
    sb = sandbox
    sb.bootstrap()
    target = sb.change_code()
    sb.write_config(notify={"webhook": "http://127.0.0.1:9/shipit", "timeout": "1s", "attempts": 2})
    r = sb.shipit("release", "--output", "json")
    assert r.code == 0, r.text
    out = r.json()
    assert out["status"] == "succeeded"
    assert any("notification webhook failed" in note for note in out["notes"]), out["notes"]
    assert set(sb.deployment_images().values()) == {sb.image(target)}
