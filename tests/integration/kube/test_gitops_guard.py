"""The GitOps refusal reads the configured Deployments from the cluster and stops before anything changes."""

from __future__ import annotations

import dataclasses

import pytest

from shipit.adapters.code.guard import refuse_image_patch
from shipit.core.config_code import CodeConfig, CodeStrategy
from shipit.core.errors import BadInput, ExitCode
from tests.integration.kube.conftest import create_deployment, deployment_manifest
from tests.support.kube_snapshots import make_config


def argo_managed(manifest: dict) -> dict:
    manifest["metadata"]["annotations"] = {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:default/web"}
    return manifest


def test_an_argo_managed_deployment_is_refused_in_image_mode_and_left_untouched(kube):
    create_deployment(kube, argo_managed(deployment_manifest("web")))
    create_deployment(kube, deployment_manifest("worker", replicas=1, sidecar=False))
    before = kube.get_json(kube.apps.read_namespaced_deployment, "web", "default")
    cfg = make_config(deployments=(("web", ()), ("worker", ())))
    with pytest.raises(BadInput) as e:
        refuse_image_patch(kube, cfg)
    assert e.value.exit_code is ExitCode.BAD_INPUT
    message = str(e.value)
    assert "Deployment web is applied by Argo CD (annotation argocd.argoproj.io/tracking-id)" in message
    assert "would revert shipit's change" in message and "code.strategy: gitops" in message
    assert "worker" not in message
    after = kube.get_json(kube.apps.read_namespaced_deployment, "web", "default")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_plain_deployments_and_the_gitops_strategy_pass(kube):
    create_deployment(kube, argo_managed(deployment_manifest("web")), wait_ready=False)
    create_deployment(kube, deployment_manifest("worker", replicas=1, sidecar=False), wait_ready=False)
    refuse_image_patch(kube, make_config(deployments=(("worker", ()),)))
    gitops = dataclasses.replace(make_config(), code=CodeConfig(strategy=CodeStrategy.GITOPS))
    refuse_image_patch(kube, gitops)
