"""The database port over `shipit.db`: preflight checks, health baseline, applied versions, schema snapshots and
the partial state of failed migrations, and the wait until a schema change is ready on every server."""

from __future__ import annotations

import threading
import time
from typing import Any

from shipit.adapters.planner import migrations
from shipit.core.config import Config
from shipit.core.config_database import PRIMARY
from shipit.core.errors import ShipitError
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.ports import PartialState, Preflight
from shipit.release.state import PlanFacts

# How often the schema-ready check and the health baseline sample the database while a release waits on them.
# A few cheap status queries per second; these set part of shipit's fixed overhead per release
# (scripts/bench_release.py). One ready reading ends the schema wait: objects present on every server do not
# vanish, and the database health gate that follows holds the code until replica lag stays within its limit for
# several readings in a row.
SCHEMA_POLL = 0.25
SCHEMA_CONSECUTIVE = 1
BASELINE_SAMPLES = 3
BASELINE_INTERVAL = 0.1


class MysqlDatabase:
    """Every configured database: each migration's reads and waits go to the servers of the database it carries."""

    def __init__(self, cfg: Config, view):
        self.cfg, self.view = cfg, view
        self._databases = None
        self._opening = threading.Lock()  # preflight's checks and the baseline's sampling may open it together

    @property
    def databases(self):
        with self._opening:
            if self._databases is None:
                from shipit.db.databases import databases_from_config

                self._databases = databases_from_config(self.cfg.database)
        return self._databases

    @property
    def servers(self):
        """The primary database's servers."""
        return self.databases.primary

    def health_servers(self) -> tuple:
        """Each server of every database once: Threads_running, pile-ups and lag are per server, not per schema."""
        from shipit.db.databases import distinct_endpoints

        return distinct_endpoints(self.databases.all_servers())

    def ddl_servers(self):
        """Each server once, as the live build progress reads them (its processlist shows every schema's DDL)."""
        from shipit.db.connection import Servers

        first, *rest = self.health_servers()
        return Servers(first, tuple(rest))

    def primaries_of(self, chosen: tuple) -> tuple:
        """The primary of each database these migrations run on, the primary database's first."""
        from shipit.db.databases import by_database

        return tuple(self.servers_of(name).primary for name, _ in by_database(chosen))

    def servers_of(self, database: str):
        servers = self.databases.get(database)
        if servers is None:  # the planner stops such a release first; never read another database instead
            from shipit.db.databases import unconfigured_message

            raise PhaseFailed(Diagnosis("a migration's database is not configured",
                                        unconfigured_message(((database, ()),))))
        return servers

    def thresholds(self):
        from shipit.db.health import HealthThresholds

        return HealthThresholds.from_gates(self.cfg.gates)

    def preflight(self, facts: PlanFacts) -> Preflight:
        """Grants, pending migrations, data checks and concurrency risks, per database (shipit.db.preflight)."""
        from shipit.db.preflight import Settings
        from shipit.db.preflight_databases import run_databases_preflight

        chosen = migrations(facts, facts.pre_deploy + facts.post_deploy)
        report = run_databases_preflight(self.databases, chosen,
                                         Settings.from_config(self.cfg.preflight, self.cfg.gates))
        return Preflight(tuple(report.blocking_reasons), tuple(report.render_text().splitlines()),
                         self.progress_notes(chosen))

    def progress_notes(self, chosen: tuple) -> tuple[str, ...]:
        """Servers that cannot show the index builds' progress, when the release alters a table (never a stop)."""
        from shipit.db.databases import by_database, distinct_endpoints
        from shipit.db.progress_readiness import alters_tables, read_progress_readiness

        altered = [s for name, group in by_database(chosen)
                   if alters_tables(op.kind for m in group for op in m.operations)
                   for s in self.servers_of(name).all()]
        notes = []
        for server in distinct_endpoints(altered):  # performance_schema's setup is the server's, not a schema's
            try:
                notes.append(read_progress_readiness(server).preflight_note())
            except ShipitError as e:
                notes.append(f"index build progress may not be shown on {server.name}: could not read "
                             f"performance_schema's setup ({e})")
        return tuple(n for n in notes if n)

    def baseline(self) -> Any:
        from shipit.db.health import take_baseline

        return take_baseline(self.health_servers(), self.thresholds(), samples=BASELINE_SAMPLES,
                             interval=BASELINE_INTERVAL)

    def usual_load(self, baseline: Any) -> tuple[Any, ...]:
        return baseline.usual(time.time())

    def applied_versions(self) -> dict[str, frozenset[str]]:
        """Each configured database's schema_migrations, by its config/database.yml name."""
        from shipit.db.migration_state import applied_versions

        return {m.name: applied_versions(m.servers.primary) for m in self.databases.members}

    def schema(self, facts: PlanFacts, versions: tuple[str, ...]) -> Any:
        """The tables these migrations touch, as information_schema has them now, by database."""
        from shipit.db.databases import by_database
        from shipit.db.migration_state import read_schema

        return {name: read_schema(self.servers_of(name).primary,
                                  {op.table for m in group for op in m.operations if op.table})
                for name, group in by_database(migrations(facts, versions))}

    def partial_state(self, facts: PlanFacts, versions: tuple[str, ...], schema_before: Any) -> PartialState:
        from shipit.db.migration_state import partial_state

        applied, lines = False, []
        for m in migrations(facts, versions):
            before = (schema_before or {}).get(m.database)
            ps = partial_state(self.servers_of(m.database).primary, m.version, m.expected,
                               operations=m.operations, before=before)
            applied = applied or ps.recorded or ps.is_partial or bool(ps.applied)
            rendered = ps.render().splitlines()
            lines += rendered if m.database == PRIMARY else [f"database {m.database}: {x}" for x in rendered]
        leftovers = self.tool_leftovers()
        if leftovers:
            lines += ["An online schema change tool's run died and left this behind (a person cleans up, triggers "
                      "first: they slow every write to the table):"] + list(leftovers)
        return PartialState(applied or bool(leftovers), tuple(lines))

    def tool_leftovers(self) -> tuple[str, ...]:
        """Dead gh-ost / pt-osc / LHM runs in every database on every server, once the migration Job has ended; a
        replica's replicated copy of its primary's run is named with that run."""
        from shipit.db.osc import assess, fold_replicated, leftover_report, read_server_osc

        lines: list[str] = []
        for name in self.databases.names:
            servers = self.databases.get(name)
            runs, errors = [], []
            for server in servers.all():
                try:
                    runs += assess(read_server_osc(server), migration_running=False)
                except ShipitError as e:
                    errors.append(f"{server.name}: could not look for schema change tools' leftovers: {e}")
            lines += [*leftover_report(fold_replicated(runs, servers.primary.name)), *errors]
        return tuple(lines)

    def wait_ddl(self, facts: PlanFacts, *, timeout: float, cancel: threading.Event) -> None:
        """Each migrated database's objects on that database's primary and replicas, polled together."""
        from shipit.db.databases import by_database
        from shipit.db.schema_ready import wait_until_each_ready

        groups = [(self.servers_of(name), tuple(e for m in group for e in m.expected))
                  for name, group in by_database(migrations(facts, facts.pre_deploy))] or \
            [(self.databases.primary, ())]

        def progress(readiness) -> None:
            if cancel.is_set():
                raise ShipitError("interrupted while waiting for the schema change")
            self.view.schema_progress(readiness)  # read in the gate's own poll: no second processlist read

        try:
            wait_until_each_ready(
                groups, timeout, progress, replica_lag_max=self.cfg.gates.replica_lag_max,
                interval=SCHEMA_POLL, consecutive=SCHEMA_CONSECUTIVE,
            )
        except ShipitError as e:
            raise PhaseFailed(Diagnosis("the schema change is not ready on every server", str(e))) from e
        self.schema_gate(facts)

    def schema_gate(self, facts: PlanFacts) -> None:
        """What the target commit's schema file declares for the tables this release touches must exist on every
        server: catches code about to run without its index even when a migration ran outside shipit or was edited
        after it ran. Each database has its own file (db/schema.rb, db/queue_schema.rb...)."""
        from shipit.db.databases import by_database
        from shipit.db.drift import check_schema_gate
        from shipit.planning.gitrepo import GitRepo
        from shipit.planning.schema_file import load_schema

        repo = GitRepo(self.cfg.repo)
        for name, group in by_database(migrations(facts, facts.pre_deploy)):
            touched = {op.table for m in group for op in m.operations if op.table}
            verdict = check_schema_gate(self.servers_of(name), load_schema(repo, facts.to_sha, database=name),
                                        touched)
            if not verdict.ok:
                where = "" if name == PRIMARY else f" of database {name}"
                raise PhaseFailed(Diagnosis(f"the schema{where} the code expects is not on every server",
                                            verdict.message,
                                            tuple(f"{d.server}: {d.describe()}" for d in verdict.missing)))

    def close(self) -> None:
        if self._databases is not None:
            self._databases.close()
