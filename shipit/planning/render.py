"""The plan as text a person reads on one screen: what needs them first, then each phase in order.

Repetition is folded: warnings are grouped by message and de-duplicated, unknown statements are summarised (the
first few and a count), and pre-Rails-5 migrations without a version get one line, not one per file.
"""

from __future__ import annotations

import re
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
_LINE = re.compile(r"^line \d+: ")


def render(plan: Plan, *, pending: tuple[str, ...] = ()) -> str:
    """`pending` says which source decided what is pending (the database or git), one line each."""
    lines = [
        f"Release plan for {plan.repo}: {plan.from_ref} ({plan.from_sha[:12]}) -> {plan.to_ref} ({plan.to_sha[:12]})",
        f"  {len(plan.changed_files)} files changed; code changed: {'yes' if plan.code_changed else 'no'}; "
        f"migrations: {len(plan.pre_deploy)} pre-deploy, {len(plan.post_deploy)} post-deploy, "
        f"{len(plan.manual)} manual" + (f"; databases: {', '.join(plan.databases)}" if len(plan.databases) > 1 else ""),
    ]
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
    return "\n".join(lines)


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
        lines.append(f"       line {op.line}: {describe(op)}")
    if len(known) > OPERATIONS_SHOWN:
        lines.append(f"       ... and {len(known) - OPERATIONS_SHOWN} more operations (--output json lists them)")
    unknown = [op for op in m.operations if op.kind is OpKind.UNKNOWN]
    if unknown:
        shown = "; ".join(f"line {op.line}: {op.source}" for op in unknown[:UNKNOWN_SHOWN])
        more = f" and {len(unknown) - UNKNOWN_SHOWN} more" if len(unknown) > UNKNOWN_SHOWN else ""
        lines.append(f"       {len(unknown)} statement(s) shipit does not understand: {shown}{more}")
    for text, count in grouped_warnings(m.warnings):
        lines.append(f"     warning: {text}" + (f" (x{count})" if count > 1 else ""))


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
        where = f"line{'s' if len(lines_seen) > 1 else ''} {', '.join(dict.fromkeys(lines_seen))}: " if lines_seen else ""
        shown = "; ".join(subjects[:3]) + (f" and {len(subjects) - 3} more" if len(subjects) > 3 else "")
        out.append((f"{where}{shown}: {key}" if shown else f"{where}{key}", 1 if lines_seen else counts[key]))
    return out
