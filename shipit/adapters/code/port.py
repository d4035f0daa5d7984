"""The port every code strategy implements, so the orchestrator's code phase is the same for all of them:
`preflight(image)` refuses what would fail or be fought over before anything changes, `apply(image)` changes the cluster (or the GitOps repository) and says what it applied, `watch` follows every applied
object by its kind's rule until all are complete or one fails, `revert` puts the previous release's objects back
and watches them."""

from __future__ import annotations

import dataclasses
import threading
from typing import Protocol

from shipit.kube.applied import Ref, pack
from shipit.kube.failure import Failure
from shipit.kube.workloads import KindVerdict


@dataclasses.dataclass(frozen=True)
class Applied:
    objects: tuple[dict, ...]  # as applied: rendered, image set
    dropped: tuple[Ref, ...] = ()  # in the previous render, not in this one
    pruned: bool = False  # the dropped objects were deleted (code.prune)
    revision: str = ""  # what the strategy changed: a GitOps commit, a Helm revision

    def packed(self) -> str:
        """For the release record (Secrets' values are never recorded; see `pack`)."""
        return pack(self.objects)

    def describe_dropped(self) -> str:
        if not self.dropped:
            return ""
        names = ", ".join(map(str, self.dropped))
        return f"deleted (code.prune): {names}" if self.pruned else \
            f"no longer rendered, left in the cluster (set code.prune: true to delete): {names}"


@dataclasses.dataclass(frozen=True)
class Outcome:
    succeeded: bool
    failures: tuple[Failure, ...]
    duration: float
    verdicts: tuple[KindVerdict, ...] = ()


class CodePort(Protocol):
    def preflight(self, image: str) -> None: ...  # BadInput (exit 3) before anything changes

    def apply(self, image: str) -> Applied: ...

    def watch(self, applied: Applied, *, timeout: float, cancel: threading.Event | None = None) -> Outcome: ...

    def revert(self, previous: Applied, *, timeout: float) -> Outcome: ...
