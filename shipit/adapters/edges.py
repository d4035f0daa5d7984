"""The release's edges wired to the real modules: git plan, Kubernetes lock/records/Job/rollout, database checks.

Each method turns one module's outcome into the orchestrator's vocabulary (a Diagnosis or None). Heavy libraries are
imported here, and this module is imported only when a release actually runs.
"""

from __future__ import annotations

import re
import shlex
import threading
import time
from typing import Any

from shipit.core.config import Config
from shipit.core.errors import ShipitError
from shipit.release.gates import DbHealthGate, HttpGate, Mode, run_gates
from shipit.report.live import PlainView
from shipit.core.log import get_logger
from shipit.release.phases import Diagnosis, Phase, PhaseResult, PhaseStatus, ReleaseStatus
from shipit.release.orchestrator import LockLoss, PlanFacts, ReleaseState

log = get_logger("shipit.release")

# How often the schema-ready check and the health gate sample the database while a release waits on them.
# A few cheap status queries per second; each wait lasts at least (consecutive - 1) intervals, so these set most
# of shipit's fixed overhead per release (scripts/bench_release.py: 0.5 s intervals put it over its 3 s target).
SCHEMA_POLL = 0.25
SCHEMA_CONSECUTIVE = 2
BASELINE_SAMPLES = 3
BASELINE_INTERVAL = 0.1
HEALTH_INTERVAL = 0.25
LOCK_LOSS_POLL = 0.5  # how soon a lost lease stops the run's waits, after the renewal found it lost
GATE_QUIET_REPEAT = 5.0  # seconds between progress lines of a gate whose state has not changed
MDL_POLL = 0.5  # the metadata-lock watchdog's poll of the primary during a migration: one processlist read if all is well
MDL_QUIET_REPEAT = 2.0  # seconds between progress lines about a metadata-lock wait


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def state_to_record(state: ReleaseState):
    """ReleaseState -> the Kubernetes layer's ReleaseRecord. Outcome details the record has no field for (exit code,
    diagnosis, notes) travel in plan_summary["outcome"]."""
    from shipit.kube.records import PhaseRecord, ReleaseRecord
    from shipit.kube.records import ReleaseStatus as RecordStatus

    return ReleaseRecord(
        id=state.id,
        sequence=state.sequence,
        app=state.app,
        status=RecordStatus[state.status.name],
        from_sha=state.from_sha,
        to_sha=state.to_sha,
        image_before=state.image_before,
        image_after=state.image_after,
        templates_before=tuple(state.templates_before),
        plan_summary={
            "plan": state.plan_summary,
            "outcome": {
                "exit_code": state.exit_code,
                "diagnosis": state.diagnosis.to_json() if state.diagnosis else None,
                "notes": list(state.notes),
            },
        },
        phases=tuple(
            PhaseRecord(r.phase.value, r.status.value, _iso(r.started), _iso(r.ended), r.message) for r in state.phases
        ),
        started=_iso(state.started),
        ended=_iso(state.ended),
        user=state.user,
        message=state.message,
    )


def record_to_state(record) -> ReleaseState:
    outcome = (record.plan_summary or {}).get("outcome") or {}
    diag = outcome.get("diagnosis")
    phases = []
    for p in record.phases:
        try:
            phases.append(PhaseResult(Phase(p.name), PhaseStatus(p.status), _epoch(p.started), _epoch(p.ended), p.message))
        except ValueError:
            continue  # a phase name from another shipit version: not ours to resume
    return ReleaseState(
        id=record.id,
        sequence=record.sequence,
        app=record.app,
        status=ReleaseStatus[record.status.name],
        from_sha=record.from_sha or "",
        to_sha=record.to_sha or "",
        image_after=record.image_after or "",
        user=record.user or "",
        started=_epoch(record.started) or 0.0,
        image_before=record.image_before,
        templates_before=tuple(record.templates_before),
        plan_summary=(record.plan_summary or {}).get("plan") or {},
        phases=tuple(phases),
        ended=_epoch(record.ended),
        message=record.message,
        diagnosis=Diagnosis(**(diag | {"details": tuple(diag.get("details") or ())})) if diag else None,
        notes=tuple(outcome.get("notes") or ()),
        exit_code=int(outcome.get("exit_code") or 0),
    )


def pre_deploy_migrations(plan, *, accept_manual: bool) -> tuple:
    """The migrations the pre-deploy Job runs: manual ones too once a person accepted them with --yes (they would
    otherwise be applied by nobody, or by the next `db:migrate` unannounced)."""
    chosen = plan.pre_deploy + (plan.manual if accept_manual else ())
    return tuple(sorted(chosen, key=lambda m: m.version))


def plan_facts(plan, *, accept_manual: bool = False) -> PlanFacts:
    return PlanFacts(
        from_sha=plan.from_sha,
        to_sha=plan.to_sha,
        code_changed=plan.code_changed,
        pre_deploy=tuple(m.version for m in pre_deploy_migrations(plan, accept_manual=accept_manual)),
        post_deploy=tuple(m.version for m in plan.post_deploy),
        manual=tuple(f"{m.version} {m.name}: {m.reason}" for m in plan.manual),
        summary={
            "from": plan.from_sha,
            "to": plan.to_sha,
            "code_changed": plan.code_changed,
            "phases": list(plan.phases),
            "migrations": [{"version": m.version, "name": m.name, "phase": m.phase.value} for m in plan.migrations],
        },
    )


_DB_ERROR = re.compile(r"\b(Mysql2::Error(?:::\w+)?|ActiveRecord::[A-Za-z]+Error|ActiveRecord::StatementInvalid): (.+)")


def database_error(log_lines) -> str | None:
    """The database's own words from a failed `db:migrate` log (Rails prints the chain; the first Mysql2 error is
    the SQL error), so the diagnosis's why says more than "exited with code 1"."""
    for line in log_lines:  # the driver's error, wherever Rails wrapped it ("ActiveRecord::StatementInvalid: ...")
        at = line.find("Mysql2::Error")
        if at >= 0:
            return line[at:].strip()
    found = next((m for m in (_DB_ERROR.search(line) for line in log_lines) if m), None)
    return f"{found.group(1)}: {found.group(2).strip()}" if found else None


def pre_deploy_command(
    command: tuple[str, ...], pending: tuple[str, ...], post_deploy: tuple[str, ...], applied: frozenset[str]
) -> tuple[str, ...]:
    """The pre-deploy Job's command, which must apply exactly `pending` and leave the post-deploy ones for later.

    Plain `db:migrate` would run the post-deploy migrations too. `db:migrate VERSION=<last pre-deploy>` runs every
    pending migration up to it, and when a newer one is already applied Rails migrates that one DOWN (its
    current_version > target): a late-merged, older-timestamped migration would drop a live column. So VERSION=
    only when neither can happen; otherwise one `db:migrate:up VERSION=v` per migration, in order.
    """
    if not post_deploy:
        return command
    target = max(pending, key=int)
    if all(int(v) <= int(target) for v in applied) and all(int(v) > int(target) for v in post_deploy):
        return command + (f"VERSION={target}",)
    if command[-1] != "db:migrate":
        raise ShipitError(
            f"cannot apply only the pre-deploy migrations {', '.join(pending)} with migration.command "
            f"{shlex.join(command)!r}: `VERSION={target}` would also run or revert others. Use a command ending in "
            "db:migrate (shipit then runs db:migrate:up per version), or release these migrations separately"
        )
    steps = [shlex.join(command[:-1] + ("db:migrate:up", f"VERSION={v}")) for v in sorted(pending, key=int)]
    return ("sh", "-c", " && ".join(steps))


def _session(b) -> str:
    """One blocking session as a person reads it: who, idle or running, how long in a transaction, its last SQL."""
    parts = [f"{b.user}@{b.host}"]
    if b.command == "Sleep":
        parts.append(f"idle {b.state_s:.0f}s")
    else:
        parts.append(f"running {b.statement[:120]!r} for {b.state_s:.0f}s" if b.statement else
                     f"{b.command.lower()} for {b.state_s:.0f}s")
    if b.trx_age_s is not None:
        parts.append(f"in a transaction for {b.trx_age_s:.0f}s")
    if b.last_statement:
        parts.append(f"last statement {b.last_statement[:120]!r}")
    return f"session {b.conn_id} ({', '.join(parts)})"


def mdl_diagnosis(wait, decision, log_tail: tuple[str, ...] = ()) -> Diagnosis:
    """The diagnosis after the watchdog killed our own DDL: which statement waited for whom, how many queries were
    stuck behind it, and that ending the blocking session comes before a rerun (the rerun would queue again)."""
    ddl = wait.ddl
    kind = ddl.kind.value.replace("_", " ").upper()
    table = ddl.table
    holders = "; ".join(_session(b) for b in wait.blockers) or "a session shipit could not identify"
    ids = ", ".join(str(b.conn_id) for b in wait.blockers)
    if wait.blockers:
        next_ = (f"end the transaction of session {ids} (COMMIT or ROLLBACK in its client, or `KILL {wait.blockers[0].conn_id}`"
                 " if it is abandoned), then release again")
    else:
        next_ = f"find the session holding a lock on {table} (`shipit db status`), end it, then release again"
    return Diagnosis(
        what=f"the migration's {kind} on {table} was stuck behind a metadata lock; shipit killed it",
        why=(f"the {kind} on {table} waited {ddl.elapsed_s:.0f}s for a metadata lock held by {holders}; "
             f"{len(wait.victims)} queries were queued behind it"),
        details=(wait.describe(), *log_tail),
        did=(f"killed its own {kind} (KILL QUERY {ddl.conn_id}; the blocking session was left alone) so the queued "
             "queries run and the app recovers"),
        next=next_,
    )


class _MdlWatch:
    """The metadata-lock watchdog on a thread for the life of one migration Job; remembers the kill of our DDL (an
    ended blocker, when configured, lets the migration go on, so it is only logged)."""

    def __init__(self, guard, view: PlainView, interval: float = MDL_POLL):
        self.guard = guard
        self.view = view
        self.interval = interval
        self.killed = None  # (MdlWait, MdlDecision) once the guard killed our DDL
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shipit-mdl-watchdog", daemon=True)

    def __enter__(self) -> _MdlWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        from shipit.db.mdl import MdlAction

        shown_at, shown = 0.0, None  # a line when what waits changes, else one per MDL_QUIET_REPEAT
        while not self._stop.wait(self.interval):
            try:
                verdict = self.guard.poll()
            except ShipitError as e:  # a monitoring hiccup must not fail the migration it watches
                key, line = str(e), f"metadata-lock watchdog: cannot read the primary: {e}"
            else:
                if verdict.acted:
                    self.view.progress(f"metadata-lock watchdog: {verdict.acted[1].reason}")
                    if verdict.acted[1].action is MdlAction.KILL_OUR_DDL:
                        self.killed = verdict.acted
                        return
                    continue
                if not verdict.waits:
                    continue
                key = tuple((w.ddl.conn_id, d.action) for w, d in zip(verdict.waits, verdict.decisions))
                line = "; ".join(w.describe() for w in verdict.waits)
            now = time.monotonic()
            if key != shown or now - shown_at >= MDL_QUIET_REPEAT:
                shown_at, shown = now, key
                self.view.progress(line)


_REMOVING = ("remove_column", "remove_index", "remove_foreign_key", "drop_table", "rename_column")


def removals_applied(operations, before, after) -> tuple[str, ...]:
    """Pure: the removing statements of a failed migration that took effect, from schema snapshots (shipit.db.
    migration_state.SchemaSnapshot) of its tables taken before and after the Job. The partial-state report only
    tracks objects a migration creates, so without this a half-applied remove_column reads "left nothing behind"."""
    out = []
    for op in operations:
        kind, table = op.kind.value, (op.table or "").lower()
        if kind not in _REMOVING:
            continue
        where = f"(line {op.line})"
        if kind == "remove_column":
            out += [f"removed column {c} from {op.table} {where}" for c in op.columns
                    if (table, c.lower()) in before.columns and (table, c.lower()) not in after.columns]
        elif kind == "rename_column" and op.column and (table, op.column.lower()) in before.columns \
                and (table, op.column.lower()) not in after.columns:
            out.append(f"renamed column {op.column} on {op.table} to {op.new_name} {where}")
        elif kind == "drop_table" and table in before.tables and table not in after.tables:
            out.append(f"dropped table {op.table} {where}")
        elif kind in ("remove_index", "remove_foreign_key") and op.name:
            key = (table, op.name.lower())
            objects = (before.indexes, after.indexes) if kind == "remove_index" else (before.foreign_keys, after.foreign_keys)
            if key in objects[0] and key not in objects[1]:
                out.append(f"removed {'index' if kind == 'remove_index' else 'foreign key'} {op.name} on {op.table} {where}")
    return tuple(out)


class _UnlessLockLost:
    """The migration Job's cancel: a person's Ctrl-C deletes the Job, a lost lock does not. The lease's new holder
    may be a `--resume` of this release that adopted the running Job; deleting it would cut its migration short."""

    def __init__(self, cancel: threading.Event, lock) -> None:
        self.cancel, self.lock = cancel, lock

    def is_set(self) -> bool:
        return self.cancel.is_set() and not (self.lock is not None and self.lock.lost.is_set())


def _from_failures(failures, what: str) -> Diagnosis:
    if not failures:
        return Diagnosis(what, "no failure details were reported")
    first = failures[0]
    details = tuple(line for f in failures for line in f.render().splitlines()[1:])
    return Diagnosis(f"{what}: {first.what}", first.why, details=details)


class RealEdges:
    """The production edges for one release run (or one `shipit rollback`)."""

    def __init__(self, cfg: Config, *, view: PlainView | None = None, kube: Any = None):
        from shipit.kube.client import Kube
        from shipit.kube.records import RecordStore
        from shipit.kube.rollout import Rollout

        self.cfg = cfg
        self.view = view or PlainView()
        self.kube = kube or Kube.from_config(cfg.kubernetes)
        self.records = RecordStore(self.kube, cfg.app, keep=cfg.records.keep)
        self.rollout_ = Rollout(self.kube, cfg, on_progress=self._rollout_progress)
        self._servers = None
        self._plan = None
        self._pre_deploy: tuple = ()
        self._schema_before = None
        self._lock = None
        self._loss = None
        self._lock_confirmed = 0.0
        self._baseline = None

    # --- records -------------------------------------------------------------------------------------------------

    def last_successful(self) -> ReleaseState | None:
        r = self.records.last_successful()
        return record_to_state(r) if r else None

    def latest(self) -> ReleaseState | None:
        r = self.records.latest()
        return record_to_state(r) if r else None

    def history(self, limit: int | None = None) -> list[ReleaseState]:
        return [record_to_state(r) for r in self.records.list(limit)]

    def next_sequence(self) -> int:
        return self.records.next_sequence()

    def save(self, state: ReleaseState) -> None:
        self.records.save(state_to_record(state))

    # --- plan and lock -------------------------------------------------------------------------------------------

    def plan(self, from_ref: str, to_ref: str, *, accept_manual: bool = False) -> PlanFacts:
        from shipit.planning.plan import build_plan

        self._plan = build_plan(self.cfg.repo, from_ref, to_ref)
        self._pre_deploy = pre_deploy_migrations(self._plan, accept_manual=accept_manual)
        return plan_facts(self._plan, accept_manual=accept_manual)

    def acquire_lock(self, release_id: str, *, on_lost=None) -> None:
        from shipit.kube.lock import ReleaseLock

        lock = ReleaseLock(self.kube, self.cfg.app, duration=self.cfg.lock.duration, release_id=release_id)
        lock.acquire(wait=self.cfg.lock.wait)
        self._lock, self._loss, self._lock_confirmed = lock, None, time.time()
        if on_lost is not None:  # the renewal thread only sets `lost`: relay it so the run's waits stop too
            threading.Thread(target=self._relay_lock_loss, args=(lock, on_lost), name="shipit-lock-lost",
                             daemon=True).start()

    def _relay_lock_loss(self, lock, on_lost) -> None:
        while self._lock is lock:
            if lock.lost.wait(LOCK_LOSS_POLL):
                on_lost()
                return

    def lock_lost(self) -> LockLoss | None:
        if self._lock is None:
            return None
        if not self._lock.lost.is_set() and time.time() - self._lock_confirmed > self._lock.duration / 2:
            # the background renewal may not have run for a while (process paused, laptop asleep): confirm the
            # lease now, before this run records or changes anything more
            try:
                self._lock.renew()
                self._lock_confirmed = time.time()
            except Exception as e:  # noqa: BLE001 - the background renewal keeps trying
                log.warning("release lock check failed", error=str(e)[:200])
        if not self._lock.lost.is_set():
            return None
        if self._loss is None:  # read once: every record write asks
            try:
                holder = self._lock.holder()
            except Exception as e:  # noqa: BLE001 - the loss is certain; who holds it now is only detail
                return LockLoss(f"another run (the Lease could not be read: {type(e).__name__})")
            self._loss = (LockLoss(holder.describe(), holder.release_id) if holder else
                          LockLoss("nobody (the Lease was removed, e.g. by `shipit unlock --force`)"))
        return self._loss

    def release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()  # clears the holder only if it is still this run's identity
            self._lock = None

    # --- database ------------------------------------------------------------------------------------------------

    @property
    def servers(self):
        if self._servers is None:
            from shipit.db.connection import servers_from_config

            self._servers = servers_from_config(self.cfg.database)
        return self._servers

    def _migration(self, version: str):
        return next(m for m in self._plan.migrations if m.version == version)

    def _thresholds(self):
        from shipit.db.health import HealthThresholds

        return HealthThresholds.from_gates(self.cfg.gates)

    def preflight(self, facts: PlanFacts) -> Diagnosis | None:
        """Grants, pending migrations, data checks and concurrency risks (shipit.db.preflight), Deployments healthy;
        then the health baseline the gates compare against."""
        from shipit.db.health import take_baseline
        from shipit.db.preflight import Settings, run_preflight

        migrations = self._pre_deploy + self._plan.post_deploy
        report = run_preflight(self.servers, migrations, Settings.from_config(self.cfg.preflight, self.cfg.gates))
        problems = list(report.blocking_reasons) + self._deployments_unhealthy()
        if problems:
            return Diagnosis(
                what="preflight stopped the release" + ("" if len(problems) == 1 else f" ({len(problems)} problems)"),
                why="; ".join(problems),
                details=tuple(report.render_text().splitlines()),
            )
        self._baseline = take_baseline(
            self.servers, self._thresholds(), samples=BASELINE_SAMPLES, interval=BASELINE_INTERVAL
        )
        return None

    def _deployments_unhealthy(self) -> list[str]:
        out = []
        for dep in self.cfg.deployments:
            d = self.kube.get_json(self.kube.apps.read_namespaced_deployment, dep.name, self.kube.namespace)
            want = (d.get("spec") or {}).get("replicas", 1)
            status = d.get("status") or {}
            available = status.get("availableReplicas") or 0
            if available < want:
                out.append(f"Deployment {dep.name} is not healthy before the release ({available}/{want} available)")
        return out

    def applied_versions(self) -> frozenset[str]:
        from shipit.db.migration_state import applied_versions

        return applied_versions(self.servers.primary)

    def partial_state(self, versions: tuple[str, ...]) -> tuple[bool, tuple[str, ...]]:
        from shipit.db.migration_state import partial_state

        applied, lines = False, []
        after = self._schema(versions) if self._schema_before is not None else None
        for v in versions:
            ps = partial_state(self.servers.primary, v, self._migration(v).expected)
            removed = removals_applied(self._migration(v).operations, self._schema_before, after) if after else ()
            applied = applied or ps.recorded or bool(ps.applied) or bool(removed)
            lines += ps.render().splitlines()
            if removed:
                lines += [f"Removals migration {v} already made (a rerun will not find these):"]
                lines += [f"  applied      {r}" for r in removed]
        return applied, tuple(lines)

    def _schema(self, versions: tuple[str, ...]):
        """The tables these migrations touch, as information_schema has them now."""
        from shipit.db.migration_state import read_schema

        tables = {op.table for v in versions for op in self._migration(v).operations if op.table}
        return read_schema(self.servers.primary, tables)

    def wait_ddl(self, *, timeout: float, cancel: threading.Event) -> Diagnosis | None:
        from shipit.db.schema_ready import wait_until_ready

        expected = tuple(e for m in self._pre_deploy for e in m.expected)

        def progress(readiness) -> None:
            if cancel.is_set():
                raise ShipitError("interrupted while waiting for the schema change")
            running = readiness.progress  # read in the gate's own poll: no second processlist read per server
            if running:
                self.view.progress(" | ".join(p.describe() for p in running))
            elif not readiness.ready:
                self.view.progress("waiting for: " + "; ".join(readiness.waiting_for))

        try:
            wait_until_ready(
                self.servers, expected, timeout, progress, replica_lag_max=self.cfg.gates.replica_lag_max,
                interval=SCHEMA_POLL, consecutive=SCHEMA_CONSECUTIVE,
            )
        except ShipitError as e:
            return Diagnosis("the schema change is not ready on every server", str(e))
        return None

    def _health_sample(self) -> tuple[bool | None, str]:
        from shipit.db.health import HealthLevel, compare, take_snapshot

        verdict = compare(self._baseline, take_snapshot(self.servers, self._thresholds()), self._thresholds())
        reason = "; ".join(verdict.reasons) or "within thresholds"
        return {HealthLevel.OK: True, HealthLevel.HOLD: None}.get(verdict.level, False), reason

    def _gates(self) -> list:
        gates: list = [HttpGate(h) for h in self.cfg.gates.http]
        if self._baseline is None:  # resumed after preflight: take the baseline now
            from shipit.db.health import take_baseline

            self._baseline = take_baseline(
                self.servers, self._thresholds(), samples=BASELINE_SAMPLES, interval=BASELINE_INTERVAL
            )
        gates.append(DbHealthGate(self._health_sample, interval=HEALTH_INTERVAL))
        return gates

    def _run_gates(self, mode: Mode, duration: float, cancel: threading.Event, what: str) -> Diagnosis | None:
        shown: dict[str, tuple[str, float]] = {}  # gate -> (state, when) last shown

        def on_probe(name, probe, decision) -> None:
            # a line when a gate's state changes, else one per GATE_QUIET_REPEAT: a long bake stays a few log lines
            state, at = shown.get(name, ("", 0.0))
            if decision.state.value != state or probe.at - at >= GATE_QUIET_REPEAT:
                shown[name] = (decision.state.value, probe.at)
                self.view.progress(f"{name}: {decision.state.value} ({probe.summary})")

        report = run_gates(self._gates(), mode=mode, duration=duration, cancel=cancel, on_probe=on_probe)
        self.gate_report = report
        if report.ok:
            return None
        return Diagnosis(f"{what}: {report.failed}", report.reason, details=report.evidence())

    def gates(self, *, cancel: threading.Event) -> Diagnosis | None:
        return self._run_gates(Mode.UNTIL, self.cfg.rollout.timeout, cancel, "a gate before the code failed")

    def bake(self, seconds: float, *, cancel: threading.Event) -> Diagnosis | None:
        return self._run_gates(Mode.KEEP, seconds, cancel, "a gate failed during the bake")

    # --- cluster -------------------------------------------------------------------------------------------------

    def current_image(self) -> str | None:
        return self.rollout_.current_image()

    def current_templates(self) -> tuple:
        return self.rollout_.current_templates()

    def migrate(
        self, image: str, release_id: str, *, versions: tuple[str, ...], post_deploy: bool, cancel: threading.Event
    ) -> Diagnosis | None:
        from shipit.kube.migration_job import MigrationJob

        command = tuple(self.cfg.migration.command)
        if not post_deploy:
            post = tuple(m.version for m in self._plan.post_deploy)
            try:
                command = pre_deploy_command(command, versions, post, self.applied_versions())
            except ShipitError as e:
                return Diagnosis("the pre-deploy migrations cannot be run on their own", str(e))
        job = MigrationJob(
            self.kube, self.cfg, image=image, release_id=f"{release_id}-post" if post_deploy else release_id,
            command=command, on_log=lambda line: self.view.line("migrate", line),
        )
        self._schema_before = self._schema(versions)  # what a failure's partial-state report compares removals with
        with _MdlWatch(self._mdl_guard(versions), self.view) as watch:
            outcome = job.run(cancel=_UnlessLockLost(cancel, self._lock))
        if outcome.succeeded:
            return None
        if watch.killed is not None:
            return mdl_diagnosis(*watch.killed, log_tail=outcome.failure.log_tail if outcome.failure else outcome.log_tail)
        if outcome.failure is None:
            return Diagnosis(f"migration Job {outcome.job_name} failed", "no details", details=outcome.log_tail)
        f = outcome.failure
        sql = database_error(f.log_tail)
        why = f"{f.why}; {sql}" if sql else f.why
        return Diagnosis(f.what, why, details=tuple(f.render().splitlines()[1:]))

    def _mdl_guard(self, versions: tuple[str, ...]):
        """The watchdog for these migrations: our DDL is the Rails lock holder's, on the tables they change (any
        table when one of them runs raw SQL)."""
        from shipit.db.mdl import MdlPolicy, MigrationGuard

        ops = [op for m in self._plan.migrations if m.version in versions for op in m.operations]
        tables = None if any(op.table is None for op in ops) else frozenset(op.table.lower() for op in ops)
        wait, users = self.cfg.migration.lock_wait_max, frozenset(self.cfg.migration.kill_idle_blockers)
        policy = MdlPolicy(ddl_wait_s=wait, victim_wait_s=wait, kill_blockers=bool(users), blocker_users=users)
        return MigrationGuard(self.servers.primary, policy, tables)

    def _rollout_progress(self, p) -> None:
        self.view.progress(
            f"{p.deployment}: {p.updated}/{p.desired} updated, {p.ready} ready, {p.available} available, {p.old} old"
        )

    def rollout(self, image: str, *, cancel: threading.Event) -> Diagnosis | None:
        self.rollout_.apply(image)
        outcome = self.rollout_.watch(timeout=self.cfg.rollout.timeout, cancel=cancel)
        return None if outcome.succeeded else _from_failures(outcome.failures, "the rollout failed")

    def restore(self, templates: tuple) -> Diagnosis | None:
        self.revert_started = time.time()
        if templates:
            self.rollout_.restore(templates)
        else:  # nothing recorded (records pruned, or deployed before shipit): `kubectl rollout undo`'s rule
            self.rollout_.undo()
        outcome = self.rollout_.watch(timeout=self.cfg.rollout.timeout)
        return None if outcome.succeeded else _from_failures(outcome.failures, "the revert did not become healthy")

    def git_revert(self, release_id: str, from_sha: str, to_sha: str) -> str:
        from shipit.adapters.git_revert import revert_release

        return revert_release(
            self.cfg.repo, from_sha, to_sha, mode=self.cfg.rollback.git_revert, release_id=release_id
        ).describe()

    def close(self) -> None:
        if self._servers is not None:
            self._servers.close()

