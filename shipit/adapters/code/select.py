"""Which code strategy a release uses: `code.strategy` picks the adapter; `image` keeps the orchestrator's own
Deployment rollout (kube/rollout.py), so it returns None."""

from __future__ import annotations

from typing import Any

from shipit.adapters.code.port import CodePort
from shipit.core.config_code import CodeStrategy


def strategy_for(cfg: Any, kube: Any, *, release_id: str, to_sha: str, previous: tuple[dict, ...] = (),
                 applied_revision: str = "", on_progress=None) -> CodePort | None:
    """`previous`: the objects the last successful release recorded; `applied_revision`: what this release already
    pushed or installed, from its own record when it resumes."""
    strategy = cfg.code.strategy
    if strategy in (CodeStrategy.MANIFESTS, CodeStrategy.KUSTOMIZE):
        from shipit.adapters.code.manifests import ManifestsStrategy

        return ManifestsStrategy(kube, cfg, to_sha=to_sha, previous=previous, on_progress=on_progress)
    if strategy is CodeStrategy.GITOPS:
        from shipit.adapters.code.gitops import GitOpsStrategy

        return GitOpsStrategy(kube, cfg, release_id=release_id, applied_revision=applied_revision,
                              on_progress=on_progress)
    if strategy is CodeStrategy.HELM:
        from shipit.adapters.code.helm import HelmStrategy

        return HelmStrategy(kube, cfg, to_sha=to_sha, applied_revision=applied_revision, on_progress=on_progress)
    return None
