"""Deploy markers in the error trackers, so an error spike lines up with the release that caused it:
a Rollbar deploy (started, then succeeded or failed) and a Sentry release with a deploy once it went out."""

from __future__ import annotations

import time

import httpx

from shipit.adapters.notify.base import Notifier
from shipit.adapters.notify.http import ServiceError, call, json_of
from shipit.core.config_integrations import RollbarNotify, SentryNotify
from shipit.release.phases import ReleaseStatus


def rollbar_status(status: ReleaseStatus) -> str:
    """Pure: Rollbar's deploy status for a finished release."""
    return "succeeded" if status is ReleaseStatus.SUCCEEDED else "failed"


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class RollbarNotifier(Notifier):
    kind = "rollbar"

    def __init__(self, cfg: RollbarNotify, *, timeout: float, attempts: int):
        self.cfg, self.attempts = cfg, attempts
        self.client = httpx.Client(timeout=timeout, headers={"X-Rollbar-Access-Token": cfg.token})
        self.url = cfg.api_url.rstrip("/") + "/api/1/deploy"
        self.deploy_id: int | None = None

    def started(self, state) -> None:
        body = {"environment": self.cfg.environment, "revision": state.to_sha, "local_username": state.user,
                "comment": f"shipit {state.app} {state.id}", "status": "started"}
        answer = json_of(call(self.client, "POST", self.url, json=body, attempts=self.attempts))
        try:
            self.deploy_id = int(answer["data"]["deploy_id"])  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            raise ServiceError(f"Rollbar deploy: no deploy_id in {str(answer)[:120]}") from None

    def finished(self, state) -> None:
        if self.deploy_id is not None:
            call(self.client, "PATCH", f"{self.url}/{self.deploy_id}", json={"status": rollbar_status(state.status)},
                 attempts=self.attempts)


class SentryNotifier(Notifier):
    kind = "sentry"

    def __init__(self, cfg: SentryNotify, *, timeout: float, attempts: int):
        self.cfg, self.attempts = cfg, attempts
        self.client = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {cfg.token}"})
        self.url = f"{cfg.api_url.rstrip('/')}/api/0/organizations/{cfg.organization}/releases/"

    def started(self, state) -> None:
        body = {"version": state.to_sha, "ref": state.to_sha, "projects": list(self.cfg.projects),
                "dateStarted": iso(state.started)}
        call(self.client, "POST", self.url, json=body, attempts=self.attempts)  # 208: it exists already, fine

    def finished(self, state) -> None:
        if state.status is not ReleaseStatus.SUCCEEDED:
            return  # a deploy says this version serves the environment: a failed or reverted one does not
        body = {"environment": self.cfg.environment, "name": f"shipit {state.id}", "projects": list(self.cfg.projects),
                "dateStarted": iso(state.started), "dateFinished": iso(state.ended or time.time())}
        call(self.client, "POST", f"{self.url}{state.to_sha}/deploys/", json=body, attempts=self.attempts)
