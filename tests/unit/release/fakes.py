"""One in-memory fake of every port of a release, for the state-machine tests only (no database, no cluster).

It records the calls it received so the tests can assert the order of effects (nothing rolled out before the
migration, revert only after a code-phase failure, lock always released). A failure set in `fail` is raised the way
the ports report one: a Diagnosis as PhaseFailed, an exception as itself (an adapter giving up).
"""

from __future__ import annotations

import dataclasses
import threading

from shipit.core import config
from shipit.core.errors import ExitCode, ShipitError
from shipit.db.health import UsualLoad
from shipit.release.diagnosis import Diagnosis, PhaseFailed
from shipit.release.ports import LockLoss, PartialState, Ports, Preflight
from shipit.release.state import PlanFacts, ReleaseState

CONFIG = """
app: shop
repo: .
image: {repository: registry.example/shop}
deployments: [{name: web}, {name: worker}]
migration: {from_deployment: web, container: app}
database: {url: "mysql://root@127.0.0.1:3306/shop"}
gates: {bake: 2s}
rollback: {automatic: %s, git_revert: %s}
"""


def make_config(*, automatic: bool = True, git_revert: str = "off") -> config.Config:
    return config.parse(CONFIG % ("true" if automatic else "false", git_revert), env={})


@dataclasses.dataclass
class FakeEdges:
    facts: PlanFacts = PlanFacts("a" * 40, "b" * 40, True, pre_deploy=("20240101000000",))
    applied: set = dataclasses.field(default_factory=set)
    fail: dict = dataclasses.field(default_factory=dict)  # edge name -> Diagnosis (or ShipitError to raise)
    job_applies: bool = True  # the migration Job inserts the versions into schema_migrations
    partial: PartialState = PartialState(False, ())
    lock_holder: str | None = None
    records: list = dataclasses.field(default_factory=list)
    calls: list = dataclasses.field(default_factory=list)
    lock_held_by_us: bool = False
    on_call: dict = dataclasses.field(default_factory=dict)  # edge name -> callable run when the edge is called
    taken_over_by: LockLoss | None = None  # who took the lease over from the run (take_over_lock)
    on_lost: object = None
    baselines_taken: int = 0
    gated_with: list = dataclasses.field(default_factory=list)  # the baseline each gate run was given
    serving: str = "registry.example/shop:old"  # the image the fake Deployments run
    rollout_patches: bool = True  # False: the rollout fails before any Deployment changes (the API refuses PATCH)
    readings: tuple = ()  # each gate's last reading, as the gates port returns them
    preflight_notes: tuple = ()  # the database port's preflight notes (never a stop)
    boot: tuple = ()  # the Deployments' container commands, as the cluster port reads them for the boot check
    boot_env: frozenset = frozenset()  # the environment variable names those containers set
    unrecorded_workloads: tuple = ()  # configured workloads a rollback's templates lack

    def _edge(self, name: str, *args):
        self.calls.append((name, *args))
        if name in self.on_call:
            self.on_call[name]()
        outcome = self.fail.get(name)
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, Diagnosis):
            raise PhaseFailed(outcome)

    def ports(self) -> Ports:
        return Ports(records=self, lease=self, planner=self, database=self, cluster=self, gates=self, git=self)

    # records
    def last_successful(self):
        ok = [r for r in self.records if r.status.value == "succeeded"]
        return ok[-1] if ok else None

    def latest(self):
        return self.records[-1] if self.records else None

    def history(self, limit=None):
        return list(reversed(self.records))[:limit]

    def next_sequence(self):
        return max((r.sequence for r in self.records), default=0) + 1

    def save(self, state: ReleaseState):
        self.records = [r for r in self.records if r.id != state.id] + [state]
        self.records.sort(key=lambda r: r.sequence)

    # plan and lock
    def plan(self, from_ref, to_ref, *, accept_manual=False):
        self._edge("plan", from_ref, to_ref, accept_manual)
        return self.facts

    def acquire_lock(self, release_id, *, on_lost):
        self._edge("acquire_lock", release_id)
        if self.lock_holder:
            raise ShipitError(f"lock held by {self.lock_holder}", exit_code=ExitCode.LOCKED)
        self.lock_held_by_us = True
        self.taken_over_by = None
        self.on_lost = on_lost

    def take_over_lock(self, holder: str, release_id: str | None = None):
        """Another run takes the lease, as the real lock's renewal would find it: the loss is reported at once."""
        self.taken_over_by = LockLoss(holder, release_id)
        if self.on_lost is not None:
            self.on_lost()

    def lock_lost(self):
        return self.taken_over_by

    def release_lock(self):
        self._edge("release_lock")
        self.lock_held_by_us = False

    # cluster and database
    def current_image(self):
        return "registry.example/shop:old"

    def current_templates(self):
        return ("web-template-v1", "worker-template-v1")

    def unrecorded(self, templates):
        return self.unrecorded_workloads

    def unhealthy_workloads(self):
        return ()

    def boot_commands(self):
        self._edge("boot_commands")
        return self.boot, self.boot_env

    def preflight(self, facts):
        self._edge("preflight")
        return Preflight((), notes=self.preflight_notes)

    def baseline(self):
        self.baselines_taken += 1
        return f"baseline {self.baselines_taken}"

    def usual_load(self, baseline):
        return (UsualLoad(f"primary ({baseline})", 1.0, 2.0, 5, 0.0),)

    def applied_versions(self):
        """Each version lands in its own database's schema_migrations (`applied` may also hold "queue:<version>":
        a version recorded in that database only)."""
        out: dict[str, set] = {"primary": set()}
        for v in self.applied:
            database, _, version = v.rpartition(":") if ":" in v else (self.facts.database_of(v), "", v)
            out.setdefault(database, set()).add(version)
        return {name: frozenset(versions) for name, versions in out.items()}

    def schema(self, facts, versions):
        return ("schema", versions)

    def migrate(self, facts, *, image, job_id, command, versions, cancel):
        self._edge("migrate", image, versions, job_id.endswith("-post"))
        if self.job_applies:
            self.applied.update(versions)
        return ""

    def partial_state(self, facts, versions, schema_before):
        self.calls.append(("partial_state", versions))
        return self.partial

    def wait_ddl(self, facts, *, timeout, cancel):
        self._edge("wait_ddl", timeout)

    def before_code(self, baseline, *, since, cancel):
        self.gated_with.append(baseline)
        self._edge("gates")
        return self.readings

    def check_code(self, to_sha, image):
        self._edge("check_code", to_sha)

    def rollout(self, image, *, cancel, code=None, on_applied=None):
        if self.rollout_patches:  # the templates change first; a failure is the watch's
            self.serving = image
        self._edge("rollout", image)

    def app_images(self):
        from shipit.kube.serving import WorkloadImages

        return (WorkloadImages("web", {"web": self.serving}), WorkloadImages("worker", {"web": self.serving}))

    def bake(self, baseline, seconds, *, since, cancel):
        self.gated_with.append(baseline)
        self._edge("bake", seconds)
        return self.readings

    def restore(self, templates, *, cancel=None, code=None):
        self._edge("restore", templates)

    def git_revert(self, release_id, from_sha, to_sha):
        self._edge("git_revert", release_id)
        return f"pushed shipit/revert-{release_id}"

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


def diag(what: str) -> Diagnosis:
    return Diagnosis(what, "because the test said so", details=("line 1",))


def cancel_event() -> threading.Event:
    return threading.Event()
