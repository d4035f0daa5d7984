"""The release listener: tells every configured notifier about a release's start, each phase's end and its end,
and keeps what failed for the summary. A notification failure is logged and listed, never raised: the release's
outcome and exit code are the release's alone.

A notifier that failed (after its retries) is not called again in the same release, so a service that is down
costs at most one bounded call, not one per phase.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Callable, Mapping

from shipit.adapters.notify.base import Notifier
from shipit.core.config import Config
from shipit.core.log import get_logger
from shipit.core.redact import redact
from shipit.release.diagnosis import Diagnosis

if TYPE_CHECKING:
    from shipit.adapters.notify.webhook import Hooks

log = get_logger("shipit.notify")


# Each kind's module (and its SDK: PyGithub, slack_sdk, httpx) is imported only when that kind is configured: most
# of a release's start-up time otherwise.
def _slack(c: Config, env: Mapping[str, str]) -> Notifier | None:
    from shipit.adapters.notify.slack import SlackNotifier

    return SlackNotifier(c.notify.slack, timeout=c.notify.timeout, attempts=c.notify.attempts)


def _github(c: Config, env: Mapping[str, str]) -> Notifier | None:
    from shipit.adapters.notify.github import GithubNotifier

    return GithubNotifier(c.notify.github, timeout=c.notify.timeout, attempts=c.notify.attempts, env=env)


def _rollbar(c: Config, env: Mapping[str, str]) -> Notifier | None:
    from shipit.adapters.notify.markers import RollbarNotifier

    return RollbarNotifier(c.notify.rollbar, timeout=c.notify.timeout, attempts=c.notify.attempts)


def _sentry(c: Config, env: Mapping[str, str]) -> Notifier | None:
    from shipit.adapters.notify.markers import SentryNotifier

    return SentryNotifier(c.notify.sentry, timeout=c.notify.timeout, attempts=c.notify.attempts)


def _webhook(c: Config, env: Mapping[str, str]) -> Notifier | None:
    from shipit.adapters.notify.webhook import WebhookNotifier

    return WebhookNotifier(c.notify.webhook, timeout=c.notify.timeout, attempts=c.notify.attempts)


def _hooks(c: Config, env: Mapping[str, str]) -> Notifier | None:
    from shipit.adapters.notify.webhook import Hooks

    return Hooks(c.hooks, cwd=c.repo)


# kind -> (is it configured, its notifier for this configuration)
NOTIFIERS: dict[str, tuple[Callable[[Config], object], Callable[[Config, Mapping[str, str]], Notifier | None]]] = {
    "slack": (lambda c: c.notify.slack, _slack),
    "github": (lambda c: c.notify.github, _github),
    "rollbar": (lambda c: c.notify.rollbar, _rollbar),
    "sentry": (lambda c: c.notify.sentry, _sentry),
    "webhook": (lambda c: c.notify.webhook, _webhook),
    "hooks": (lambda c: c.hooks.post_release or c.hooks.on_failure or c.hooks.pre_release, _hooks),
}


@dataclasses.dataclass(frozen=True)
class NotifyFailure:
    kind: str
    moment: str  # started, phase <name> ended, finished
    error: str

    def note(self) -> str:
        return redact(f"notification {self.kind} failed at {self.moment} (not retried again this release): {self.error}")


class ReleaseNotifiers:
    """Receives (release state, phase ended, outcome) from the orchestrator and fans it out."""

    def __init__(self, notifiers: list[Notifier], hooks: Hooks | None = None):
        self.notifiers = notifiers
        self.hooks = hooks
        self._failures: list[NotifyFailure] = []
        self._down: set[str] = set()

    @classmethod
    def from_config(cls, cfg: Config, env: Mapping[str, str] | None = None) -> ReleaseNotifiers:
        env = os.environ if env is None else env
        built = [n for n in (make(cfg, env) for configured, make in NOTIFIERS.values() if configured(cfg)) if n]
        return cls(built, next((n for n in built if n.kind == "hooks"), None))

    @property
    def failures(self) -> tuple[NotifyFailure, ...]:
        return tuple(self._failures)

    def notes(self) -> tuple[str, ...]:
        """One line per failed notifier, for ReleaseState.notes (the summary lists them)."""
        return tuple(f.note() for f in self._failures)

    def pre_release(self, state) -> Diagnosis | None:
        """The pre_release hook's verdict: a Diagnosis stops the release before anything changes (exit 1)."""
        return self.hooks.pre_release(state) if self.hooks else None

    def started(self, state) -> None:
        self._each("started", lambda n: n.started(state))

    def phase_ended(self, state, result) -> None:
        self._each(f"phase {result.phase.value} ended", lambda n: n.phase_ended(state, result))

    def finished(self, state) -> None:
        self._each("finished", lambda n: n.finished(state))

    def _each(self, moment: str, fn: Callable[[Notifier], None]) -> None:
        if not self.notifiers:
            return
        from shipit.adapters.notify.http import ServiceError

        for n in self.notifiers:
            if n.kind in self._down:
                continue
            try:
                fn(n)
            except ServiceError as e:
                self._fail(n, moment, str(e))
            except Exception as e:  # a notifier's bug must not fail a release either
                self._fail(n, moment, f"{type(e).__name__}: {e}")

    def _fail(self, n: Notifier, moment: str, error: str) -> None:
        self._down.add(n.kind)
        failure = NotifyFailure(n.kind, moment, redact(error))
        self._failures.append(failure)
        log.warning("notification failed", kind=n.kind, moment=moment, error=failure.error)
