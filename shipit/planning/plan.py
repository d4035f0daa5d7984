"""The release plan: which migrations a range of commits brings, how each is staged, and which phases will run.

`build_plan` is the only I/O (git); everything after reading the files is pure, so the release command and the
tests can build a `Plan` from any snapshot.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipit.planning.classify import (
    Check,
    ExpectedObject,
    MigrationPhase,
    checks_for,
    classify,
    created_tables,
    describe,
    expected_objects,
    warnings_for,
)
from shipit.planning.migrations import OpKind, Operation, ParsedMigration, parse_migration

MIGRATE_DIR = "db/migrate"
POST_MIGRATE_DIR = "db/post_migrate"
# Files that change with every migration but are not code the running app loads.
_SCHEMA_DUMPS = frozenset({"db/schema.rb", "db/structure.sql"})

PHASE_ORDER = ("preflight", "migrate", "wait_for_ddl", "gates", "rollout", "verify", "post_deploy")
_PHASE_TITLES = {
    "preflight": "Preflight: data checks before migrating",
    "migrate": "Migrate: pre-deploy migrations (rails db:migrate as a Job)",
    "wait_for_ddl": "Wait for DDL: index builds done on the primary and every replica",
    "gates": "Gates: schema ready, replica lag, threads running",
    "rollout": "Code rollout",
    "verify": "Verify: HTTP gates and bake time",
    "post_deploy": "Post-deploy migrations",
}


@dataclass(frozen=True)
class Migration:
    version: str
    path: str
    name: str
    phase: MigrationPhase
    reason: str
    operations: tuple[Operation, ...]
    checks: tuple[Check, ...]
    expected: tuple[ExpectedObject, ...]
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "path": self.path,
            "name": self.name,
            "phase": self.phase.value,
            "reason": self.reason,
            "operations": [op.to_json() for op in self.operations],
            "checks": [c.to_json() for c in self.checks],
            "expected": [e.to_json() for e in self.expected],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Plan:
    repo: str
    from_ref: str
    to_ref: str
    from_sha: str
    to_sha: str
    code_changed: bool
    changed_files: tuple[str, ...]
    migrations: tuple[Migration, ...]
    warnings: tuple[str, ...] = ()  # about the range itself: deleted migrations

    def _in(self, phase: MigrationPhase) -> tuple[Migration, ...]:
        return tuple(m for m in self.migrations if m.phase is phase)

    @property
    def pre_deploy(self) -> tuple[Migration, ...]:
        return self._in(MigrationPhase.PRE_DEPLOY)

    @property
    def post_deploy(self) -> tuple[Migration, ...]:
        return self._in(MigrationPhase.POST_DEPLOY)

    @property
    def manual(self) -> tuple[Migration, ...]:
        return self._in(MigrationPhase.MANUAL)

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c for m in self.migrations for c in m.checks)

    @property
    def expected(self) -> tuple[ExpectedObject, ...]:
        return tuple(e for m in self.migrations for e in m.expected)

    @property
    def phases(self) -> tuple[str, ...]:
        """The release's phases in order, leaving out those with nothing to do. Manual migrations count as pre-deploy:
        the release stops for them, and once a person accepts them with --yes they run in the migrate phase."""
        pre, post = self.pre_deploy + self.manual, self.post_deploy
        needed = {
            "preflight": bool(pre),
            "migrate": bool(pre),
            "wait_for_ddl": any(m.expected for m in pre),
            "gates": bool(pre) or self.code_changed,
            "rollout": self.code_changed,
            "verify": self.code_changed,
            "post_deploy": bool(post),
        }
        return tuple(p for p in PHASE_ORDER if needed[p])

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "from": self.from_ref,
            "to": self.to_ref,
            "from_sha": self.from_sha,
            "to_sha": self.to_sha,
            "code_changed": self.code_changed,
            "changed_files": list(self.changed_files),
            "phases": list(self.phases),
            "needs_person": bool(self.manual),
            "migrations": [m.to_json() for m in self.migrations],
            "warnings": list(self.warnings),
        }


def migration_dir(path: str) -> str | None:
    """`db/migrate` or `db/post_migrate` when `path` is a migration file Rails will load, else None."""
    directory, base = posixpath.split(path)
    if directory in (MIGRATE_DIR, POST_MIGRATE_DIR) and base.endswith(".rb") and base[:1].isdigit():
        return directory
    return None


def plan_from_files(
    *,
    repo: str,
    from_ref: str,
    to_ref: str,
    from_sha: str,
    to_sha: str,
    changed: tuple[tuple[str, str], ...],
    sources: dict[str, bytes],
) -> Plan:
    """Pure: `changed` is (path, status) pairs, `sources` the to-side bytes of each added or modified migration."""
    parsed: list[tuple[ParsedMigration, str, str]] = []
    plan_warnings: list[str] = []
    deleted_versions: dict[str, str] = {}
    for path, status in changed:
        if migration_dir(path) is None:
            continue
        if status == "deleted":
            deleted_versions[posixpath.basename(path).split("_", 1)[0]] = path
        else:
            parsed.append((parse_migration(sources[path], path), path, status))
    parsed.sort(key=lambda item: (item[0].version, item[1]))

    added_versions = {p.version for p, _, _ in parsed}
    for version, path in sorted(deleted_versions.items()):
        if version not in added_versions:
            plan_warnings.append(
                f"{path} was deleted: servers that ran it keep its schema changes; nothing undoes them"
            )

    migrations: list[Migration] = []
    new_tables: frozenset[str] = frozenset()
    new_columns: frozenset[tuple[str, str]] = frozenset()
    for pm, path, status in parsed:
        phase, reason = classify(pm, post_migrate_dir=migration_dir(path) == POST_MIGRATE_DIR)
        warnings = list(pm.warnings)
        if status == "modified":
            warnings.insert(0, "this migration was edited, not added: servers that already ran it will not run "
                               "the change; write a new migration instead")
        if pm.version in deleted_versions:
            warnings.insert(0, f"moved from {deleted_versions[pm.version]}: servers that already ran version "
                               f"{pm.version} will not run it again")
        warnings += warnings_for(pm, new_tables=new_tables)
        migrations.append(
            Migration(
                version=pm.version,
                path=path,
                name=pm.name,
                phase=phase,
                reason=reason,
                operations=pm.operations,
                checks=checks_for(pm, new_tables=new_tables, new_columns=new_columns),
                expected=expected_objects(pm),
                warnings=tuple(warnings),
            )
        )
        new_tables |= created_tables(pm)
        new_columns |= frozenset(
            (op.table, c)
            for op in pm.operations
            if op.kind in (OpKind.ADD_REFERENCE, OpKind.ADD_COLUMN) and op.default is None
            for c in op.columns
        )

    changed_files = tuple(p for p, _ in changed)
    code_changed = any(migration_dir(p) is None and p not in _SCHEMA_DUMPS for p in changed_files)
    return Plan(repo, from_ref, to_ref, from_sha, to_sha, code_changed, changed_files, tuple(migrations),
                tuple(plan_warnings))


def build_plan(repo_path: str | Path, from_ref: str, to_ref: str = "HEAD") -> Plan:
    from shipit.planning.gitrepo import ChangeStatus, GitRepo

    repo = GitRepo(repo_path)
    rng = repo.range(from_ref, to_ref)
    sources = {
        c.path: repo.read(rng.to_sha, c.path)
        for c in rng.changes
        if c.status is not ChangeStatus.DELETED and migration_dir(c.path) is not None
    }
    return plan_from_files(
        repo=str(repo_path),
        from_ref=from_ref,
        to_ref=to_ref,
        from_sha=rng.from_sha,
        to_sha=rng.to_sha,
        changed=tuple((c.path, c.status.value) for c in rng.changes),
        sources=sources,
    )


def render_text(plan: Plan) -> str:
    lines = [
        f"Release plan for {plan.repo}: {plan.from_ref} ({plan.from_sha[:12]}) -> {plan.to_ref} ({plan.to_sha[:12]})",
        f"  {len(plan.changed_files)} files changed; code changed: {'yes' if plan.code_changed else 'no'}; "
        f"migrations: {len(plan.pre_deploy)} pre-deploy, {len(plan.post_deploy)} post-deploy, "
        f"{len(plan.manual)} manual",
    ]
    for w in plan.warnings:
        lines.append(f"  warning: {w}")
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
        if phase == "preflight":
            checks = [c for m in plan.pre_deploy + plan.manual for c in m.checks]
            for c in checks:
                lines.append(f"     - {c.describe()} (migration {c.migration_version})")
            if not checks:
                lines.append("     - no data checks needed (only new tables, new columns or non-unique indexes)")
        elif phase == "migrate":
            for m in plan.pre_deploy:
                _render_migration(lines, m)
            for m in plan.manual:
                lines.append(f"   {m.version} {m.name}: manual, runs here only once accepted with `shipit release --yes`")
        elif phase == "wait_for_ddl":
            objs = [e for m in plan.pre_deploy for e in m.expected if e.kind.value in ("index", "foreign_key")]
            for e in objs:
                lines.append(f"     - {e.kind.value} {e.name} on {e.table} ({', '.join(e.columns)})")
            if not objs:
                lines.append("     - new tables and columns only")
        elif phase == "rollout":
            code = [p for p in plan.changed_files if migration_dir(p) is None and p not in _SCHEMA_DUMPS]
            shown = ", ".join(code[:5]) + (f" and {len(code) - 5} more" if len(code) > 5 else "")
            lines.append(f"     - {len(code)} code files changed: {shown}")
        elif phase == "post_deploy":
            for m in plan.post_deploy:
                _render_migration(lines, m)
                for c in m.checks:
                    lines.append(f"       check before running: {c.describe()}")
    return "\n".join(lines)


def _render_migration(lines: list[str], m: Migration) -> None:
    lines.append(f"   {m.version} {m.name} ({m.path})")
    lines.append(f"     {m.phase.value}: {m.reason}")
    for op in m.operations:
        lines.append(f"       line {op.line}: {describe(op)}")
    for w in m.warnings:
        lines.append(f"     warning: {w}")
