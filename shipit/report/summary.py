"""The end-of-run summary: every phase with its duration, the gate phases' last readings (each gate's value against
its threshold), and on failure the one-screen diagnosis.

Three renderings of the same `ReleaseState`: text for a person, one JSON object for machines, and Markdown appended
to `$GITHUB_STEP_SUMMARY` so the CI run page tells the story without opening the log.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

from shipit.release.phases import Phase, PhaseResult, PhaseStatus, ReleaseStatus
from shipit.core.redact import redact
from shipit.release.state import ReleaseState
from shipit.report.terminal import Terminal, isatty

_HEADLINES = {
    ReleaseStatus.SUCCEEDED: "released",
    ReleaseStatus.FAILED: "FAILED, nothing the previous code cannot run with was changed",
    ReleaseStatus.REVERTED: "FAILED and REVERTED: the previous code is serving",
    ReleaseStatus.NEEDS_ATTENTION: "FAILED, NEEDS A PERSON",
    ReleaseStatus.RUNNING: "still running (interrupted?)",
    ReleaseStatus.ROLLED_BACK: "rolled back",
}
_MARKS = {
    PhaseStatus.SUCCEEDED: "ok",
    PhaseStatus.FAILED: "FAILED",
    PhaseStatus.SKIPPED: "skipped",
    PhaseStatus.RUNNING: "running",
}
_PHASE_STYLES = {PhaseStatus.SUCCEEDED: "green", PhaseStatus.FAILED: "red", PhaseStatus.SKIPPED: "yellow"}
_RELEASE_STYLES = {
    ReleaseStatus.SUCCEEDED: "green",
    ReleaseStatus.FAILED: "red",
    ReleaseStatus.NEEDS_ATTENTION: "red",
    ReleaseStatus.REVERTED: "yellow",
    ReleaseStatus.ROLLED_BACK: "yellow",
}


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def _stamp(epoch: float | None) -> str:
    return "-" if epoch is None else time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


def _status_line(state: ReleaseState) -> str:
    code = state.phase(Phase.CODE)
    if state.status is ReleaseStatus.FAILED and code is not None and code.status is PhaseStatus.SUCCEEDED:
        # failed after the rollout (a post-deploy migration that applied nothing): the new code stays, verified
        return "FAILED after the new code went out; it stays deployed"
    migrate = state.phase(Phase.MIGRATE)
    if state.status is ReleaseStatus.FAILED and (migrate is None or migrate.status is not PhaseStatus.SUCCEEDED):
        return "FAILED before changing anything"  # stopped in plan, lock or preflight, or a migration applied nothing
    return _HEADLINES[state.status]


def headline(state: ReleaseState) -> str:
    # a running (or crashed) release has no exit code yet: "exit 0" would read as success
    outcome = f", exit {state.exit_code}" if state.status is not ReleaseStatus.RUNNING else ""
    return (
        f"shipit {state.app} {state.id}: {_status_line(state)} "
        f"({state.from_sha[:7]}..{state.to_sha[:7]}, {_dur(state.duration)}{outcome})"
    )


EVIDENCE_HEAD = 8
EVIDENCE_TAIL = 24


# Pod events that only retell a start: noise once the container started and then crashed.
ROUTINE_EVENTS = ("Scheduled", "Pulling", "Pulled", "Created")
_STARTED = ("Normal Started:", "Warning BackOff:", "state CrashLoopBackOff", "state Error")


def _event_reason(line: str) -> str | None:
    """ "Normal Pulling: Pulling image ..." -> "Pulling"; None for a line that is not a pod event."""
    kind, _, rest = line.strip().partition(" ")
    if kind not in ("Normal", "Warning") or ":" not in rest:
        return None
    return rest.split(":", 1)[0]


def trim_events(details: tuple[str, ...]) -> tuple[str, ...]:
    """Pure: without the routine Normal events (scheduled, pulling, pulled, created) when the container started and
    then failed: the evidence that helps is its exit, its log and the warnings. An image that never started keeps
    them all (a slow or failed pull is the story there)."""
    if not any(marker in line for line in details for marker in _STARTED):
        return details
    kept = [line for line in details
            if not (line.strip().startswith("Normal ") and _event_reason(line) in ROUTINE_EVENTS)]
    # an "events:" heading left with no event under it goes too
    return tuple(line for i, line in enumerate(kept)
                 if not (line.strip() == "events:" and (i + 1 == len(kept) or _event_reason(kept[i + 1]) is None)))


def evidence(details: tuple[str, ...]) -> list[str]:
    """At most one screen of evidence: the start (the failure's own summary line) and the end (log tail, events,
    partial state), never a middle that pushes both off the screen; routine pod events left out (trim_events)."""
    details = trim_events(tuple(details))
    if len(details) <= EVIDENCE_HEAD + EVIDENCE_TAIL:
        return list(details)
    skipped = len(details) - EVIDENCE_HEAD - EVIDENCE_TAIL
    return [*details[:EVIDENCE_HEAD], f"... ({skipped} lines omitted)", *details[-EVIDENCE_TAIL:]]


def _ordered(phases: tuple[PhaseResult, ...]) -> list[PhaseResult]:
    order = list(Phase)
    return sorted(phases, key=lambda r: order.index(r.phase))


def _phase_rows(r: PhaseResult, term: Terminal) -> list[str]:
    line = term.fit(redact(f"  {r.phase.title:<24} {_MARKS[r.status]:<8} {_dur(r.duration):>8}  {r.message}"))
    gates = [term.fit(redact(f"{'':<37}  {reading}")) for reading in r.gates]
    return [_paint_at(line, 27, f"{_MARKS[r.status]:<8}", term, _PHASE_STYLES.get(r.status)), *gates]


def _paint_at(line: str, at: int, token: str, term: Terminal, style: str | None) -> str:
    """`line` with `token` (found at column `at`, left whole by the cut) coloured for the terminal."""
    if style is None or line[at:at + len(token)] != token:
        return line
    return line[:at] + term.paint(token, style) + line[at + len(token):]


def render_text(state: ReleaseState, *, term: Terminal | None = None, phases: bool = True) -> str:
    """The summary for a person. With a `term` (shipit status), the phase table fits its width and the outcomes are
    coloured if it takes colours; prose (the headline, what failed, why, evidence) wraps as the terminal does: it is
    what a person acts on. `phases=False` leaves the phase table out (the live view printed one line per phase just
    above)."""
    term = term or Terminal()
    lines = [headline(state)]
    if phases:
        lines += [""] + [row for r in _ordered(state.phases) for row in _phase_rows(r, term)]
    for note in state.notes:
        lines.append(f"  note: {note}")
    d = state.diagnosis
    if d is not None:
        lines += ["", f"What failed: {d.what}", f"Why:         {d.why}"]
        if d.details:
            lines.append("Evidence:")
            lines += [f"  | {line}" for line in evidence(d.details)]
        if d.did:
            lines.append(f"shipit did:  {d.did}")
        if d.next:
            lines.append(f"Next:        {d.next}")
    return redact("\n".join(lines))


def render_for(state: ReleaseState, stdout: TextIO | None = None, stderr: TextIO | None = None) -> str:
    """The end-of-run summary for where it is printed: fitted to a terminal; and when stdout and stderr are both
    terminals (the live view's one line per phase is on the screen just above), without repeating the phase table."""
    from shipit.core.log import LogFormat, current_format

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    term = Terminal.of(stdout)
    live_above = isatty(stdout) and isatty(stderr) and current_format() is not LogFormat.JSON
    return render_text(state, term=term, phases=not live_above)


def to_json(state: ReleaseState) -> dict:
    return {
        "release": state.id,
        "app": state.app,
        "status": state.status.value,
        "exit_code": state.exit_code,
        "from": state.from_sha,
        "to": state.to_sha,
        "image_before": state.image_before,
        "image_after": state.image_after,
        "user": state.user,
        "started": _stamp(state.started),
        "ended": _stamp(state.ended),
        "duration_s": None if state.duration is None else round(state.duration, 3),
        "phases": [r.to_json() for r in _ordered(state.phases)],
        "notes": list(state.notes),
        "diagnosis": state.diagnosis.to_json() if state.diagnosis else None,
        "message": state.message,
    }


def render_markdown(state: ReleaseState) -> str:
    icon = {ReleaseStatus.SUCCEEDED: "✅", ReleaseStatus.REVERTED: "↩️"}.get(state.status, "❌")
    lines = [
        f"### {icon} shipit {state.app} {state.id}: {_status_line(state)}",
        "",
        f"`{state.from_sha[:7]}..{state.to_sha[:7]}` · image `{state.image_after}` · {_dur(state.duration)} · "
        f"exit {state.exit_code}",
        "",
        "| Phase | Result | Duration | Detail |",
        "|---|---|---:|---|",
    ]
    for r in _ordered(state.phases):
        lines.append(f"| {r.phase.title} | {_MARKS[r.status]} | {_dur(r.duration)} | {r.message.replace('|', '/')} |")
    gated = [(r, g) for r in _ordered(state.phases) for g in r.gates]
    if gated:
        lines += ["", "| Gate | Phase | Last reading |", "|---|---|---|"]
        lines += [f"| {g.gate} | {r.phase.title} | {g.describe().replace('|', '/')} |" for r, g in gated]
    lines += [f"> {note}" for note in state.notes]
    d = state.diagnosis
    if d is not None:
        lines += ["", f"**What failed:** {d.what}", "", f"**Why:** {d.why}"]
        if d.details:
            lines += ["", "```", *evidence(d.details), "```"]
        lines += ["", f"**shipit did:** {d.did}", "", f"**Next:** {d.next}"]
    return redact("\n".join(lines)) + "\n"


def append_step_summary(state: ReleaseState, env: dict[str, str] | None = None) -> Path | None:
    """Append the Markdown summary to $GITHUB_STEP_SUMMARY when set (GitHub Actions); returns the file written."""
    target = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as f:
        f.write(render_markdown(state))
    return path


def history_lines(states, term: Terminal | None = None) -> list[str]:
    """One line per release for `shipit history`, newest first: each fits the terminal's width (the message is cut
    with an ellipsis, the table never wraps), the status coloured on a terminal that takes colours."""
    term = term or Terminal()
    head = f"{'release':<8} {'status':<16} {'started':<21} {'took':>8}  {'range':<16} {'user':<12} message"
    lines = [term.fit(head)]
    for s in states:
        line = term.fit(redact(
            f"{s.id:<8} {s.status.value:<16} {_stamp(s.started):<21} {_dur(s.duration):>8}  "
            f"{s.from_sha[:7]}..{s.to_sha[:7]:<7} {s.user[:12]:<12} {s.message}"
        ))
        lines.append(_paint_at(line, 9, s.status.value, term, _RELEASE_STYLES.get(s.status)))
    return lines
