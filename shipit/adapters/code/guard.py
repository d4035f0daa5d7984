"""Preflight's GitOps check: read the objects shipit would change and refuse before anything changes."""

from __future__ import annotations

from typing import Any

from shipit.core.errors import BadInput
from shipit.kube.workloads import gitops_refusal


def refuse_gitops_managed(kube: Any, cfg: Any) -> None:
    """BadInput (exit 3) when a configured Deployment is applied by Argo CD or Flux and the strategy would patch it."""
    deployments = [kube.get_json(kube.apps.read_namespaced_deployment, d.name, kube.namespace) for d in cfg.deployments]
    why = gitops_refusal(cfg.code.strategy, deployments)
    if why:
        raise BadInput(why)
