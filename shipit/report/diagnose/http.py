"""HTTP section: each configured HTTP gate probed once now, with a bounded timeout (the error tracker's rate is the
section of `errors.py`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from shipit.report.diagnose.findings import Finding, Kind, Section, SectionResult
from shipit.release.gates import HttpGate, Probe

def probe(gates: tuple[Any, ...], *, timeout: float) -> tuple[tuple[str, Probe], ...]:
    return tuple((g.url, HttpGate(dataclasses.replace(g, timeout=min(g.timeout, timeout))).probe()) for g in gates)


def verdict(probes: tuple[tuple[str, Probe], ...]) -> SectionResult:
    """Pure: a gate that does not answer as configured is a finding."""
    lines = [f"{url}: {p.summary}" for url, p in probes] or ["no HTTP gates configured"]
    findings = [Finding(Kind.HTTP_FAILING, f"{url}: {p.summary}", subject=url) for url, p in probes if not p.ok]
    data = {"gates": [{"url": url, "ok": p.ok, "summary": p.summary} for url, p in probes]}
    return SectionResult.of(Section.HTTP, lines, findings, data)
