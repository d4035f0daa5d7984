"""Live view: plain lines off a terminal, a rich panel on one (rendered into a file-backed fake terminal)."""

from __future__ import annotations

import io

from shipit.report.live import PlainView, RichView, make_view
from shipit.release.phases import Phase, PhaseResult, PhaseStatus


def test_plain_view_writes_one_line_per_event():
    out = io.StringIO()
    view = make_view(out)
    assert type(view) is PlainView
    view.phase_started(Phase.MIGRATE)
    view.line("migration", "== 20240101000000 AddIndex: migrating")
    view.progress("index_orders_on_customer_id on primary: 42% ETA 3s")
    view.phase_ended(PhaseResult(Phase.MIGRATE, PhaseStatus.SUCCEEDED, 10.0, 12.5, "applied 1"))
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("==> Migrate (pre-deploy)")
    assert lines[1].endswith("[migration] == 20240101000000 AddIndex: migrating")
    assert "42% ETA 3s" in lines[2]
    assert lines[3].endswith("<== Migrate (pre-deploy): succeeded in 2.5s applied 1")


class FakeTty(io.StringIO):
    def isatty(self):
        return True


def test_rich_view_on_a_terminal_prints_finished_phases():
    out = FakeTty()
    view = make_view(out)
    assert isinstance(view, RichView)
    view.phase_started(Phase.CODE)
    view.line("rollout", "web 1/2 updated")
    view.phase_ended(PhaseResult(Phase.CODE, PhaseStatus.FAILED, 1.0, 3.0, "web: [CrashLoopBackOff]"))
    view.close()
    assert "Code rollout 2.0s  web: [CrashLoopBackOff]" in out.getvalue()


def test_json_log_format_makes_every_view_event_a_json_line(capsys):
    import json

    from shipit.report.live import JsonView
    from shipit.core.log import LogFormat, configure, current_format

    configure(LogFormat.JSON)
    try:
        assert current_format() is LogFormat.JSON
        view = make_view()
        assert isinstance(view, JsonView)
        view.phase_started(Phase.MIGRATE)
        view.line("migrate", "== 1 CreateUsers: migrating")
        view.progress("web: 1/2 updated")
        view.phase_ended(PhaseResult(Phase.MIGRATE, PhaseStatus.SUCCEEDED, 1.0, 2.5, "applied 1"))
        events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        configure(LogFormat.CONSOLE)
    assert [e["event"] for e in events] == ["phase started", "output", "progress", "phase ended"]
    assert events[1]["line"] == "== 1 CreateUsers: migrating"
    assert events[3]["status"] == "succeeded" and events[3]["duration_s"] == 1.5
