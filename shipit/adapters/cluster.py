"""The cluster port over `shipit.kube`: the workloads' templates and health, the migration Job (watched by the
metadata-lock watchdog on the primary), the code rollout and the restore of recorded templates."""

from __future__ import annotations

import threading

from shipit.adapters.ddl_progress import DdlProgressWatch, hang_diagnosis
from shipit.adapters.mdl_watch import MdlWatch, mdl_diagnosis, migration_guard
from shipit.adapters.planner import migrations
from shipit.adapters.rails_log import database_error
from shipit.core.config import Config
from shipit.release.diagnosis import Diagnosis, PhaseFailed, from_failures
from shipit.release.ports import Cancel, CodeContext
from shipit.release.state import PlanFacts


class ToolProgress:
    """The migration Job's log, shown as it comes; an online schema change tool's progress lines (gh-ost, pt-osc,
    LHM) also become the live progress, so a long copy shows how far it is and a postponed cut-over says so."""

    def __init__(self, view) -> None:
        self.view = view
        self.last = None

    def line(self, text: str) -> None:
        from shipit.db.osc import parse_progress

        self.view.line("migrate", text)
        for part in text.split("\r"):  # LHM redraws its percentage with carriage returns
            progress = parse_progress(part)
            if progress is not None:
                self.last = progress
                self.view.progress(progress.describe())

    def summary(self) -> str:
        """For a Job that succeeded: the tool ran to its end (its last progress line is rarely 100%)."""
        if self.last is None:
            return ""
        return f"{self.last.tool.value} finished (last progress line: {self.last.pct:.0f}%)"


class AnyOf:
    """Set when any of its events is: the release's cancel, or a watch that must stop the Job."""

    def __init__(self, *events) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


class KubeCluster:
    def __init__(self, cfg: Config, kube, view, database):
        from shipit.adapters.code.image import ImageRollout

        self.cfg, self.kube, self.view, self.database = cfg, kube, view, database
        self.rollout_ = ImageRollout(kube, cfg, on_progress=self._rollout_progress, on_text=view.progress)

    def current_image(self) -> str | None:
        return self.rollout_.current_image()

    def current_templates(self) -> tuple:
        return self.rollout_.current_templates()

    def unrecorded(self, templates: tuple) -> tuple[str, ...]:
        return self.rollout_.unrecorded(templates)

    def app_images(self) -> tuple:
        from shipit.kube.serving import read_images

        return read_images(self.kube, self.cfg)

    def boot_commands(self) -> tuple[tuple[str, ...], frozenset[str]]:
        """The configured Deployments' container commands (command + args, one string each) and the names of the
        environment variables they set: what the plan's boot-time migration check reads from the cluster."""
        from shipit.adapters.code.guard import configured_deployments

        commands, env = [], set()
        for d in configured_deployments(self.kube, self.cfg):
            for c in ((d.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
                argv = list(c.get("command") or []) + list(c.get("args") or [])
                if argv:
                    commands.append(" ".join(argv))
                env.update(e["name"] for e in c.get("env") or [] if e.get("name"))
        return tuple(commands), frozenset(env)

    def unhealthy_workloads(self) -> tuple[str, ...]:
        from shipit.kube.serving import read_unhealthy

        return read_unhealthy(self.kube, self.cfg)

    def migrate(self, facts: PlanFacts, *, image: str, job_id: str, command: tuple[str, ...],
                versions: tuple[str, ...], cancel: Cancel) -> None:
        from shipit.kube.migration_job import MigrationJob

        tool = ToolProgress(self.view)
        job = MigrationJob(self.kube, self.cfg, image=image, release_id=job_id, command=command,
                           on_log=tool.line, on_progress=self.view.progress)
        chosen = migrations(facts, versions)
        with MdlWatch(migration_guard(self.database, self.cfg, chosen), self.view) as watch, \
                DdlProgressWatch(self.database.ddl_servers(), self.view,
                                 osc_servers=self.database.primaries_of(chosen)) as ddl:
            outcome = job.run(cancel=AnyOf(cancel, ddl.stop_job))
        if outcome.succeeded:
            return "; ".join(filter(None, (tool.summary(), *outcome.notes)))
        if ddl.hung is not None and not cancel.is_set():
            tail = outcome.failure.log_tail if outcome.failure else outcome.log_tail
            raise PhaseFailed(hang_diagnosis(ddl.hung, outcome.job_name, tail))
        if watch.killed is not None:
            tail = outcome.failure.log_tail if outcome.failure else outcome.log_tail
            raise PhaseFailed(mdl_diagnosis(*watch.killed, log_tail=tail))
        if outcome.failure is None:
            raise PhaseFailed(Diagnosis(f"migration Job {outcome.job_name} failed", "no details", details=outcome.log_tail))
        f = outcome.failure
        sql = database_error(f.log_tail)
        raise PhaseFailed(Diagnosis(f.what, f"{f.why}; {sql}" if sql else f.why, details=(*f.evidence(), *outcome.notes)))

    def _rollout_progress(self, p) -> None:
        self.view.rollout_progress(p)

    def check_code(self, to_sha: str, image: str) -> None:
        """Before the lock: GitOps-managed workloads refuse a strategy that changes the cluster itself, and a
        strategy's own preflight (a chart hook that migrates, a render without the app's image) stops bad input."""
        from shipit.adapters.code.guard import refuse_image_patch

        strategy = self._strategy(CodeContext("", to_sha, {}, {}))
        if strategy is None:
            refuse_image_patch(self.kube, self.cfg)
        else:
            strategy.preflight(image)

    def _strategy(self, code: CodeContext | None):
        """The configured code strategy's adapter, or None for `image` (the Deployments' templates patched here)."""
        from shipit.adapters.code.select import strategy_for
        from shipit.kube.applied import unpack

        if code is None:
            return None
        previous = unpack(code.previous["objects"]) if code.previous.get("objects") else ()
        return strategy_for(self.cfg, self.kube, release_id=code.release_id, to_sha=code.to_sha, previous=previous,
                            applied_revision=code.applied.get("revision", ""),
                            on_progress=lambda verdict: self.view.progress(verdict.describe()))

    def rollout(self, image: str, *, cancel: threading.Event, code: CodeContext | None = None,
                on_applied=None) -> None:
        strategy = self._strategy(code)
        if strategy is None:
            self.rollout_.apply(image)
            outcome = self.rollout_.watch(timeout=self.cfg.rollout.timeout, cancel=cancel)
        else:
            applied = strategy.apply(image)
            if on_applied is not None:  # recorded before the watch: a revert or a resume needs what was applied
                on_applied({"strategy": self.cfg.code.strategy.value, "objects": applied.packed(),
                            "revision": applied.revision})
            if applied.dropped:
                self.view.progress(applied.describe_dropped())
            outcome = strategy.watch(applied, timeout=self.cfg.rollout.timeout, cancel=cancel)
        if not outcome.succeeded:
            raise PhaseFailed(from_failures(outcome.failures, "the rollout failed"))

    def restore(self, templates: tuple, *, cancel: Cancel | None = None, code: CodeContext | None = None) -> None:
        strategy = self._strategy(code)
        manifests_without_previous = strategy is not None and not code.previous.get("objects") and \
            self.cfg.code.strategy.value in ("manifests", "kustomize")
        if strategy is not None and not manifests_without_previous:
            from shipit.adapters.code.port import Applied
            from shipit.kube.applied import unpack

            objects = unpack(code.previous["objects"]) if code.previous.get("objects") else ()
            outcome = strategy.revert(Applied(objects, revision=code.previous.get("revision", "")),
                                      timeout=self.cfg.rollout.timeout)
            if not outcome.succeeded:
                raise PhaseFailed(from_failures(outcome.failures, "the revert did not become healthy"))
            return
        # the image strategy, or the first manifests release (no rendered objects on record): the templates recorded
        # before the release are what ran
        from shipit.kube.undo import NoHistory

        try:
            if templates:
                self.rollout_.restore(templates)
            else:  # nothing recorded (records pruned, or deployed before shipit): each kind's `rollout undo` rule
                self.rollout_.undo()
        except NoHistory as e:
            raise PhaseFailed(Diagnosis("no previous template to put back", str(e))) from None
        outcome = self.rollout_.watch(timeout=self.cfg.rollout.timeout, cancel=cancel, reverting=True)
        if not outcome.succeeded:
            raise PhaseFailed(from_failures(outcome.failures, "the revert did not become healthy"))
