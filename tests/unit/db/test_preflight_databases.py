"""One preflight report over several databases: every finding names the database it came from."""

from __future__ import annotations

from shipit.db.preflight import PreflightReport
from shipit.db.preflight_databases import DatabasesPreflight
from shipit.db.risks import Risk, RiskKind


def _report(server: str, *risks: Risk, pending: tuple[str, ...] = ()) -> PreflightReport:
    return PreflightReport(server, pending, (), risks, (), (), 0.1)


LONG_TRX = Risk(RiskKind.LONG_TRANSACTION, "a transaction open for 120s on jobs (connection 7)", True)


def test_a_primary_only_report_reads_as_before():
    only = _report("primary", pending=("1",))
    report = DatabasesPreflight((("primary", only),))
    assert report.render_text() == only.render_text() and report.to_json() == only.to_json()


def test_another_databases_findings_are_named_by_it():
    report = DatabasesPreflight((("primary", _report("primary", pending=("1",))),
                                 ("queue", _report("queue:primary", LONG_TRX, pending=("2",)))))
    assert not report.ok and report.pending == ("1", "2")
    assert report.blocking_reasons == ("database queue: a transaction open for 120s on jobs (connection 7)",)
    text = report.render_text().splitlines()
    assert text[:2] == ["Preflight BLOCKED: the release must not proceed.",
                        "  - database queue: a transaction open for 120s on jobs (connection 7)"]
    assert "Database primary:" in text and "Database queue:" in text
    assert text[text.index("Database queue:") + 1] == "  Pending migrations: 2"
    assert [d["database"] for d in report.to_json()["databases"]] == ["primary", "queue"]
