"""Gate kinds beyond HTTP: a Prometheus metric held within a bound, and the error rate in Rollbar or Sentry.

Each kind knows its own rule and message; `GATE_KINDS` maps a configuration key to the gates it builds, so the
edges ask for `configured_gates(cfg.gates, ...)` and never branch on kinds. A provider that cannot be read (down,
timing out, refusing the token, answering nonsense) makes the reading inconclusive, and `gates.on_inconclusive`
turns that into a failing reading (default) or a passing one, always saying so.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import TYPE_CHECKING, Callable, Sequence

from shipit.adapters.notify.http import ServiceError, call, json_of, new_client
from shipit.core.config import GatesConfig
from shipit.core.config_integrations import ErrorGateConfig, ErrorProvider, Inconclusive, MetricGateConfig
from shipit.release.gate_result import Bound, Observation, number
from shipit.release.gates import Consecutive, Gate, GateDecision, GateState, HttpGate, Mode, Probe, held_for

if TYPE_CHECKING:
    import httpx

BASELINE = 3600.0  # the error rate since the release is compared with this long before it


@dataclasses.dataclass(frozen=True)
class Threshold:
    bound: Bound
    limit: float

    @classmethod
    def of(cls, cfg: MetricGateConfig) -> Threshold:
        return cls(Bound.MAX, cfg.max) if cfg.max is not None else cls(Bound.MIN, cfg.min)

    def holds(self, value: float) -> bool:
        return self.bound.holds(value, self.limit)


def metric_probe(name: str, value: float, threshold: Threshold, at: float) -> Probe:
    """Pure: one metric reading judged against its threshold."""
    observed = Observation(threshold.bound, threshold.limit, value)
    return Probe(threshold.holds(value), f"{name} {observed}", at, observed)


def inconclusive_probe(why: str, policy: Inconclusive, at: float, bound: Bound, limit: float, unit: str = "") -> Probe:
    """Pure: a reading that could not be taken counts as `policy` says, and says it was inconclusive."""
    observed = Observation(bound, limit, None, unit, inconclusive=why)
    return Probe(policy is Inconclusive.PASS, f"inconclusive ({why}); on_inconclusive: {policy.value}", at, observed)


def decide_held(probes: Sequence[Probe], *, hold: float, mode: Mode) -> GateDecision:
    """Pure: a metric gate. Before the code it passes once within bounds for `hold` seconds without a break, and
    fails once out of bounds that long; during the bake every reading must be within bounds."""
    if not probes:
        return GateDecision(GateState.WAITING, "no reading yet")
    last = probes[-1]
    if mode is Mode.KEEP:
        if last.ok is False:
            return GateDecision(GateState.FAILED, last.summary)
        return GateDecision(GateState.PASSING, last.summary)
    held = held_for(probes)
    if held >= hold and last.ok is not None:
        if last.ok:
            return GateDecision(GateState.PASSED, f"{last.summary}, held {held:.0f}s")
        return GateDecision(GateState.FAILED, f"{last.summary}, for {held:.0f}s")
    return GateDecision(GateState.WAITING, f"{last.summary} ({held:.0f}s of {hold:g}s)")


@dataclasses.dataclass(frozen=True)
class ErrorWindow:
    errors: float
    seconds: float

    @property
    def per_minute(self) -> float:
        return self.errors / max(self.seconds / 60.0, 1.0)  # under a minute counts as one: no 60/min from 1 error


def error_rate_probe(since: ErrorWindow, before: ErrorWindow, *, threshold: float, ratio: float, at: float) -> Probe:
    """Pure: failing when the errors per minute since the release exceed `threshold` AND `ratio` times the rate of the
    hour before; either alone is noise (a quiet app's 1 error is an infinite ratio; a busy app's usual rate is high)."""
    rate, base = since.per_minute, before.per_minute
    ok = not (rate > threshold and rate > ratio * base)
    then = f"{number(base, '/min')} the hour before" if before.seconds else "no count for the hour before (0/min taken)"
    observed = Observation(Bound.MAX, threshold, rate, "/min", context=f"vs {then}; fails above {ratio:g}x it too")
    summary = f"{rate:.2f} errors/min since the release vs {then} (max {threshold:g}/min and {ratio:g}x the hour before)"
    return Probe(ok, summary, at, observed)


# --- providers (I/O) ------------------------------------------------------------------------------------------------


def prometheus_value(client: httpx.Client, base_url: str, query: str, *, attempts: int = 3) -> float:
    """The value of an instant PromQL query: a scalar or a one-series vector. ServiceError otherwise."""
    r = call(client, "GET", f"{base_url.rstrip('/')}/api/v1/query", params={"query": query}, attempts=attempts)
    body = json_of(r)
    if not isinstance(body, dict) or body.get("status") != "success":
        raise ServiceError(f"Prometheus: {body.get('error', body) if isinstance(body, dict) else body}")
    data = body.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        sample = result
    elif kind == "vector" and isinstance(result, list):
        if len(result) != 1:
            raise ServiceError(f"query returned {len(result)} series; aggregate it to one (sum, max)")
        sample = result[0].get("value")
    else:
        raise ServiceError(f"query returned a {kind}, expected a scalar or one series")
    value = float(sample[1])
    if math.isnan(value):
        raise ServiceError("query returned NaN (no traffic to divide by?)")
    return value


class _Rollbar:
    """Occurrence counts in one-minute buckets (GET /api/1/reports/occurrence_counts, read-scope token). Rollbar
    returns only the recent buckets (60 at most), so a window counts over the part of it they cover."""

    def __init__(self, cfg: ErrorGateConfig):
        self.cfg = cfg
        self.url = (cfg.api_url or "https://api.rollbar.com").rstrip("/") + "/api/1/reports/occurrence_counts"

    def errors(self, client: httpx.Client, start: float, end: float, *, attempts: int = 3) -> ErrorWindow:
        params = {"bucket_size": 60, "buckets": 60, "min_level": "error"}
        if self.cfg.environment:
            params["environments"] = self.cfg.environment
        body = json_of(call(client, "GET", self.url, params=params, headers={"X-Rollbar-Access-Token": self.cfg.token},
                            attempts=attempts))
        if not isinstance(body, dict) or body.get("err") != 0 or not isinstance(body.get("result"), list):
            raise ServiceError(f"Rollbar: unexpected answer {str(body)[:120]}")
        return window_of(body["result"], start, end, bucket=60)


class _Sentry:
    """Events received by one project in 10-second buckets (GET /api/0/projects/{org}/{project}/stats/,
    project:read token)."""

    def __init__(self, cfg: ErrorGateConfig):
        self.cfg = cfg
        base = (cfg.api_url or "https://sentry.io").rstrip("/")
        self.url = f"{base}/api/0/projects/{cfg.organization}/{cfg.project}/stats/"

    def errors(self, client: httpx.Client, start: float, end: float, *, attempts: int = 3) -> ErrorWindow:
        params = {"stat": "received", "since": int(start), "until": int(end), "resolution": "10s"}
        body = json_of(call(client, "GET", self.url, params=params, headers={"Authorization": f"Bearer {self.cfg.token}"},
                            attempts=attempts))
        if not isinstance(body, list):
            raise ServiceError(f"Sentry: unexpected answer {str(body)[:120]}")
        return window_of(body, start, end, bucket=10)


def window_of(buckets: list, start: float, end: float, *, bucket: float) -> ErrorWindow:
    """Pure: the errors in [start, end) from [bucket start, count] pairs, over the part of the window they cover
    (a bucket counts when it overlaps the window)."""
    inside = [(t, n) for t, n in buckets if t + bucket > start and t < end]
    if not inside:
        return ErrorWindow(0.0, 0.0)
    covered = min(end, inside[-1][0] + bucket) - max(start, inside[0][0])
    return ErrorWindow(float(sum(n for _, n in inside)), max(0.0, covered))


ERROR_PROVIDERS: dict[ErrorProvider, Callable[[ErrorGateConfig], _Rollbar | _Sentry]] = {
    ErrorProvider.ROLLBAR: _Rollbar,
    ErrorProvider.SENTRY: _Sentry,
}


# --- gates ------------------------------------------------------------------------------------------------------------


class MetricGate:
    """A PromQL query held within a bound (`gates.metrics[]`)."""

    def __init__(self, cfg: MetricGateConfig, policy: Inconclusive, *, clock: Callable[[], float] = time.time):
        self.cfg, self.policy, self.clock = cfg, policy, clock
        self.name = f"metric {cfg.name}"
        self.interval = cfg.interval
        self.threshold = Threshold.of(cfg)
        self._client = new_client(cfg.timeout)

    def probe(self) -> Probe:
        at = self.clock()
        try:
            value = prometheus_value(self._client, self.cfg.prometheus, self.cfg.query)
        except ServiceError as e:
            return inconclusive_probe(str(e), self.policy, at, self.threshold.bound, self.threshold.limit)
        return metric_probe(self.cfg.name, value, self.threshold, at)

    def decide(self, probes: Sequence[Probe], mode: Mode) -> GateDecision:
        return decide_held(probes, hold=self.cfg.hold, mode=mode)


class ErrorRateGate(Consecutive):
    """Errors per minute since the release started against the hour before it (`gates.errors`). The rate since
    the release is already an average, so one reading decides (consecutive 1)."""

    consecutive = 1

    def __init__(self, cfg: ErrorGateConfig, policy: Inconclusive, *, release_started: float,
                 clock: Callable[[], float] = time.time):
        self.cfg, self.policy, self.started, self.clock = cfg, policy, release_started, clock
        self.name = f"error rate ({cfg.provider.value})"
        self.interval = cfg.interval
        self.provider = ERROR_PROVIDERS[cfg.provider](cfg)
        self._client = new_client(cfg.timeout)
        self._before: ErrorWindow | None = None  # the hour before does not change: read once

    def probe(self) -> Probe:
        at = self.clock()
        try:
            if self._before is None:
                self._before = self.provider.errors(self._client, self.started - BASELINE, self.started)
            since = self.provider.errors(self._client, self.started, at)
        except ServiceError as e:
            return inconclusive_probe(str(e), self.policy, at, Bound.MAX, self.cfg.threshold, "/min")
        return error_rate_probe(since, self._before, threshold=self.cfg.threshold, ratio=self.cfg.ratio, at=at)


@dataclasses.dataclass(frozen=True)
class GateContext:
    release_started: float  # epoch seconds: the error-rate window starts here


GATE_KINDS: dict[str, Callable[[GatesConfig, GateContext], list[Gate]]] = {
    "http": lambda g, ctx: [HttpGate(h) for h in g.http],
    "metrics": lambda g, ctx: [MetricGate(m, g.on_inconclusive) for m in g.metrics],
    "errors": lambda g, ctx: (
        [ErrorRateGate(g.errors, g.on_inconclusive, release_started=ctx.release_started)] if g.errors else []
    ),
}


def configured_gates(gates: GatesConfig, *, release_started: float) -> list[Gate]:
    """Every gate the configuration asks for, in GATE_KINDS order (the database health gate is the edges' own)."""
    ctx = GateContext(release_started)
    return [gate for build in GATE_KINDS.values() for gate in build(gates, ctx)]
