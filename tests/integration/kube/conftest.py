"""Fixtures for shipit's Kubernetes layer: a Kube client on a cluster over real HTTP, and app objects.

The cluster is the real control plane of tests/cluster (tests/cluster/world.py's RealWorld: the session's cluster,
namespace `default` emptied before each test) when Go is present, else kubesim; SHIPIT_TEST_CLUSTER=kubesim|real
chooses. Tests marked `api_faults` (429/500/503, cut watches, expired resourceVersions) run on both worlds when the
real one is selected: there through tests/cluster/faultproxy.py in front of the API server. Tests marked
`kubesim_only` always run on kubesim."""

from __future__ import annotations

import copy
import os
import time

import pytest

from shipit.core.config import KubernetesConfig
from shipit.kube.client import Kube
from tests.cluster.build import go_binary

APP_IMAGE = "registry.example.com/shop"


WORLD = os.environ.get("SHIPIT_TEST_CLUSTER") or ("real" if go_binary() else "kubesim")


def pytest_generate_tests(metafunc):
    if WORLD == "real" and metafunc.definition.get_closest_marker("api_faults"):
        metafunc.parametrize("world", ["real", "kubesim"], indirect=True)


@pytest.fixture
def world(request) -> str:
    return getattr(request, "param", WORLD)


@pytest.fixture
def kubesim(request, world, kubesim_factory, tmp_path):
    """The cluster of the selected world (named `kubesim` because the tests were written against it)."""
    if world == "real" and not request.node.get_closest_marker("kubesim_only"):
        from tests.cluster.world import RealWorld
        real = RealWorld(request.getfixturevalue("real_cluster"), tmp_path / "kubeconfig",
                         fault_proxy=bool(request.node.get_closest_marker("api_faults")))
        yield real
        real.close()
        return
    yield kubesim_factory(k8s_version="1.33")


@pytest.fixture
def kube(kubesim):
    k = Kube.from_config(KubernetesConfig(namespace="default", kubeconfig=str(kubesim.kubeconfig)))
    k.retry_budget = 10.0
    yield k
    k.api_client.close()


def deployment_manifest(name: str = "web", *, image: str = f"{APP_IMAGE}:v1", replicas: int = 2, sidecar: bool = True,
                        env_from_secret: str | None = None, progress_deadline: int = 600) -> dict:
    containers = [{"name": "web", "image": image, "env": [{"name": "RAILS_ENV", "value": "production"}]}]
    if env_from_secret:
        containers[0]["envFrom"] = [{"secretRef": {"name": env_from_secret}}]
    if sidecar:
        containers.append({"name": "nginx", "image": "nginx:1.27"})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": progress_deadline,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
        },
    }


def create_deployment(kube: Kube, manifest: dict, *, wait_ready: bool = True, timeout: float = 15.0) -> dict:
    """The Deployment as a person's tooling creates it (field manager `tests`, not shipit), optionally until ready."""
    kube.send(kube.apps.create_namespaced_deployment, kube.namespace, copy.deepcopy(manifest), field_manager="tests")
    name = manifest["metadata"]["name"]
    deadline = time.monotonic() + timeout
    while wait_ready:
        d = kube.get_json(kube.apps.read_namespaced_deployment, name, kube.namespace)
        st = d.get("status") or {}
        want = manifest["spec"]["replicas"]
        if st.get("observedGeneration", 0) >= d["metadata"]["generation"] and st.get("availableReplicas", 0) == want == st.get("updatedReplicas", 0) == st.get("replicas", 0):
            return d
        assert time.monotonic() < deadline, f"Deployment {name} never became available: {st}"
        time.sleep(0.05)
    return kube.get_json(kube.apps.read_namespaced_deployment, name, kube.namespace)
