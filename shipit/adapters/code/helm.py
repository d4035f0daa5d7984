"""`code.strategy: helm`: `helm upgrade --install` with the tag as values, without --wait/--atomic (shipit watches
the release's objects from `helm get manifest` and fails fast where Helm would wait minutes); revert is
`helm rollback` to the revision that was deployed before. A chart hook that runs `db:migrate` before an install or
upgrade would migrate a second time, outside shipit's watched phase: preflight refuses it."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from shipit.adapters.code.kubectl import Kubectl
from shipit.adapters.code.port import Applied, Outcome
from shipit.adapters.code.render import export_tree, parse_manifests
from shipit.adapters.code.watch import watch
from shipit.core.errors import BadInput, ShipitError
from shipit.core.log import get_logger
from shipit.core.redact import redact
from shipit.kube.workloads import gitops_refusal

log = get_logger()
HOOK = "helm.sh/hook"
MIGRATE = "db:migrate"


def migrate_hooks(objects: list[dict]) -> tuple[str, ...]:
    """Chart hooks that run `db:migrate` before an install or upgrade, as `Kind/name`."""
    out = []
    for obj in objects:
        phases = {p.strip() for p in ((obj.get("metadata") or {}).get("annotations") or {}).get(HOOK, "").split(",")}
        if not phases & {"pre-install", "pre-upgrade"}:
            continue
        spec = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {})
        words = [w for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
                 for w in (c.get("command") or []) + (c.get("args") or [])]
        if any(MIGRATE in str(w) for w in words):
            out.append(f"{obj.get('kind')}/{obj['metadata']['name']}")
    return tuple(out)


def set_flags(values: tuple[tuple[str, str], ...], sha: str) -> list[str]:
    return [f"--set={key}={template.format(sha=sha, short_sha=sha[:7])}" for key, template in values]


class HelmStrategy:
    def __init__(self, kube: Any, cfg: Any, *, to_sha: str, applied_revision: str = "", on_progress=None):
        self.kube, self.cfg, self.h, self.to_sha = kube, cfg, cfg.code.helm, to_sha
        self.applied_revision = applied_revision
        self.previous_revision = ""
        self.on_progress = on_progress
        k = cfg.kubernetes
        self._args = ["--namespace", k.namespace, *(["--kube-context", k.context] if k.context else []),
                      *(["--kubeconfig", k.kubeconfig] if k.kubeconfig else [])]

    def _helm(self, *args: str) -> str:
        if shutil.which("helm") is None:
            raise BadInput("code.strategy: helm needs the helm CLI on PATH")
        proc = subprocess.run(["helm", *args, *self._args], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise ShipitError(f"helm {args[0]} failed: {redact(proc.stderr.strip())}")
        return proc.stdout

    def _with_chart(self, fn):
        """`fn(chart)` with the chart as of the release's commit when it is a directory of the app repository."""
        with tempfile.TemporaryDirectory(prefix="shipit-helm-") as tmp:
            local = self.cfg.repo / self.h.chart
            if local.is_dir():
                export_tree(self.cfg.repo, self.to_sha, Path(tmp))
                return fn(str(Path(tmp) / self.h.chart))
            return fn(self.h.chart)

    def preflight(self, image: str, kubectl: Kubectl | None = None) -> None:
        """BadInput when the chart would run db:migrate itself (rendered with `helm template`, hooks included) or
        its objects are applied by a GitOps controller."""
        rendered = self._with_chart(lambda chart: self._helm("template", self.h.release, chart,
                                                             *set_flags(self.h.values, self.to_sha)))
        objects = parse_manifests(rendered, f"helm template {self.h.chart}")
        kubectl = kubectl or Kubectl(self.cfg.kubernetes)
        why = gitops_refusal(self.cfg.code.strategy, [*objects, *kubectl.live(objects)])
        if why:
            raise BadInput(why)
        hooks = migrate_hooks(objects)
        if hooks:
            raise BadInput(f"chart {self.h.chart}: {', '.join(hooks)} runs {MIGRATE} as a pre-install/pre-upgrade "
                           f"hook, so the migration would run twice (shipit runs it as its own watched phase). "
                           f"Remove the hook or turn it off with a value in code.helm.values")

    def _deployed_revision(self) -> str:
        history = json.loads(self._helm("history", self.h.release, "-o", "json", "--max", "20") or "[]")
        deployed = [h for h in history if h.get("status") in ("deployed", "superseded")]
        return str(deployed[-1]["revision"]) if deployed else ""

    def _manifest(self) -> tuple[dict, ...]:
        return tuple(parse_manifests(self._helm("get", "manifest", self.h.release), f"helm get manifest "
                                                                                     f"{self.h.release}"))

    def apply(self, image: str) -> Applied:
        try:
            self.previous_revision = self._deployed_revision()
        except ShipitError:
            self.previous_revision = ""  # first install: nothing to roll back to
        self._with_chart(lambda chart: self._helm("upgrade", "--install", self.h.release, chart,
                                                  *set_flags(self.h.values, self.to_sha)))
        status = json.loads(self._helm("status", self.h.release, "-o", "json"))
        self.applied_revision = str(status.get("version", ""))
        log.info("helm upgraded", release=self.h.release, revision=self.applied_revision, image=image)
        return Applied(self._manifest(), revision=self.applied_revision)

    def watch(self, applied: Applied, *, timeout: float, cancel: threading.Event | None = None) -> Outcome:
        return watch(self.kube, applied.objects, timeout=timeout, ready_grace=self.cfg.rollout.ready_grace,
                     cancel=cancel, on_progress=self.on_progress)

    def revert(self, previous: Applied, *, timeout: float) -> Outcome:
        """`helm rollback` to the revision deployed before this release (the previous record's, else the history's)."""
        target = previous.revision or self.previous_revision
        if not target:
            raise ShipitError(f"helm release {self.h.release} has no earlier revision to roll back to")
        self._helm("rollback", self.h.release, target)
        return watch(self.kube, self._manifest(), timeout=timeout, ready_grace=self.cfg.rollout.ready_grace,
                     on_progress=self.on_progress, reverting=True)
