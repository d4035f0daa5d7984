"""`code.strategy: manifests | kustomize`: the app repository's directory rendered at the release's commit, the
image set where `image.repository` runs, applied server-side as field manager `shipit`, every object watched by its
kind's rule. Revert applies the previous release's objects and watches them as a revert (see `watch`)."""

from __future__ import annotations

import copy
import threading
from typing import Any

from shipit.adapters.code.kubectl import Kubectl
from shipit.adapters.code.port import Applied, Outcome
from shipit.adapters.code.render import render
from shipit.adapters.code.watch import watch
from shipit.core.config_code import CodeStrategy
from shipit.core.errors import BadInput
from shipit.core.log import get_logger
from shipit.kube.applied import Ref, dropped
from shipit.kube.workloads import gitops_refusal, kind_of, set_image

log = get_logger()


def with_image(objects: list[dict], repository: str, image: str) -> tuple[dict, ...]:
    """Copies of `objects` with `image` wherever `repository` runs; BadInput when nothing runs it."""
    out = tuple(copy.deepcopy(o) for o in objects)
    if not any([set_image(o, repository, image) or _runs(o, image) for o in out]):  # a list: every object is set
        raise BadInput(f"code.path: no rendered container runs image.repository {repository}; "
                       f"check image.repository or the manifests")
    return out


def _runs(obj: dict, image: str) -> bool:
    return image in kind_of(obj).images(obj).values()


def recorded_secrets_skipped(objects: tuple[dict, ...]) -> tuple[tuple[dict, ...], tuple[Ref, ...]]:
    """A recorded Secret has no values (they are never recorded): applying it would drop them, so it is skipped."""
    keep = tuple(o for o in objects if not (o.get("kind") == "Secret" and "data" not in o and "stringData" not in o))
    return keep, tuple(Ref.of(o) for o in objects if o not in keep)


class ManifestsStrategy:
    def __init__(self, kube: Any, cfg: Any, *, to_sha: str, previous: tuple[dict, ...] = (),
                 kubectl: Kubectl | None = None, on_progress=None):
        self.kube, self.cfg, self.to_sha, self.previous = kube, cfg, to_sha, previous
        self.kubectl = kubectl or Kubectl(cfg.kubernetes)
        self.on_progress = on_progress

    def render(self, sha: str, image: str) -> tuple[dict, ...]:
        objects = render(self.cfg.repo, sha, self.cfg.code.path, kustomize=self.cfg.code.strategy is
                         CodeStrategy.KUSTOMIZE, kubectl=self.kubectl)
        return with_image(objects, self.cfg.image.repository, image)

    def _refuse_gitops(self, objects: tuple[dict, ...]) -> None:
        why = gitops_refusal(self.cfg.code.strategy, [*objects, *self.kubectl.live(list(objects))])
        if why:
            raise BadInput(why)

    def preflight(self, image: str) -> None:
        """Before anything changes: the directory renders at the commit, runs the app's image, and none of its
        objects is applied by a GitOps controller."""
        self._refuse_gitops(self.render(self.to_sha, image))

    def apply(self, image: str) -> Applied:
        objects = self.render(self.to_sha, image)
        self._refuse_gitops(objects)
        gone = dropped(self.previous, objects)
        self.kubectl.apply(list(objects))
        log.info("manifests applied", objects=[str(Ref.of(o)) for o in objects], image=image)
        if gone and self.cfg.code.prune:
            self.kubectl.delete([f"{r.kind}/{r.name}" for r in gone])
        return Applied(objects, gone, pruned=bool(gone) and self.cfg.code.prune, revision=self.to_sha)

    def watch(self, applied: Applied, *, timeout: float, cancel: threading.Event | None = None) -> Outcome:
        return watch(self.kube, applied.objects, timeout=timeout, ready_grace=self.cfg.rollout.ready_grace,
                     cancel=cancel, on_progress=self.on_progress)

    def revert(self, previous: Applied, *, timeout: float) -> Outcome:
        objects, skipped = recorded_secrets_skipped(previous.objects)
        if skipped:
            log.warning("recorded secrets not re-applied (their values are not recorded)", secrets=list(map(str, skipped)))
        self.kubectl.apply(list(objects))
        return watch(self.kube, objects, timeout=timeout, ready_grace=self.cfg.rollout.ready_grace,
                     on_progress=self.on_progress, reverting=True)
