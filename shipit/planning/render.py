"""The plan as text a person reads on one screen: what needs them first, then each phase in order.

Repetition is folded: warnings are grouped by message and de-duplicated, unknown statements are summarised (the
first few and a count), and pre-Rails-5 migrations without a version get one line, not one per file. No line is
wider than WIDTH: quoted source is cut short (`--output json` has it whole), prose wraps.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter

from shipit.planning.plan import Migration, Plan
from shipit.planning.rails.operations import OpKind
from shipit.planning.rules import describe

_PHASE_TITLES = {
    "preflight": "Preflight: data checks before migrating",
    "migrate": "Migrate: pre-deploy migrations (rails db:migrate as a Job)",
    "wait_for_ddl": "Wait for DDL: index builds done on the primary and every replica",
    "gates": "Gates: schema ready, replica lag, threads running",
    "rollout": "Code rollout",
    "verify": "Verify: HTTP gates and bake time",
    "post_deploy": "Post-deploy migrations",
}
UNKNOWN_SHOWN = 3
OPERATIONS_SHOWN = 12
WARNINGS_SHOWN = 5  # warning groups per migration; the rest are counted
LINES_SHOWN = 5  # line numbers listed per warning group
WIDTH = 100
_LINE = re.compile(r"^line \d+: ")


def render(plan: Plan, *, pending: tuple[str, ...] = ()) -> str:
    """`pending` says which source decided what is pending (the database or git), one line each."""
    refs = f"{_ref(plan.from_ref, plan.from_sha)} -> {_ref(plan.to_ref, plan.to_sha)}"
    lines = [
        f"Release plan for {_tail(plan.repo, WIDTH - len('Release plan for : ') - len(refs))}: {refs}",
        f"  {len(plan.changed_files)} files changed; code changed: {'yes' if plan.code_changed else 'no'}; "
        f"migrations: {len(plan.pre_deploy)} pre-deploy, {len(plan.post_deploy)} post-deploy, "
        f"{len(plan.manual)} manual",
    ]
    if len(plan.databases) > 1:
        lines.append(f"  databases: {', '.join(plan.databases)}")
    lines += [f"  {line}" for line in pending]
    if plan.boot is not None:
        lines.append(f"  {'STOP' if plan.boot.stop else 'warning'}: {plan.boot.message}")
    for w in plan.warnings:
        lines.append(f"  note: {w}")
    versionless = [m for m in plan.migrations if m.versionless]
    if versionless:
        lines.append(f"  note: {len(versionless)} migration(s) have no ActiveRecord::Migration[x.y] version (written "
                     f"for Rails 4.2 or earlier): Rails 5+ refuses to load them")
    if plan.manual:
        lines.append("")
        lines.append("NEEDS A PERSON: these migrations cannot be staged automatically; the release stops before "
                     "migrating until they are split, rewritten or run by hand:")
        for m in plan.manual:
            _render_migration(lines, m)
    phases = plan.phases
    if not phases:
        lines.append("")
        lines.append("Nothing to release: no migrations and no code changes in this range.")
    for n, phase in enumerate(phases, 1):
        lines.append("")
        lines.append(f"{n}. {_PHASE_TITLES[phase]}")
        _PHASE_BODIES[phase](lines, plan)
    return "\n".join(_fit(lines))


def _ref(ref: str, sha: str) -> str:
    """A ref that is the commit's own hash (or a prefix of it) shows once, shortened; a name shows with its hash."""
    return sha[:12] if len(ref) >= 7 and sha.startswith(ref.lower()) else f"{ref} ({sha[:12]})"


def _tail(path: str, room: int) -> str:
    """A path too long for the header keeps its end, where the app's own folder is named."""
    return path if len(path) <= room else "..." + path[len(path) - max(room, 12) + 3:]


def _clip(text: str) -> str:
    return text if len(text) <= WIDTH else text[:WIDTH - 3] + "..."


def _fit(lines: list[str]) -> list[str]:
    """Prose wider than WIDTH wraps under its own indent (quoted source was clipped where it was written)."""
    out = []
    for line in lines:
        if len(line) <= WIDTH:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip()))
        out += textwrap.wrap(line, WIDTH, initial_indent="", subsequent_indent=indent + "  ",
                             break_long_words=True, break_on_hyphens=False)
    return out


def _preflight(lines: list[str], plan: Plan) -> None:
    checks = [c for m in plan.before_code(accept_manual=True) for c in m.checks]
    for c in checks:
        lines.append(f"     - {c.describe()} (migration {c.migration_version})")
    if not checks:
        lines.append("     - no data checks needed (only new tables, new columns or non-unique indexes)")


def _migrate(lines: list[str], plan: Plan) -> None:
    for m in plan.pre_deploy:
        _render_migration(lines, m)
    for m in plan.manual:
        if not m.after_code:
            lines.append(f"   {m.version} {m.name}: manual, runs here only once accepted with `shipit release --yes`")


def _wait_for_ddl(lines: list[str], plan: Plan) -> None:
    objs = [e for m in plan.before_code(accept_manual=True) for e in m.expected
            if e.kind.value in ("index", "foreign_key")]
    for e in objs:
        lines.append(f"     - {e.kind.value} {e.name} on {e.table} ({', '.join(e.columns)})")
    if not objs:
        lines.append("     - new tables and columns only")


def _rollout(lines: list[str], plan: Plan) -> None:
    code = plan.code_files
    shown = ", ".join(code[:5]) + (f" and {len(code) - 5} more" if len(code) > 5 else "")
    lines.append(f"     - {len(code)} code files changed: {shown}")


def _post_deploy(lines: list[str], plan: Plan) -> None:
    for m in plan.post_deploy:
        _render_migration(lines, m)
        for c in m.checks:
            lines.append(f"       check before running: {c.describe()}")
    for m in plan.manual:
        if m.after_code:
            lines.append(f"   {m.version} {m.name}: manual, runs after the code only once accepted with "
                         f"`shipit release --yes`")


def _nothing(lines: list[str], plan: Plan) -> None:
    return None


_PHASE_BODIES = {"preflight": _preflight, "migrate": _migrate, "wait_for_ddl": _wait_for_ddl, "gates": _nothing,
                 "rollout": _rollout, "verify": _nothing, "post_deploy": _post_deploy}


def _render_migration(lines: list[str], m: Migration) -> None:
    db = f", database {m.database}" if m.database != "primary" else ""
    lines.append(f"   {m.version} {m.name} ({m.path}{db})")
    lines.append(f"     {m.phase.value}: {m.reason}")
    known = [op for op in m.operations if op.kind is not OpKind.UNKNOWN]
    for op in known[:OPERATIONS_SHOWN]:
        lines.append(_clip(f"       line {op.line}: {describe(op)}"))
    if len(known) > OPERATIONS_SHOWN:
        lines.append(f"       ... and {len(known) - OPERATIONS_SHOWN} more operations (--output json lists them)")
    unknown = [op for op in m.operations if op.kind is OpKind.UNKNOWN]
    if unknown:
        lines.append(f"       {len(unknown)} statement(s) shipit does not understand:")
        for op in unknown[:UNKNOWN_SHOWN]:
            lines.append(_clip(f"         line {op.line}: {' '.join(op.source.split())}"))
        if len(unknown) > UNKNOWN_SHOWN:
            lines.append(f"         ... and {len(unknown) - UNKNOWN_SHOWN} more (--output json lists them)")
    groups = grouped_warnings(m.warnings)
    for text, count in groups[:WARNINGS_SHOWN]:
        lines.append(f"     warning: {text}" + (f" (x{count})" if count > 1 else ""))
    if len(groups) > WARNINGS_SHOWN:
        more = len(groups) - WARNINGS_SHOWN
        lines.append(f"     ... and {more} more warning{'s' * (more != 1)} (--output json lists them)")


def grouped_warnings(warnings: tuple[str, ...]) -> list[tuple[str, int]]:
    """Warnings that differ only in their line and subject ("line 8: add_column users.a: <why>") read once, with
    their lines and subjects listed; identical ones are counted."""
    groups: dict[str, tuple[list[str], list[str]]] = {}
    counts: Counter[str] = Counter()
    for w in warnings:
        match = _LINE.match(w)
        rest = w[match.end():] if match else w
        subject, sep, why = rest.partition(": ")
        key, subject = (why, subject) if match and sep else (rest, "")
        counts[key] += 1
        lines_seen, subjects = groups.setdefault(key, ([], []))
        if match:
            lines_seen.append(match.group(0)[5:-2])
        if subject and subject not in subjects:
            subjects.append(subject)
    out = []
    for key, (lines_seen, subjects) in groups.items():
        seen = list(dict.fromkeys(lines_seen))
        more = f" and {len(seen) - LINES_SHOWN} more" if len(seen) > LINES_SHOWN else ""
        listed = ", ".join(seen[:LINES_SHOWN]) + more
        where = f"line{'s' if len(seen) > 1 else ''} {listed}: " if seen else ""
        shown = "; ".join(subjects[:3]) + (f" and {len(subjects) - 3} more" if len(subjects) > 3 else "")
        out.append((f"{where}{shown}: {key}" if shown else f"{where}{key}", 1 if lines_seen else counts[key]))
    return out
