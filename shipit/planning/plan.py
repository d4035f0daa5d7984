"""Turn two commits of the app into a release plan: which migrations are pending, how each is staged, what data to
check first, which objects must exist afterwards, and whether the code changed at all.

Pending means versions present at `--to` that the database has not applied (when it was read), else versions
present at `--to` and absent at `--from`: Rails keys migrations by version, so an edited or moved file whose version
already ran plans nothing (noted), and a `--from` on another branch plans as that set difference. `build_plan` is
the only I/O (git); `plan_from_files` is pure, so the release command and the tests can plan from any snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shipit.planning import boot as boot_mod
from shipit.planning import facts as facts_mod
from shipit.planning import layout as layout_mod
from shipit.planning.classify import (
    Check,
    ExpectedObject,
    MigrationPhase,
    checks_for,
    classify,
    created_tables,
    expected_objects,
    warnings_for,
)
from shipit.planning.facts import AppFacts
from shipit.planning.layout import Layout
from shipit.planning.rails.naming import acronyms as read_acronyms
from shipit.planning.rails.operations import OpKind, Operation, ParsedMigration
from shipit.planning.rails.parse import parse_migration

# Files that change with every migration but are not code the running app loads.
_SCHEMA_DUMPS = frozenset({"db/schema.rb", "db/structure.sql"})
_DROPS = re.compile(rb"\b(remove_columns?|remove_references?|remove_belongs_to|remove_timestamps|drop_table|"
                    rb"drop_join_table|remove)\b")
PHASE_ORDER = ("preflight", "migrate", "wait_for_ddl", "gates", "rollout", "verify", "post_deploy")


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
    database: str = layout_mod.PRIMARY
    after_code: bool = False  # from db/post_migrate: even once a person accepts it, it runs after the code
    versionless: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "path": self.path,
            "name": self.name,
            "database": self.database,
            "phase": self.phase.value,
            "after_code": self.after_code,
            "versionless": self.versionless,
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
    warnings: tuple[str, ...] = ()  # about the range itself: deleted, edited or moved migrations
    boot: boot_mod.BootDecision | None = None
    databases: tuple[str, ...] = (layout_mod.PRIMARY,)
    code_files: tuple[str, ...] = ()  # changed files the running app loads (not migrations or schema dumps)

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

    def before_code(self, *, accept_manual: bool) -> tuple[Migration, ...]:
        """What the pre-deploy Job runs: manual ones too once accepted, except db/post_migrate ones."""
        manual = tuple(m for m in self.manual if not m.after_code) if accept_manual else ()
        return tuple(sorted(self.pre_deploy + manual, key=lambda m: m.version))

    def after_code(self, *, accept_manual: bool) -> tuple[Migration, ...]:
        """What the post-deploy step runs: accepted manual migrations from db/post_migrate stay after the code."""
        manual = tuple(m for m in self.manual if m.after_code) if accept_manual else ()
        return tuple(sorted(self.post_deploy + manual, key=lambda m: m.version))

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c for m in self.migrations for c in m.checks)

    @property
    def expected(self) -> tuple[ExpectedObject, ...]:
        return tuple(e for m in self.migrations for e in m.expected)

    @property
    def phases(self) -> tuple[str, ...]:
        """The release's phases in order, leaving out those with nothing to do. Manual migrations count where they
        would run once a person accepts them with --yes: before the code, or after it from db/post_migrate."""
        pre, post = self.before_code(accept_manual=True), self.after_code(accept_manual=True)
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
            "databases": list(self.databases),
            "phases": list(self.phases),
            "needs_person": bool(self.manual),
            "boot_migrations": None if self.boot is None else {"stop": self.boot.stop, "message": self.boot.message},
            "migrations": [m.to_json() for m in self.migrations],
            "warnings": list(self.warnings),
        }


def _version(path: str) -> str:
    return path.rpartition("/")[2].partition("_")[0]


@dataclass(frozen=True)
class Snapshot:
    """The repository as the plan needs it. `to_paths`/`from_paths` list every migration file at each commit
    (None: only `changed` is known); `sources` holds the `--to` bytes of each migration to plan."""

    changed: tuple[tuple[str, str], ...]
    sources: Mapping[str, bytes]
    to_paths: tuple[str, ...] | None = None
    from_paths: tuple[str, ...] | None = None
    layout: Layout = layout_mod.DEFAULT
    facts: AppFacts = field(default_factory=AppFacts)
    boot: tuple[boot_mod.BootMigration, ...] = ()
    deployment_env: frozenset[str] = frozenset()  # variables the Deployment sets: a guard it sets turns boot off


Applied = Mapping[str, frozenset[str]]  # each database's schema_migrations, by config/database.yml name


def applied_by_database(applied: Applied | frozenset[str] | None) -> Applied | None:
    """What was read from the databases; a bare set is the primary database's."""
    if applied is None or isinstance(applied, Mapping):
        return applied
    return {layout_mod.PRIMARY: frozenset(applied)}


def pending_paths(snap: Snapshot, applied: Applied | frozenset[str] | None) -> tuple[list[str], list[str]]:
    """The migration files to plan, and notes about files that changed but plan nothing."""
    applied = applied_by_database(applied)
    changed = [(p, s) for p, s in snap.changed if snap.layout.locate(p) is not None]
    to_paths = snap.to_paths if snap.to_paths is not None else tuple(p for p, s in changed if s != "deleted")
    at_from = frozenset(_version(p) for p in snap.from_paths or ())
    if snap.from_paths is None and applied is None:
        to_paths = tuple(p for p, s in changed if s != "deleted")

    def done(path: str) -> frozenset[str]:
        """A database whose schema_migrations was read compares with it; another one with --from."""
        read = applied.get(snap.layout.locate(path).database) if applied is not None else None
        return read if read is not None else at_from

    to_versions = {p: _version(p) for p in to_paths}
    pending = [p for p, v in to_versions.items() if v not in done(p)]
    notes = []
    from_by_version = {_version(p): p for p in snap.from_paths or ()} if changed else {}
    pending_versions = {to_versions[p] for p in pending}
    to_versions = set(to_versions.values())
    edited = [p for p, s in changed if s != "deleted" and _version(p) not in pending_versions]
    for path in edited:
        old = from_by_version.get(_version(path))
        if old is not None and old != path:
            notes.append(f"{path} was moved from {old}: servers that already ran version {_version(path)} will not "
                         f"run it again, so it plans nothing")
    plain_edits = [p for p in edited if from_by_version.get(_version(p), p) == p]
    if plain_edits:
        shown = ", ".join(plain_edits[:3]) + (f" and {len(plain_edits) - 3} more" if len(plain_edits) > 3 else "")
        notes.append(f"{len(plain_edits)} already-applied migration(s) edited ({shown}): servers that ran them will "
                     f"not run the change, so they plan nothing; write a new migration for a schema change")
    for path, status in changed:
        if status == "deleted" and _version(path) not in to_versions:
            notes.append(f"{path} was deleted: servers that ran it keep its schema changes; nothing undoes them")
    return sorted(pending, key=lambda p: (_version(p), p)), notes


def plan_from_files(*, repo: str, from_ref: str, to_ref: str, from_sha: str, to_sha: str,
                    changed: tuple[tuple[str, str], ...] = (), sources: Mapping[str, bytes] | None = None,
                    snapshot: Snapshot | None = None, applied: Applied | frozenset[str] | None = None,
                    notes: tuple[str, ...] = ()) -> Plan:
    """Pure: plan from a snapshot (or, for callers with only a diff, `changed` (path, status) pairs and `sources`)."""
    snap = snapshot or Snapshot(changed, sources or {})
    paths, range_notes = pending_paths(snap, applied)
    parsed: list[tuple[ParsedMigration, str]] = [
        (parse_migration(snap.sources[p], p, snap.facts.acronyms), p) for p in paths
    ]
    migrations: list[Migration] = []
    new_tables: dict[str, frozenset[str]] = {}
    new_columns: dict[str, frozenset[tuple[str, str]]] = {}
    for pm, path in parsed:
        where = snap.layout.locate(path)
        db = where.database
        phase, reason = classify(pm, post_migrate_dir=where.after_code, facts=snap.facts)
        tables, columns = new_tables.get(db, frozenset()), new_columns.get(db, frozenset())
        migrations.append(Migration(
            version=pm.version, path=path, name=pm.name, phase=phase, reason=reason, operations=pm.operations,
            checks=checks_for(pm, new_tables=tables, new_columns=columns), expected=expected_objects(pm),
            warnings=tuple(pm.warnings) + warnings_for(pm, new_tables=tables), database=db,
            after_code=where.after_code, versionless=pm.versionless,
        ))
        new_tables[db] = tables | created_tables(pm)
        new_columns[db] = columns | frozenset(
            (op.table, c) for op in pm.operations
            if op.kind in (OpKind.ADD_REFERENCE, OpKind.ADD_COLUMN) and op.default is None for c in op.columns
        )
    changed_files = tuple(p for p, _ in snap.changed)
    code_files = tuple(p for p in changed_files if snap.layout.locate(p) is None and p not in _SCHEMA_DUMPS)
    held_back = tuple(m.version for m in migrations if m.phase is not MigrationPhase.PRE_DEPLOY)
    return Plan(repo, from_ref, to_ref, from_sha, to_sha, bool(code_files), changed_files, tuple(migrations),
                tuple(notes) + tuple(range_notes), boot_mod.boot_decision(snap.boot, held_back, snap.deployment_env),
                snap.layout.databases, code_files)


def build_plan(repo_path: str | Path, from_ref: str, to_ref: str = "HEAD", *,
               applied: Applied | frozenset[str] | None = None, extra_paths: tuple[str, ...] = (),
               deployment_commands: tuple[str, ...] = (), deployment_env: frozenset[str] = frozenset()) -> Plan:
    """Read both commits and plan. `applied` is each reachable database's schema_migrations (a bare set: the
    primary's); the Deployment's command/args and environment variable names, when read from the cluster, join the
    boot check."""
    from shipit.planning.gitrepo import GitRepo

    repo = GitRepo(repo_path)
    rng = repo.range(from_ref, to_ref)
    snap = read_snapshot(repo, rng.from_sha, rng.to_sha, tuple((c.path, c.status.value) for c in rng.changes),
                         extra_paths, applied)
    snap = replace(snap, boot=snap.boot + boot_mod.find_boot_migrations({}, deployment_commands),
                   deployment_env=deployment_env)
    notes = []
    if rng.from_sha != rng.to_sha and not repo.shallow and not repo.is_ancestor(rng.from_sha, rng.to_sha):
        notes.append(f"--from {from_ref} is not an ancestor of --to {to_ref}: planned as the migrations present at "
                     f"--to and absent at --from")
    return plan_from_files(repo=str(repo_path), from_ref=from_ref, to_ref=to_ref, from_sha=rng.from_sha,
                           to_sha=rng.to_sha, snapshot=snap, applied=applied, notes=tuple(notes))


def read_snapshot(repo, from_sha: str, to_sha: str, changed: tuple[tuple[str, str], ...],
                  extra_paths: tuple[str, ...] = (), applied: Applied | frozenset[str] | None = None) -> Snapshot:
    """Both commits' migration files, the models and boot scripts at --to, the schema dump at --from."""
    applied = applied_by_database(applied)
    to_all = repo.files(to_sha)
    layout = layout_mod.layout_for(to_all, repo.read_text(to_sha, layout_mod.DATABASE_YML), extra_paths)
    to_paths = tuple(p for p in to_all if layout.locate(p) is not None)
    from_paths = tuple(p for p in repo.files(from_sha) if layout.locate(p) is not None) if from_sha != to_sha \
        else to_paths
    at_from = {_version(p) for p in from_paths}
    sources = {p: repo.read(to_sha, p) for p in to_paths
               if _version(p) not in at_from or (applied is not None and _version(p) not in
                                                  applied.get(layout.locate(p).database, at_from))}
    # models matter only to rules about dropping what a model maps; most releases drop nothing
    drops = any(_DROPS.search(src) for src in sources.values())
    models = {p: repo.read_text(to_sha, p) or "" for p in to_all if drops and facts_mod.is_model_path(p)}
    columns: dict = {}
    for schema in facts_mod.SCHEMA_FILES:
        text = repo.read_text(from_sha, schema)
        if text:
            columns.update(facts_mod.columns_from_schema(schema, text))
    inflections = repo.read_text(to_sha, facts_mod.INFLECTIONS) or ""
    present = set(to_all)
    boot_files = {p: repo.read_text(to_sha, p) or "" for p in boot_mod.FILES if p in present}
    rails = facts_mod.rails_version(repo.read_text(to_sha, facts_mod.GEMFILE_LOCK) or "")
    app = AppFacts(facts_mod.models_from_sources(models) if drops else {}, columns or None, read_acronyms(inflections),
                   rails)
    return Snapshot(changed, sources, to_paths, from_paths, layout, app, boot_mod.find_boot_migrations(boot_files))


def render_text(plan: Plan) -> str:
    from shipit.planning.render import render

    return render(plan)
