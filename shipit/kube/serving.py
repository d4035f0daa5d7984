"""What the Deployments actually run, and whether the code phase must roll them out.

Git alone cannot say "no code change": someone may have set an image by hand, an earlier release may have skipped the
rollout of a migration-only commit, or a rollout may have been undone. The code phase compares the app containers'
images in every Deployment with the release's target image and rolls out whenever any differs; the record then
states the images that serve, not the ones intended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from shipit.core.errors import BadInput
from shipit.kube.rollout import image_repository


@dataclasses.dataclass(frozen=True)
class DeploymentImages:
    """One Deployment's app containers (those running the app's image) and the image each runs in its template."""

    name: str
    images: Mapping[str, str]  # container -> image

    def differs_from(self, target: str) -> tuple[str, ...]:
        return tuple(c for c, image in self.images.items() if image != target)


@dataclasses.dataclass(frozen=True)
class CodeDecision:
    target: str
    current: tuple[DeploymentImages, ...]
    to_roll: tuple[str, ...]  # Deployments with an app container not on the target image

    @property
    def serving(self) -> dict[str, dict[str, str]]:
        """For the release record: Deployment -> container -> image, as the cluster has it."""
        return {d.name: dict(d.images) for d in self.current}

    def describe(self) -> str:
        """One line: `web, worker serving <image>`, or each Deployment's images when they differ."""
        images = {image for d in self.current for image in d.images.values()}
        if len(images) == 1:
            return f"{', '.join(d.name for d in self.current)} serving {images.pop()}"
        return "; ".join(f"{d.name} serving {', '.join(sorted(set(d.images.values())))}" for d in self.current)

    def skip_reason(self) -> str:
        return f"every Deployment already runs {self.target}"


def app_containers(deployment: Mapping[str, Any], containers: Sequence[str], repository: str) -> dict[str, str]:
    """Pure: container -> image for the app's containers of a Deployment: the configured ones, or those whose image
    comes from `repository`. Bad input when none match (a typo would otherwise roll nothing out)."""
    name = (deployment.get("metadata") or {}).get("name", "?")
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    images = {c.get("name", ""): c.get("image", "") for c in spec.get("containers") or []}
    if containers:
        missing = [c for c in containers if c not in images]
        if missing:
            raise BadInput(f"deployments[{name}].containers: {', '.join(missing)} not in Deployment {name} "
                           f"(has {', '.join(images)})")
        return {c: images[c] for c in containers}
    found = {c: image for c, image in images.items() if image_repository(image) == repository}
    if not found:
        raise BadInput(f"Deployment {name}: no container uses image repository {repository} (containers: "
                       f"{', '.join(f'{c}={i}' for c, i in images.items())}); name them in deployments[].containers")
    return found


def decide_code(current: Sequence[DeploymentImages], target: str) -> CodeDecision:
    """Pure: roll out every Deployment whose app containers are not all on `target`, whatever git says changed."""
    to_roll = tuple(d.name for d in current if d.differs_from(target))
    return CodeDecision(target, tuple(current), to_roll)


def read_images(kube: Any, cfg: Any) -> tuple[DeploymentImages, ...]:
    """Adapter: the configured Deployments' app container images, as the API server has them now."""
    out = []
    for dep in cfg.deployments:
        d = kube.get_json(kube.apps.read_namespaced_deployment, dep.name, kube.namespace)
        out.append(DeploymentImages(dep.name, app_containers(d, dep.containers, cfg.image.repository)))
    return tuple(out)
