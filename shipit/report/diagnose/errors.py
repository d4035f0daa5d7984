"""Error tracker section: the errors per minute in Rollbar or Sentry since the last release against the hour before,
read with the error-rate gate's REST clients and judged by its rule. Each request gets one try within the time left,
so the section answers or is skipped with its reason inside `shipit diagnose`'s budget."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx

from shipit.adapters.notify.http import ServiceError
from shipit.core.errors import ShipitError
from shipit.release.gate_kinds import BASELINE, ERROR_PROVIDERS, error_rate_probe
from shipit.release.gates import Probe
from shipit.report.diagnose.findings import Finding, Kind, Section, SectionResult

NOT_CONFIGURED = "no error tracker configured (gates.errors): not read"


@dataclasses.dataclass(frozen=True)
class ErrorsRead:
    provider: str
    since: float  # epoch seconds the rate counts from
    since_what: str  # "release r0007" or "the --since window"
    probe: Probe


def release_start(facts: Any, window: float, now: float) -> tuple[float, str]:
    """Pure: the last release's start when shipit recorded one, else the start of the --since window, saying why."""
    from datetime import datetime

    record = facts.record if facts is not None else None
    if record is not None and record.started:
        return datetime.fromisoformat(record.started.replace("Z", "+00:00")).timestamp(), f"release {record.id}"
    why = "no release recorded" if facts is not None else "the release record was not read in time"
    return now - window, f"the --since window ({why})"


def probe(cfg: Any, *, since: float, since_what: str, timeout: float, now: float | None = None) -> ErrorsRead:
    """Two counts (the hour before, and since), one try each of at most `timeout` seconds."""
    now = time.time() if now is None else now
    provider = ERROR_PROVIDERS[cfg.provider](cfg)
    try:
        with httpx.Client(timeout=timeout) as client:
            before = provider.errors(client, since - BASELINE, since, attempts=1)
            after = provider.errors(client, since, now, attempts=1)
    except ServiceError as e:
        raise ShipitError(f"{cfg.provider.value}: {e}") from e
    return ErrorsRead(cfg.provider.value, since, since_what,
                      error_rate_probe(after, before, threshold=cfg.threshold, ratio=cfg.ratio, at=now))


def verdict(read: ErrorsRead) -> SectionResult:
    """Pure: an error rate above the gate's threshold and ratio since the release is a finding."""
    p = read.probe
    lines = [f"{read.provider}: {p.summary}", f"counted since {read.since_what} "
             f"({time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(read.since))})"]
    findings = [] if p.ok else [Finding(
        Kind.ERROR_RATE, f"{read.provider}: error rate {p.observed} since {read.since_what}", (p.summary,),
        subject=read.provider, count=round(p.observed.value or 0))]
    data = {"provider": read.provider, "since": read.since, "since_what": read.since_what, "ok": p.ok,
            "observed": p.observed.to_json()}
    return SectionResult.of(Section.ERRORS, lines, findings, data)


def not_configured() -> SectionResult:
    return SectionResult.of(Section.ERRORS, [NOT_CONFIGURED], [], {"provider": None}, note="not configured")
