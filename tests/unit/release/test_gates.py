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
