"""A generic webhook (the release as JSON at start, at each phase end and at the end) and the hooks: commands run
with the release JSON on stdin, bounded by `hooks.timeout`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx

from shipit.adapters.notify.base import Notifier, release_json
from shipit.adapters.notify.http import ServiceError, call
from shipit.core.config_integrations import HooksConfig
from shipit.core.redact import redact
from shipit.release.diagnosis import Diagnosis
from shipit.release.phases import ReleaseStatus


def webhook_payload(event: str, state, result=None) -> dict:
    """Pure: what the webhook receives; `phase` is the phase that just ended, if any."""
    return {"event": event, "phase": result.to_json() if result is not None else None, "release": release_json(state)}


class WebhookNotifier(Notifier):
    kind = "webhook"

    def __init__(self, url: str, *, timeout: float, attempts: int):
        self.url, self.attempts = url, attempts
        self.client = httpx.Client(timeout=timeout)

    def _post(self, payload: dict) -> None:
        call(self.client, "POST", self.url, json=payload, attempts=self.attempts)

    def started(self, state) -> None:
        self._post(webhook_payload("started", state))

    def phase_ended(self, state, result) -> None:
        self._post(webhook_payload("phase_ended", state, result))

    def finished(self, state) -> None:
        self._post(webhook_payload("finished", state))


class HookFailed(ServiceError):
    def __init__(self, message: str, output: tuple[str, ...]):
        super().__init__(message)
        self.output = tuple(redact(line) for line in output)


class Hooks(Notifier):
    """hooks.post_release after a release that succeeded, hooks.on_failure after one that did not; pre_release is
    asked by the orchestrator before anything changes. Never retried: a command need not be idempotent."""

    kind = "hooks"

    def __init__(self, cfg: HooksConfig, *, cwd: Path):
        self.cfg, self.cwd = cfg, cwd

    def run(self, name: str, argv: tuple[str, ...], state) -> None:
        """Run one hook; HookFailed when it cannot start, times out or exits non-zero."""
        stdin = json.dumps(release_json(state))
        env = dict(os.environ, SHIPIT_HOOK=name, SHIPIT_RELEASE=state.id, SHIPIT_STATUS=state.status.value)
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=self.cfg.timeout,
                                  cwd=self.cwd, env=env)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            raise HookFailed(f"hooks.{name} {argv[0]} timed out after {self.cfg.timeout:g}s", tail(out)) from None
        except OSError as e:
            raise HookFailed(f"hooks.{name} {argv[0]} could not start: {e.strerror}", ()) from None
        if done.returncode != 0:
            raise HookFailed(f"hooks.{name} {argv[0]} exited {done.returncode}", tail(done.stdout + done.stderr))

    def pre_release(self, state) -> Diagnosis | None:
        if not self.cfg.pre_release:
            return None
        try:
            self.run("pre_release", self.cfg.pre_release, state)
        except HookFailed as e:
            return Diagnosis(
                what=f"the pre_release hook stopped the release: {e}",
                why="hooks.pre_release must exit 0 for a release to start (a deploy freeze, a failed check)",
                details=e.output,
                did="stopped before any change: no migration ran, the Deployments are untouched",
                next=f"see the hook's output above; rerun `shipit release` once {self.cfg.pre_release[0]} allows it",
            )
        return None

    def finished(self, state) -> None:
        ok = state.status is ReleaseStatus.SUCCEEDED
        argv, name = (self.cfg.post_release, "post_release") if ok else (self.cfg.on_failure, "on_failure")
        if argv:
            self.run(name, argv, state)


def tail(output: str, lines: int = 20) -> tuple[str, ...]:
    return tuple(output.strip().splitlines()[-lines:])
