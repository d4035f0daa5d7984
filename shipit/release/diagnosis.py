"""The one failure type of a release: what failed, why, the evidence, what shipit did, what to do next.

The Kubernetes layer describes a failed pod or Job as a `kube.failure.Failure`; `from_failure` turns it into a
Diagnosis field by field (its evidence lines, never its rendered text).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """One failure explained for the one-screen diagnosis."""

    what: str
    why: str
    details: tuple[str, ...] = ()  # log tail, events, SQL error, partial-state lines
    did: str = ""
    next: str = ""

    def with_action(self, did: str, next: str) -> Diagnosis:
        return dataclasses.replace(self, did=did, next=next)

    def with_details(self, *lines: str) -> Diagnosis:
        return dataclasses.replace(self, details=self.details + tuple(lines))

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"details": list(self.details)}

    @classmethod
    def from_json(cls, data: dict) -> Diagnosis:
        return cls(**(data | {"details": tuple(data.get("details") or ())}))


def from_failures(failures, what: str) -> Diagnosis:
    """The diagnosis of a watch that ended in these `kube.failure.Failure`s: led by the first, all their evidence."""
    if not failures:
        return Diagnosis(what, "no failure details were reported")
    first = failures[0]
    return Diagnosis(f"{what}: {first.what}", first.why, details=tuple(line for f in failures for line in f.evidence()))


class PhaseFailed(Exception):
    """The one way a step or a port reports a failure: the diagnosis, and whether the failing work left state behind."""

    def __init__(self, diagnosis: Diagnosis, *, applied: bool = False, gates: tuple = ()):
        super().__init__(diagnosis.what)
        self.diagnosis = diagnosis
        self.applied = applied
        self.gates = gates  # a gate phase's last readings (release.gate_result.GateReading), kept on its record
