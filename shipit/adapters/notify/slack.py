"""Slack: one message per release, edited as phases end, and the diagnosis in its thread when the release fails."""

from __future__ import annotations

import urllib.error

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from shipit.adapters.notify.base import Notifier
from shipit.adapters.notify.http import ServiceError, Transient, guarded
from shipit.core.config_integrations import SlackNotify
from shipit.core.redact import redact
from shipit.release.phases import PhaseStatus, ReleaseStatus

_MARKS = {PhaseStatus.SUCCEEDED: "ok", PhaseStatus.FAILED: "FAILED", PhaseStatus.SKIPPED: "skipped",
          PhaseStatus.RUNNING: "running"}


def message_text(state) -> str:
    """Pure: the release's one message: the headline, then one line per phase so far."""
    from shipit.report.summary import headline

    lines = [f"*{headline(state)}*", "```"]
    for r in state.phases:
        took = "" if r.duration is None else f" {r.duration:.1f}s"
        lines.append(f"{r.phase.title:<24} {_MARKS[r.status]:<8}{took}  {r.message}".rstrip())
    lines.append("```")
    return redact("\n".join(lines))


def diagnosis_text(state) -> str:
    """Pure: the failure explained for the thread: what, why, evidence (first lines), what shipit did, what next."""
    d = state.diagnosis
    lines = [f"*What failed:* {d.what}", f"*Why:* {d.why}"]
    if d.details:
        lines += ["```", *d.details[:15], "```"]
    lines += [f"*shipit did:* {d.did}" if d.did else "", f"*Next:* {d.next}" if d.next else ""]
    return redact("\n".join(line for line in lines if line))


class SlackNotifier(Notifier):
    kind = "slack"

    def __init__(self, cfg: SlackNotify, *, timeout: float, attempts: int):
        self.cfg, self.timeout, self.attempts = cfg, timeout, attempts
        # retries are tenacity's (guarded), not the SDK's own handlers
        self.client = WebClient(token=cfg.token, base_url=cfg.api_url, timeout=max(1, int(timeout)), retry_handlers=[])
        self.ts: str | None = None  # the release's message
        self.channel = cfg.channel

    def _api(self, method: str, **kwargs) -> dict:
        def once() -> dict:
            try:
                return getattr(self.client, method)(**kwargs).data
            except SlackApiError as e:
                status, error = e.response.status_code, e.response.get("error", "")
                if status == 429 or status >= 500 or error in ("ratelimited", "service_unavailable", "fatal_error"):
                    raise Transient(f"Slack {method}: {error or status}") from None
                raise ServiceError(f"Slack {method}: {error or status}") from None
            except (urllib.error.URLError, OSError) as e:
                raise Transient(f"Slack {method}: cannot reach {self.cfg.api_url}: {e}") from None

        return guarded(once, attempts=self.attempts, timeout=self.timeout)

    def started(self, state) -> None:
        answer = self._api("chat_postMessage", channel=self.channel, text=message_text(state))
        self.ts, self.channel = answer["ts"], answer.get("channel", self.channel)  # updates need the channel ID

    def phase_ended(self, state, result) -> None:
        if self.ts is not None:
            self._api("chat_update", channel=self.channel, ts=self.ts, text=message_text(state))

    def finished(self, state) -> None:
        if self.ts is None:
            self.started(state)
        else:
            self._api("chat_update", channel=self.channel, ts=self.ts, text=message_text(state))
        if state.diagnosis is not None and state.status is not ReleaseStatus.SUCCEEDED:
            self._api("chat_postMessage", channel=self.channel, thread_ts=self.ts, text=diagnosis_text(state))
