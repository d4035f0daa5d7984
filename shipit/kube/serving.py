"""What the workloads actually run, and whether the code phase must roll them out.

Git alone cannot say "no code change": someone may have set an image by hand, an earlier release may have skipped the
rollout of a migration-only commit, or a rollout may have been undone. The code phase compares the app containers'
images in every configured workload (Deployments, StatefulSets, CronJobs) with the release's target image and rolls
out whenever any differs; the record then states the images that serve, not the ones intended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from shipit.core.errors import BadInput
from shipit.kube.rollout import image_repository
from shipit.kube.workloads import KINDS, kind_of


@dataclasses.dataclass(frozen=True)
class WorkloadImages:
    """One workload's app containers (those running the app's image) and the image each runs in its template."""

    name: str
    images: Mapping[str, str]  # container -> image
    kind: str = "Deployment"

    @property
    def label(self) -> str:
        """How the record and messages name it: a Deployment by its name (as always), other kinds as Kind/name."""
        return self.name if self.kind == "Deployment" else f"{self.kind}/{self.name}"

    def differs_from(self, target: str) -> tuple[str, ...]:
        return tuple(c for c, image in self.images.items() if image != target)


@dataclasses.dataclass(frozen=True)
class CodeDecision:
    target: str
    current: tuple[WorkloadImages, ...]
    to_roll: tuple[str, ...]  # labels of the workloads with an app container not on the target image

    @property
    def serving(self) -> dict[str, dict[str, str]]:
        """For the release record: workload -> container -> image, as the cluster has it."""
        return {d.label: dict(d.images) for d in self.current}

    def describe(self) -> str:
        """One line: `web, StatefulSet/worker serving <image>`, or each workload's images when they differ; a CronJob
        is said to run it from its next scheduled run (nothing rolls at release time)."""
        images = {image for d in self.current for image in d.images.values()}
        if len(images) == 1:
            line = f"{', '.join(d.label for d in self.current)} serving {images.pop()}"
        else:
            line = "; ".join(f"{d.label} serving {', '.join(sorted(set(d.images.values())))}" for d in self.current)
        cronjobs = [d.name for d in self.current if d.kind == "CronJob"]
        if cronjobs:
            line += f" (CronJob {', '.join(cronjobs)}: template updated, the next run uses it)"
        return line

    def skip_reason(self) -> str:
        return f"every workload already runs {self.target}"


def serving_groups(current: Sequence[WorkloadImages]) -> tuple[str, ...]:
    """Pure: `web, StatefulSet/mailer on <image>`, one per image set; a CronJob runs its image from its next
    scheduled run, and says so."""
    groups: dict[str, list[str]] = {}
    for d in current:
        label = d.label + (" (next run)" if d.kind == "CronJob" else "")
        groups.setdefault(", ".join(sorted(set(d.images.values()))), []).append(label)
    return tuple(f"{', '.join(labels)} on {image}" for image, labels in groups.items())


def app_containers(workload: Mapping[str, Any], containers: Sequence[str], repository: str) -> dict[str, str]:
    """Pure: container -> image for the app's containers of a workload's pod template: the configured ones, or those
    whose image comes from `repository`. Bad input when none match (a typo would otherwise roll nothing out)."""
    kind = workload.get("kind") or "Deployment"
    name = (workload.get("metadata") or {}).get("name", "?")
    where = "deployments" if kind == "Deployment" else "workloads"
    spec = (KINDS[kind].pod_template(dict(workload)) or {}).get("spec") or {}
    images = {c.get("name", ""): c.get("image", "") for c in spec.get("containers") or []}
    if containers:
        missing = [c for c in containers if c not in images]
        if missing:
            raise BadInput(f"{where}[{name}].containers: {', '.join(missing)} not in {kind} {name} "
                           f"(has {', '.join(images)})")
        return {c: images[c] for c in containers}
    found = {c: image for c, image in images.items() if image_repository(image) == repository}
    if not found:
        raise BadInput(f"{kind} {name}: no container uses image repository {repository} (containers: "
                       f"{', '.join(f'{c}={i}' for c, i in images.items())}); name them in {where}[].containers")
    return found


def decide_code(current: Sequence[WorkloadImages], target: str) -> CodeDecision:
    """Pure: roll out every workload whose app containers are not all on `target`, whatever git says changed."""
    to_roll = tuple(d.label for d in current if d.differs_from(target))
    return CodeDecision(target, tuple(current), to_roll)


def read_workload(kube: Any, kind: str, name: str) -> dict:
    """Adapter: one configured workload as the API server has it; a missing one is bad input, named."""
    from kubernetes.client.exceptions import ApiException

    read = {"Deployment": kube.apps.read_namespaced_deployment, "StatefulSet": kube.apps.read_namespaced_stateful_set,
            "CronJob": kube.batch.read_namespaced_cron_job}[kind]
    try:
        obj = kube.get_json(read, name, kube.namespace)
    except ApiException as e:
        if e.status != 404:
            raise
        where = "deployments" if kind == "Deployment" else "workloads"
        raise BadInput(f"{where}: no {kind} {name!r} in namespace {kube.namespace!r}: check the names, "
                       "kubernetes.namespace and kubernetes.context") from None
    obj.setdefault("kind", kind)
    return obj


def read_images(kube: Any, cfg: Any) -> tuple[WorkloadImages, ...]:
    """Adapter: every configured workload's app container images, as the API server has them now."""
    out = []
    for w in cfg.all_workloads():
        obj = read_workload(kube, w.kind.value, w.name)
        out.append(WorkloadImages(w.name, app_containers(obj, w.containers, cfg.image.repository), w.kind.value))
    return tuple(out)


def read_unhealthy(kube: Any, cfg: Any) -> tuple[str, ...]:
    """Adapter: why each configured workload is not healthy enough for a release to start, by its kind's rule."""
    out = []
    for w in cfg.all_workloads():
        obj = read_workload(kube, w.kind.value, w.name)
        problem = kind_of(obj).health_problem(obj)
        if problem:
            out.append(problem)
    return tuple(out)
