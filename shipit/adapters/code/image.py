"""The `image` strategy over every configured workload: Deployments through `kube/rollout.py` (their ReplicaSets,
watched live), StatefulSets and CronJobs by patching the pod template at their kind's path and watching each by its
kind's rule (`kube/workloads.py`, the same rules as the manifests strategies). A CronJob is rolled out once its
template carries the image; a StatefulSet whose updateStrategy is OnDelete is refused before anything changes."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from shipit.adapters.code import watch as generic
from shipit.core.errors import BadInput
from shipit.core.log import get_logger
from shipit.kube.rollout import DeploymentTemplate, Rollout, RolloutProgress
from shipit.kube.serving import app_containers, read_workload
from shipit.kube.undo import undo
from shipit.kube.workloads import KINDS

log = get_logger()


def _patchers(kube: Any) -> dict[str, Callable[..., Any]]:
    """Kind -> its patch method (named in full, so config/rbac.yaml's check sees each one)."""
    return {"StatefulSet": kube.apps.patch_namespaced_stateful_set, "CronJob": kube.batch.patch_namespaced_cron_job}


class ImageRollout:
    def __init__(self, kube: Any, cfg: Any, *, on_progress: Callable[[RolloutProgress], None] | None = None,
                 on_text: Callable[[str], None] | None = None):
        self.kube, self.cfg, self.on_text = kube, cfg, on_text
        self.deployments = Rollout(kube, cfg, on_progress=on_progress)

    def current_image(self) -> str | None:
        return self.deployments.current_image()

    def _others(self) -> list[tuple[Any, dict]]:
        """The configured StatefulSets and CronJobs with their objects as the API server has them."""
        return [(w, read_workload(self.kube, w.kind.value, w.name)) for w in self.cfg.workloads]

    def refuse(self, others: list[tuple[Any, dict]] | None = None) -> None:
        """BadInput (exit 3) before anything changes: a workload an image patch would not roll out, or configured
        containers it lacks."""
        for w, obj in self._others() if others is None else others:
            app_containers(obj, w.containers, self.cfg.image.repository)
            why = KINDS[w.kind.value].unpatchable(obj)
            if why:
                raise BadInput(why)

    def current_templates(self) -> tuple[DeploymentTemplate, ...]:
        out = list(self.deployments.current_templates())
        for w, obj in self._others():
            template = KINDS[w.kind.value].pod_template(obj) or {}
            images = {c["name"]: c.get("image", "") for c in (template.get("spec") or {}).get("containers") or []}
            out.append(DeploymentTemplate(w.name, copy.deepcopy(template), images, w.kind.value))
        return tuple(out)

    def apply(self, image: str) -> None:
        """Every workload's app containers set to `image`; all are read and checked before the first patch."""
        others = self._others()
        self.refuse(others)
        plans = [(w, tuple(app_containers(obj, w.containers, self.cfg.image.repository))) for w, obj in others]
        self.deployments.apply(image)
        patch = _patchers(self.kube)
        for w, containers in plans:
            body = KINDS[w.kind.value].image_patch(containers, image)
            self.kube.send(patch[w.kind.value], w.name, self.kube.namespace, body)
            log.info("workload image set", kind=w.kind.value, name=w.name, containers=list(containers), image=image)

    def _unrecorded(self, templates: tuple[DeploymentTemplate, ...]) -> list[Any]:
        recorded = {(t.kind, t.name) for t in templates}
        return [w for w in self.cfg.all_workloads() if (w.kind.value, w.name) not in recorded]

    def unrecorded(self, templates: tuple[DeploymentTemplate, ...]) -> tuple[str, ...]:
        """The configured workloads `templates` hold no template of, as `Kind/name`."""
        return tuple(f"{w.kind.value}/{w.name}" for w in self._unrecorded(templates))

    def restore(self, templates: tuple[DeploymentTemplate, ...]) -> None:
        """Put back each recorded pod template whole, by its kind's path; a configured workload the record lacks (a
        record made before it was configured) goes back by its kind's undo rule, all planned before the first patch."""
        unrecorded = self._unrecorded(templates)
        if unrecorded:
            undo(self.kube, [read_workload(self.kube, w.kind.value, w.name) for w in unrecorded])
        self.deployments.restore(tuple(t for t in templates if t.kind == "Deployment"))
        patch = _patchers(self.kube)
        for t in templates:
            if t.kind != "Deployment":
                body = KINDS[t.kind].template_patch(t.template)
                self.kube.send(patch[t.kind], t.name, self.kube.namespace, body)
                log.info("workload template restored", kind=t.kind, name=t.name, images=t.images)

    def undo(self) -> None:
        """No templates on record: every workload back to its previous template by its kind's rule (`kube/undo.py`),
        or NoHistory before anything changes."""
        undo(self.kube, [read_workload(self.kube, w.kind.value, w.name) for w in self.cfg.all_workloads()])

    def watch(self, *, timeout: float, cancel: threading.Event | None = None, reverting: bool = False):
        """Deployments alone: their live watch. With other kinds: every workload by its kind's rule, polled; a revert
        also deletes the pods of the failed revision an OrderedReady StatefulSet would wait on."""
        if not self.cfg.workloads:
            return self.deployments.watch(timeout=timeout, cancel=cancel)
        objects = tuple(read_workload(self.kube, w.kind.value, w.name) for w in self.cfg.all_workloads())
        on_progress = (lambda v: self.on_text(v.describe())) if self.on_text else None
        return generic.watch(self.kube, objects, timeout=timeout, ready_grace=self.cfg.rollout.ready_grace,
                             cancel=cancel, on_progress=on_progress, reverting=reverting)

