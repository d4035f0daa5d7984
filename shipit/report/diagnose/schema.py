"""Schema drift section: the serving commit's schema file and migrations against the live schema on every server.

The reading and the comparison are `shipit.db.drift`'s; this section turns what the code depends on into findings,
one per object with the servers it is missing on.
"""

from __future__ import annotations

from shipit.db.drift import DriftKind, DriftReport
from shipit.report.diagnose.findings import Finding, Kind, Section, SectionResult


def verdict(report: DriftReport) -> SectionResult:
    """Pure: blocking drift as findings (missing objects, pending versions); the rest as lines."""
    grouped: dict[tuple, list[str]] = {}
    for d in report.blocking:
        grouped.setdefault((d.kind, d.table, d.name, d.expected, d.found, d.describe()), []).append(d.server)
    findings = []
    for (kind, table, name, expected, _found, text), servers in grouped.items():
        pending = kind is DriftKind.PENDING_VERSION
        findings.append(Finding(Kind.PENDING_MIGRATION if pending else Kind.MISSING_SCHEMA,
                                f"{text} on {', '.join(servers)}", (f"declared in {report.source} at "
                                                                      f"{report.commit[:12]}",),
                                table="" if pending else table, subject=name, columns=expected,
                                server=", ".join(servers)))
    lines = report.render_text().splitlines()
    errors = "; ".join(f"{s.server}: {s.error}" for s in report.servers if s.error)
    return SectionResult.of(Section.DRIFT, lines, findings, report.to_json(), errors)
