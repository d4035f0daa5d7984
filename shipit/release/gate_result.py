"""What a gate saw last: kept on the gate phases of the record and shown by the live view and the summary.

A valued gate (a metric, an error rate) carries an `Observation`: its value against its threshold, or why no value
could be read. Every gate's last reading says how long its outcome has held without a break.
"""

from __future__ import annotations

import dataclasses
import enum


class Bound(str, enum.Enum):
    MAX = "max"
    MIN = "min"

    def holds(self, value: float, limit: float) -> bool:
        return value <= limit if self is Bound.MAX else value >= limit

    def sign(self, holds: bool) -> str:
        return {(Bound.MAX, True): "<=", (Bound.MAX, False): ">", (Bound.MIN, True): ">=",
                (Bound.MIN, False): "<"}[(self, holds)]


def number(x: float, unit: str = "") -> str:
    """A reading as people read it: rates per minute to two decimals, anything else to four significant digits."""
    return (f"{x:.2f}" if unit == "/min" else f"{x:.4g}") + unit


@dataclasses.dataclass(frozen=True)
class Observation:
    """One reading of a valued gate against its threshold, or why there is none."""

    bound: Bound
    threshold: float
    value: float | None = None  # None: the provider could not be read
    unit: str = ""  # "/min" for error rates
    inconclusive: str = ""  # why there is no value
    context: str = ""  # what else the gate's rule weighed ("vs 0.10/min the hour before, fails above 3x")

    @property
    def comparison(self) -> str:
        """The side of the threshold the value is on ("<=", ">", ">=", "<"); "" without a value."""
        return "" if self.value is None else self.bound.sign(self.bound.holds(self.value, self.threshold))

    def __str__(self) -> str:
        limit = number(self.threshold, self.unit)
        if self.value is None:
            return f"inconclusive: {self.inconclusive} (threshold {self.bound.value} {limit})"
        return f"{number(self.value, self.unit)} {self.comparison} {limit}" + (f" ({self.context})" if self.context else "")

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"bound": self.bound.value, "comparison": self.comparison}

    @classmethod
    def from_json(cls, data: dict) -> Observation:
        return cls(Bound(data["bound"]), float(data["threshold"]), data.get("value"), data.get("unit", ""),
                   data.get("inconclusive", ""), data.get("context", ""))


@dataclasses.dataclass(frozen=True)
class GateReading:
    """A gate's last reading, and how long its outcome (within bounds, out of bounds, holding) lasted so far."""

    gate: str
    ok: bool | None  # None: degraded, neither a pass nor a failure
    summary: str  # the gate kind's own words ("HTTP 200 in 3 ms", "threads_running 83 > 50")
    at: float  # epoch seconds of the reading
    held_s: float = 0.0
    observed: Observation | None = None

    @property
    def inconclusive(self) -> bool:
        return self.observed is not None and self.observed.value is None

    def describe(self) -> str:
        """`0.31/min <= 1/min, held 45s`: the value against the threshold (or the gate's summary) and for how long."""
        what = str(self.observed) if self.observed is not None else self.summary
        if self.inconclusive:
            return f"{what}; counted as {'a pass' if self.ok else 'a failure'}"
        held = {True: "held", False: "failing for", None: "degraded for"}[self.ok]
        return f"{what}, {held} {self.held_s:.0f}s"

    def __str__(self) -> str:
        return f"{self.gate}: {self.describe()}"

    def to_json(self) -> dict:
        return {"gate": self.gate, "ok": self.ok, "summary": self.summary, "at": self.at,
                "held_s": round(self.held_s, 3), "observed": self.observed.to_json() if self.observed else None}

    @classmethod
    def from_json(cls, data: dict) -> GateReading:
        observed = data.get("observed")
        return cls(data["gate"], data.get("ok"), data.get("summary", ""), float(data.get("at") or 0.0),
                   float(data.get("held_s") or 0.0), Observation.from_json(observed) if observed else None)
