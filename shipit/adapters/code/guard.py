"""Preflight's GitOps check: read the objects shipit would change and refuse before anything changes."""

from __future__ import annotations

from typing import Any

from shipit.core.errors import BadInput
from shipit.adapters.code.image import ImageRollout
from shipit.kube.serving import app_containers, read_workload
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


def refuse_image_patch(kube: Any, cfg: Any) -> None:
    """BadInput (exit 3) when the image strategy could not patch what is configured: a workload applied by Argo CD
    or Flux, configured containers a workload does not have, a missing workload or a StatefulSet an image patch would
    not roll out (OnDelete)."""
    deployments = configured_deployments(kube, cfg)
    others = [(w, read_workload(kube, w.kind.value, w.name)) for w in cfg.workloads]
    why = gitops_refusal(cfg.code.strategy, deployments + [obj for _, obj in others])
    if why:
        raise BadInput(why)
    for d, dep_cfg in zip(deployments, cfg.deployments):
        app_containers(d, dep_cfg.containers, cfg.image.repository)
    ImageRollout(kube, cfg).refuse(others)
