"""Gates: the pure decision, and the runner with no gates (over real HTTP: tests/integration/release)."""

from __future__ import annotations

from shipit.release.gates import GateState, Mode, Probe, decide, run_gates


def p(ok: bool) -> Probe:
    return Probe(ok, "HTTP 200" if ok else "HTTP 500", 0.0)


def test_decide_until_needs_consecutive_successes():
    assert decide([], consecutive=3, mode=Mode.UNTIL).state is GateState.WAITING
    assert decide([p(True), p(False), p(True), p(True)], consecutive=3, mode=Mode.UNTIL).state is GateState.WAITING
    assert decide([p(False), p(True), p(True), p(True)], consecutive=3, mode=Mode.UNTIL).state is GateState.PASSED


def test_decide_fails_after_consecutive_failures_in_both_modes():
    for mode in Mode:
        assert decide([p(False), p(False)], consecutive=3, mode=mode).state is not GateState.FAILED
        d = decide([p(True), p(False), p(False), p(False)], consecutive=3, mode=mode)
        assert d.state is GateState.FAILED and "HTTP 500" in d.reason
    assert decide([p(False), p(True)], consecutive=2, mode=Mode.KEEP).state is GateState.PASSING


def test_hold_neither_passes_nor_fails():
    hold = Probe(None, "Threads_running 30 > 25", 0.0)
    assert decide([hold] * 5, consecutive=3, mode=Mode.UNTIL).state is GateState.WAITING
    assert decide([p(True), p(True), hold], consecutive=3, mode=Mode.UNTIL).state is GateState.WAITING
    assert decide([hold] * 5, consecutive=3, mode=Mode.KEEP).state is GateState.PASSING


def test_no_gates_pass_immediately():
    assert run_gates([], mode=Mode.UNTIL, duration=1).ok


class _Raising:
    """A gate whose probe raises what a malformed URL or a client bug raises, on every attempt."""

    name, interval = "HTTP http://exa mple/healthz", 0.01

    def probe(self) -> Probe:
        raise ValueError("URL can't contain control characters")

    def decide(self, probes, mode):
        return decide(probes, consecutive=2, mode=mode)


class _Silent:
    """A gate whose first probe never returns within the run (a hung request)."""

    name, interval = "metric slow", 0.01

    def __init__(self):
        import threading
        self.release = threading.Event()

    def probe(self) -> Probe:
        self.release.wait(5)
        return p(True)

    def decide(self, probes, mode):
        return decide(probes, consecutive=1, mode=mode)


def test_a_probe_that_raises_is_a_failed_probe_naming_the_error_in_both_modes():
    for mode in Mode:
        report = run_gates([_Raising()], mode=mode, duration=5)
        assert not report.ok and report.failed == _Raising.name
        assert "probe failed: ValueError: URL can't contain control characters" in report.reason


def test_the_bake_does_not_pass_a_gate_that_never_answered():
    silent = _Silent()
    try:
        report = run_gates([silent], mode=Mode.KEEP, duration=0.2)
    finally:
        silent.release.set()
    assert not report.ok and report.failed == "metric slow" and report.reason == "no reading within 0.2s"
