"""GitHub Deployments: a deployment of the target commit to the environment, with in_progress, then success or
failure, each status linking the CI run's log."""

from __future__ import annotations

from typing import Mapping

import requests
from github import Auth, Github, GithubException

from shipit.adapters.notify.base import Notifier
from shipit.adapters.notify.http import ServiceError, Transient, guarded
from shipit.core.config_integrations import GithubNotify
from shipit.release.phases import ReleaseStatus


def log_url(env: Mapping[str, str]) -> str | None:
    """Pure: the CI run's page, from the variables GitHub Actions and GitLab CI set."""
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return env.get("CI_JOB_URL") or None


def final_state(status: ReleaseStatus) -> str:
    """Pure: the deployment status for a finished release; anything but released is a failure."""
    return "success" if status in (ReleaseStatus.SUCCEEDED, ReleaseStatus.ROLLED_BACK) else "failure"


class GithubNotifier(Notifier):
    kind = "github"

    def __init__(self, cfg: GithubNotify, *, timeout: float, attempts: int, env: Mapping[str, str]):
        self.cfg, self.timeout, self.attempts = cfg, timeout, attempts
        self.log_url = log_url(env)
        self.gh = Github(auth=Auth.Token(cfg.token), base_url=cfg.api_url.rstrip("/"), timeout=max(1, int(timeout)),
                         retry=None, seconds_between_requests=None, seconds_between_writes=None, lazy=True)
        self.statuses_url: str | None = None

    def _guard(self, what: str, fn):
        def once():
            try:
                return fn()
            except GithubException as e:
                error = Transient if e.status == 429 or e.status >= 500 else ServiceError
                raise error(f"GitHub {what}: HTTP {e.status} {str(e.data)[:160]}") from None
            except requests.RequestException as e:
                raise Transient(f"GitHub {what}: {type(e).__name__}: {e}") from None

        return guarded(once, attempts=self.attempts, timeout=self.timeout)

    def _status(self, state: str, description: str) -> None:
        body = {"state": state, "environment": self.cfg.environment, "description": description[:140]}
        if self.log_url:
            body["log_url"] = self.log_url
        self._guard(f"deployment status {state}",
                    lambda: self.gh.requester.requestJsonAndCheck("POST", self.statuses_url, input=body))

    def started(self, state) -> None:
        repo = self.gh.get_repo(self.cfg.repository)  # lazy: no GET of the repository first
        deployment = self._guard("create deployment", lambda: repo.create_deployment(
            ref=state.to_sha, environment=self.cfg.environment, auto_merge=False, required_contexts=[],
            description=f"shipit {state.app} {state.id}", payload={"release": state.id}, task="deploy"))
        self.statuses_url = deployment.statuses_url
        self._status("in_progress", f"shipit {state.id}: {state.from_sha[:7]}..{state.to_sha[:7]}")

    def finished(self, state) -> None:
        if self.statuses_url is None:
            return  # the deployment could not be created: that failure is already listed
        from shipit.report.summary import headline

        self._status(final_state(state.status), headline(state))
