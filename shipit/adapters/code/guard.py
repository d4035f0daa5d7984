"""Preflight's GitOps check: read the objects shipit would change and refuse before anything changes."""

from __future__ import annotations

from typing import Any

from shipit.core.errors import BadInput
from shipit.kube.workloads import gitops_refusal


def configured_deployments(kube: Any, cfg: Any) -> list[dict]:
    """The configured Deployments as the API server has them; one that does not exist is bad input (exit 3), named,
    before anything changes."""
    from kubernetes.client.exceptions import ApiException

    out = []
    for d in cfg.deployments:
        try:
            out.append(kube.get_json(kube.apps.read_namespaced_deployment, d.name, kube.namespace))
        except ApiException as e:
            if e.status != 404:
                raise
            raise BadInput(f"deployments: no Deployment {d.name!r} in namespace {kube.namespace!r}: check the "
                           "deployment names, kubernetes.namespace and kubernetes.context") from None
    return out


def refuse_gitops_managed(kube: Any, cfg: Any) -> None:
    """BadInput (exit 3) when a configured Deployment is applied by Argo CD or Flux and the strategy would patch it."""
    why = gitops_refusal(cfg.code.strategy, configured_deployments(kube, cfg))
    if why:
        raise BadInput(why)
