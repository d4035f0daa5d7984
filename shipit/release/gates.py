"""Health gates: HTTP checks, database health, metrics and error rates, before the code and during the bake.

Each gate is a probe (one HTTP request, one health sample, one PromQL query) plus its own pure decision over the
probes so far. HTTP and database gates pass after `consecutive` successes in a row and fail after `consecutive`
failures in a row, like a Kubernetes probe: one blip does not revert a release, a real outage does within a few
intervals. Metric and error-rate gates (`shipit.release.gate_kinds`, with the registry of every kind) carry their value
against their threshold.
The runner polls every gate in its own thread and returns the moment one fails, so the revert starts at once.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, Protocol, Sequence

from shipit.core import redact
from shipit.core.config import HttpGateConfig
from shipit.release.gate_result import GateReading, Observation


class Mode(str, enum.Enum):
    UNTIL = "until"  # before the code: wait until every gate passes
    KEEP = "keep"  # the bake: every gate must keep passing for the whole duration


class GateState(str, enum.Enum):
    WAITING = "waiting"
    PASSING = "passing"
    PASSED = "passed"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class Probe:
    ok: bool | None  # None: hold (degraded, keep waiting) -- neither a success nor a failure
    summary: str  # "HTTP 200 in 12 ms", "connection refused", "threads_running 83 > 50"
    at: float  # epoch seconds
    observed: Observation | None = None  # a valued gate's reading against its threshold


@dataclasses.dataclass(frozen=True)
class GateDecision:
    state: GateState
    reason: str


def decide(probes: Sequence[Probe], *, consecutive: int, mode: Mode) -> GateDecision:
    """Pure: the state of one gate after its probes so far (oldest first)."""
    n = max(1, consecutive)
    tail = probes[-n:]
    if len(tail) == n and all(p.ok is False for p in tail):
        return GateDecision(GateState.FAILED, f"{n} failure(s) in a row, last: {tail[-1].summary}")
    if mode is Mode.UNTIL:
        if len(tail) == n and all(p.ok is True for p in tail):
            return GateDecision(GateState.PASSED, f"{n} success(es) in a row")
        return GateDecision(GateState.WAITING, tail[-1].summary if tail else "no probe yet")
    return GateDecision(GateState.PASSING, tail[-1].summary if tail else "no probe yet")


class Gate(Protocol):
    name: str
    interval: float

    def probe(self) -> Probe: ...

    def decide(self, probes: Sequence[Probe], mode: Mode) -> GateDecision: ...


class Consecutive:
    """The rule of probe-like gates: `consecutive` results in a row decide."""

    consecutive: int

    def decide(self, probes: Sequence[Probe], mode: Mode) -> GateDecision:
        return decide(probes, consecutive=self.consecutive, mode=mode)


class HttpGate(Consecutive):
    """GET a URL and expect one status code; redirects are not followed, so a 302 to a login page is a failure."""

    def __init__(self, cfg: HttpGateConfig):
        self.cfg = cfg
        self.name = f"HTTP {cfg.url}"
        self.interval = cfg.interval
        self.consecutive = cfg.consecutive
        self._opener = urllib.request.build_opener(_NoRedirect)

    def probe(self) -> Probe:
        started = time.time()
        try:
            with self._opener.open(urllib.request.Request(self.cfg.url, method="GET"), timeout=self.cfg.timeout) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            return Probe(False, f"request failed: {reason}", started)
        ms = (time.time() - started) * 1000
        ok = status == self.cfg.expect_status
        summary = f"HTTP {status} in {ms:.0f} ms" + ("" if ok else f" (expected {self.cfg.expect_status})")
        return Probe(ok, summary, started)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class DbHealthGate(Consecutive):
    """Database health against the baseline taken before the release.

    `sample` returns (ok, one-line reason) with ok None for "hold": degraded but not critical, so the gate keeps
    waiting before the code and does not fail a bake; a critical reading (a new query pile-up) is a failure.
    """

    def __init__(self, sample: Callable[[], tuple[bool | None, str]], *, interval: float = 1.0, consecutive: int = 3):
        self.name = "database health"
        self.interval = interval
        self.consecutive = consecutive
        self._sample = sample

    def probe(self) -> Probe:
        at = time.time()
        try:
            ok, reason = self._sample()
        except Exception as e:  # an unreachable database is an unhealthy one
            ok, reason = False, f"health sample failed: {e}"
        return Probe(ok, reason, at)


def held_for(probes: Sequence[Probe]) -> float:
    """Pure: seconds the last outcome has lasted, from the first probe of the unbroken run ending with the last."""
    if not probes:
        return 0.0
    first = len(probes) - 1
    while first > 0 and probes[first - 1].ok is probes[-1].ok:
        first -= 1
    return probes[-1].at - probes[first].at


def reading_of(gate: str, probes: Sequence[Probe]) -> GateReading:
    """Pure: a gate's last reading (its probes so far, oldest first, at least one)."""
    last = probes[-1]
    return GateReading(gate, last.ok, last.summary, last.at, held_for(probes), last.observed)


@dataclasses.dataclass(frozen=True)
class GateReport:
    ok: bool
    mode: Mode
    failed: str | None = None  # gate name
    reason: str = ""
    probes: tuple[tuple[str, tuple[Probe, ...]], ...] = ()  # per gate, its last probes
    decided_at: float = 0.0  # when the runner knew the outcome (the benchmark measures revert latency from here)

    def readings(self) -> tuple[GateReading, ...]:
        """Each gate's last reading (a valued gate's against its threshold), for the record and the summary."""
        return tuple(reading_of(name, ps) for name, ps in self.probes if ps)

    def evidence(self, last: int = 5) -> tuple[str, ...]:
        lines = []
        for name, probes in self.probes:
            for p in probes[-last:]:
                stamp = time.strftime("%H:%M:%S", time.gmtime(p.at))
                mark = {True: "ok", False: "FAIL", None: "hold"}[p.ok]
                lines.append(f"{name} @ {stamp}: {mark} {p.summary}")
        return tuple(lines)


def run_gates(
    gates: Sequence[Gate],
    *,
    mode: Mode,
    duration: float,
    cancel: threading.Event | None = None,
    on_probe: Callable[[GateReading, GateDecision], None] | None = None,
) -> GateReport:
    """Poll every gate concurrently. UNTIL: pass when all passed, fail at the first failed gate or after `duration`.
    KEEP: fail at the first failed gate, pass when `duration` elapsed."""
    cancel = cancel or threading.Event()
    if not gates:
        return GateReport(True, mode, reason="no gates configured", decided_at=time.time())
    stop = threading.Event()
    lock = threading.Lock()
    history: dict[str, list[Probe]] = {g.name: [] for g in gates}
    outcome: dict[str, GateDecision] = {}
    changed = threading.Event()

    def poll(gate: Gate) -> None:
        while not stop.is_set():
            try:
                probe = gate.probe()
            except Exception as e:  # a probe that cannot even be made is a failed probe, never a silent thread death
                probe = Probe(False, f"probe failed: {redact.redact(f'{type(e).__name__}: {e}')}", time.time())
            with lock:
                history[gate.name].append(probe)
                decision = gate.decide(history[gate.name], mode)
                reading = reading_of(gate.name, history[gate.name])
            if on_probe:
                on_probe(reading, decision)
            if decision.state in (GateState.FAILED, GateState.PASSED):
                with lock:
                    outcome[gate.name] = decision
                changed.set()
                if decision.state is GateState.FAILED or mode is Mode.UNTIL:
                    return
            stop.wait(gate.interval)

    threads = [threading.Thread(target=poll, args=(g,), daemon=True, name=f"gate {g.name}") for g in gates]
    for t in threads:
        t.start()
    deadline = time.monotonic() + duration
    try:
        while True:
            with lock:
                failed = next(((n, d) for n, d in outcome.items() if d.state is GateState.FAILED), None)
                passed = sum(1 for d in outcome.values() if d.state is GateState.PASSED)
            if failed:
                return _report(False, mode, history, lock, failed[0], failed[1].reason)
            if mode is Mode.UNTIL and passed == len(gates):
                return _report(True, mode, history, lock, None, "all gates passed")
            remaining = deadline - time.monotonic()
            if cancel.is_set():
                return _report(False, mode, history, lock, "interrupted", "SIGINT or SIGTERM received")
            if remaining <= 0:
                if mode is Mode.KEEP:
                    with lock:
                        silent = [g.name for g in gates if not history[g.name]]
                    if silent:  # a gate that never answered has not kept passing
                        return _report(False, mode, history, lock, silent[0], f"no reading within {duration:g}s")
                    return _report(True, mode, history, lock, None, f"all gates kept passing for {duration:g}s")
                waiting = [g.name for g in gates if g.name not in outcome]
                return _report(False, mode, history, lock, waiting[0], f"did not pass within {duration:g}s")
            changed.wait(min(remaining, 0.05))
            changed.clear()
    finally:
        stop.set()


def _report(ok, mode, history, lock, failed, reason) -> GateReport:
    with lock:
        probes = tuple((name, tuple(ps)) for name, ps in history.items())
    return GateReport(ok, mode, failed, reason, probes, time.time())
