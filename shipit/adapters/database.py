"""The database port over `shipit.db`: preflight checks, health baseline, applied versions, schema snapshots and
the partial state of failed migrations, and the wait until a schema change is ready on every server."""

from __future__ import annotations

import threading
import time
from typing import Any

from shipit.adapters.planner import migrations
from shipit.core.config import Config
from shipit.core.errors import ShipitError
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.ports import PartialState, Preflight
from shipit.release.state import PlanFacts

# How often the schema-ready check and the health baseline sample the database while a release waits on them.
# A few cheap status queries per second; each wait lasts at least (consecutive - 1) intervals, so these set most
# of shipit's fixed overhead per release (scripts/bench_release.py: 0.5 s intervals put it over its 3 s target).
SCHEMA_POLL = 0.25
SCHEMA_CONSECUTIVE = 2
BASELINE_SAMPLES = 3
BASELINE_INTERVAL = 0.1


class MysqlDatabase:
    def __init__(self, cfg: Config, view):
        self.cfg, self.view = cfg, view
        self._servers = None

    @property
    def servers(self):
        if self._servers is None:
            from shipit.db.connection import servers_from_config

            self._servers = servers_from_config(self.cfg.database)
        return self._servers

    def thresholds(self):
        from shipit.db.health import HealthThresholds

        return HealthThresholds.from_gates(self.cfg.gates)

    def preflight(self, facts: PlanFacts) -> Preflight:
        """Grants, pending migrations, data checks and concurrency risks (shipit.db.preflight)."""
        from shipit.db.preflight import Settings, run_preflight

        chosen = migrations(facts, facts.pre_deploy + facts.post_deploy)
        report = run_preflight(self.servers, chosen, Settings.from_config(self.cfg.preflight, self.cfg.gates))
        return Preflight(tuple(report.blocking_reasons), tuple(report.render_text().splitlines()),
                         self.progress_notes(chosen))

    def progress_notes(self, chosen: tuple) -> tuple[str, ...]:
        """Servers that cannot show the index builds' progress, when the release alters a table (never a stop)."""
        from shipit.db.progress_readiness import alters_tables, read_progress_readiness

        if not alters_tables(op.kind for m in chosen for op in m.operations):
            return ()
        notes = []
        for server in self.servers.all():
            try:
                notes.append(read_progress_readiness(server).preflight_note())
            except ShipitError as e:
                notes.append(f"index build progress may not be shown on {server.name}: could not read "
                             f"performance_schema's setup ({e})")
        return tuple(n for n in notes if n)

    def baseline(self) -> Any:
        from shipit.db.health import take_baseline

        return take_baseline(self.servers, self.thresholds(), samples=BASELINE_SAMPLES, interval=BASELINE_INTERVAL)

    def usual_load(self, baseline: Any) -> tuple[Any, ...]:
        return baseline.usual(time.time())

    def applied_versions(self) -> frozenset[str]:
        from shipit.db.migration_state import applied_versions

        return applied_versions(self.servers.primary)

    def schema(self, facts: PlanFacts, versions: tuple[str, ...]) -> Any:
        """The tables these migrations touch, as information_schema has them now."""
        from shipit.db.migration_state import read_schema

        tables = {op.table for m in migrations(facts, versions) for op in m.operations if op.table}
        return read_schema(self.servers.primary, tables)

    def partial_state(self, facts: PlanFacts, versions: tuple[str, ...], schema_before: Any) -> PartialState:
        from shipit.db.migration_state import partial_state

        applied, lines = False, []
        for m in migrations(facts, versions):
            ps = partial_state(self.servers.primary, m.version, m.expected, operations=m.operations,
                               before=schema_before)
            applied = applied or ps.recorded or ps.is_partial or bool(ps.applied)
            lines += ps.render().splitlines()
        leftovers = self.tool_leftovers()
        if leftovers:
            lines += ["An online schema change tool's run died and left this behind (a person cleans up, triggers "
                      "first: they slow every write to the table):"] + list(leftovers)
        return PartialState(applied or bool(leftovers), tuple(lines))

    def tool_leftovers(self) -> tuple[str, ...]:
        """Dead gh-ost / pt-osc / LHM runs on every server, once the migration Job has ended."""
        from shipit.db.osc import assess, fold_replicated, leftover_report, read_server_osc

        runs, errors = [], []
        for server in self.servers.all():
            try:
                runs += assess(read_server_osc(server), migration_running=False)
            except ShipitError as e:
                errors.append(f"{server.name}: could not look for schema change tools' leftovers: {e}")
        return leftover_report(fold_replicated(runs, self.servers.primary.name)) + tuple(errors)

    def wait_ddl(self, facts: PlanFacts, *, timeout: float, cancel: threading.Event) -> None:
        from shipit.db.schema_ready import wait_until_ready

        expected = tuple(e for m in migrations(facts, facts.pre_deploy) for e in m.expected)

        def progress(readiness) -> None:
            if cancel.is_set():
                raise ShipitError("interrupted while waiting for the schema change")
            self.view.schema_progress(readiness)  # read in the gate's own poll: no second processlist read

        try:
            wait_until_ready(
                self.servers, expected, timeout, progress, replica_lag_max=self.cfg.gates.replica_lag_max,
                interval=SCHEMA_POLL, consecutive=SCHEMA_CONSECUTIVE,
            )
        except ShipitError as e:
            raise PhaseFailed(Diagnosis("the schema change is not ready on every server", str(e))) from e
        self.schema_gate(facts)

    def schema_gate(self, facts: PlanFacts) -> None:
        """What the target commit's schema file declares for the tables this release touches must exist on every
        server: catches code about to run without its index even when a migration ran outside shipit or was edited
        after it ran."""
        from shipit.db.drift import check_schema_gate
        from shipit.planning.gitrepo import GitRepo
        from shipit.planning.schema_file import load_schema

        touched = {op.table for m in migrations(facts, facts.pre_deploy) for op in m.operations if op.table}
        verdict = check_schema_gate(self.servers, load_schema(GitRepo(self.cfg.repo), facts.to_sha), touched)
        if not verdict.ok:
            raise PhaseFailed(Diagnosis("the schema the code expects is not on every server", verdict.message,
                                        tuple(f"{d.server}: {d.describe()}" for d in verdict.missing)))

    def close(self) -> None:
        if self._servers is not None:
            self._servers.close()
