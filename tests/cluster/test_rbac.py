"""RBAC on the real API server: config/rbac.yaml gives shipit's ServiceAccount exactly what shipit uses (a missing verb
would fail a release, an extra one is caught here), and kubectl's typed commands work against the real cluster."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.real_cluster

# (verb, resource) pairs shipit's code uses, as listed in config/rbac.yaml.
NEEDED = [
    ("get", "deployments.apps"), ("list", "deployments.apps"), ("watch", "deployments.apps"),
    ("patch", "deployments.apps"),
    ("list", "replicasets.apps"), ("watch", "replicasets.apps"),
    ("create", "jobs.batch"), ("get", "jobs.batch"), ("list", "jobs.batch"), ("watch", "jobs.batch"),
    ("delete", "jobs.batch"),
    ("list", "pods"), ("watch", "pods"), ("get", "pods/log"), ("list", "events"),
    ("get", "configmaps"), ("list", "configmaps"), ("create", "configmaps"), ("update", "configmaps"),
    ("delete", "configmaps"),
    ("get", "statefulsets.apps"), ("patch", "statefulsets.apps"), ("get", "cronjobs.batch"),
    ("patch", "cronjobs.batch"),  # the image strategy over workloads:
    ("list", "controllerrevisions.apps"),  # a revert with no recorded template: a StatefulSet's previous revision
    ("delete", "pods"),  # a code strategy's revert deletes the failed revision's pods an OrderedReady set waits on
    ("get", "leases.coordination.k8s.io"), ("create", "leases.coordination.k8s.io"),
    ("update", "leases.coordination.k8s.io"), ("delete", "leases.coordination.k8s.io"),
]
FORBIDDEN = [
    ("delete", "deployments.apps"), ("create", "deployments.apps"), ("update", "deployments.apps"),
    ("get", "secrets"), ("list", "secrets"), ("watch", "secrets"),
    ("create", "pods"), ("patch", "jobs.batch"), ("delete", "replicasets.apps"),
    ("create", "pods/exec"), ("update", "roles.rbac.authorization.k8s.io"),
]


def can_i(cluster, ns: str, verb: str, resource: str, **kw) -> str:
    # `can-i get pods/log` would ask about the pod named "log": a subresource is a flag.
    resource, _, sub = resource.partition("/")
    extra = [f"--subresource={sub}"] if sub else []
    r = cluster.kubectl("auth", "can-i", verb, resource, *extra, "-n", ns, **kw)
    assert r.returncode in (0, 1), r.stderr
    return r.stdout.strip()


def test_the_shipit_service_account_can_do_what_shipit_needs(real_cluster, cluster_namespace, shipit_kubeconfig):
    answers = {(v, r): can_i(real_cluster, cluster_namespace, v, r, kubeconfig=shipit_kubeconfig) for v, r in NEEDED}
    assert {k: a for k, a in answers.items() if a != "yes"} == {}


def test_the_shipit_service_account_cannot_delete_deployments_nor_read_secrets(real_cluster, cluster_namespace,
                                                                                shipit_kubeconfig):
    answers = {(v, r): can_i(real_cluster, cluster_namespace, v, r, kubeconfig=shipit_kubeconfig)
               for v, r in FORBIDDEN}
    assert {k: a for k, a in answers.items() if a != "no"} == {}


def test_the_service_account_may_get_only_the_named_secret(real_cluster, cluster_namespace, shipit_kubeconfig):
    """config/rbac.yaml's resourceNames rule: `get` on Secret shop-db (its values are masked), nothing else."""
    def can(verb: str, target: str) -> str:
        r = real_cluster.kubectl("auth", "can-i", verb, target, "-n", cluster_namespace, kubeconfig=shipit_kubeconfig)
        assert r.returncode in (0, 1), r.stderr
        return r.stdout.strip()

    assert can("get", "secrets/shop-db") == "yes"
    assert [can(v, t) for v, t in (("get", "secrets/shop-api"), ("list", "secrets"), ("update", "secrets/shop-db"))] \
        == ["no", "no", "no"]


def test_impersonating_the_service_account_gives_the_same_answers(real_cluster, cluster_namespace,
                                                                   shipit_kubeconfig):
    who = f"--as=system:serviceaccount:{cluster_namespace}:shipit"
    r = real_cluster.kubectl("auth", "can-i", "patch", "deployments.apps", "-n", cluster_namespace, who)
    assert (r.returncode, r.stdout.strip()) == (0, "yes"), r.stderr
    r = real_cluster.kubectl("auth", "can-i", "delete", "deployments.apps", "-n", cluster_namespace, who)
    assert (r.returncode, r.stdout.strip()) == (1, "no"), r.stderr
    r = real_cluster.kubectl("auth", "can-i", "get", "secrets", "-n", "default", who)
    assert r.stdout.strip() == "no"


def test_the_service_account_token_reaches_the_api_and_is_refused_outside_its_role(real_cluster, cluster_namespace,
                                                                                   shipit_kubeconfig):
    ns = cluster_namespace
    r = real_cluster.kubectl("get", "deployments", "-n", ns, kubeconfig=shipit_kubeconfig)
    assert r.returncode == 0, r.stderr
    r = real_cluster.kubectl("get", "secrets", "-n", ns, kubeconfig=shipit_kubeconfig)
    assert r.returncode != 0
    assert f'User "system:serviceaccount:{ns}:shipit" cannot list resource "secrets"' in r.stderr


def test_kubectl_typed_create_commands_work(real_cluster, cluster_namespace):
    ns = cluster_namespace
    for args in (("deployment", "web", "--image=web:v1"), ("job", "once", "--image=tool:v1"),
                 ("configmap", "settings", "--from-literal=mode=fast")):
        r = real_cluster.kubectl("create", *args, "-n", ns)
        assert r.returncode == 0, r.stderr
    cm = json.loads(real_cluster.kubectl("get", "configmap", "settings", "-n", ns, "-o", "json").stdout)
    assert cm["data"] == {"mode": "fast"}
    r = real_cluster.kubectl("get", "deployment/web", "job/once", "-n", ns, "-o", "name")
    assert r.stdout.split() == ["deployment.apps/web", "job.batch/once"]


def test_the_cluster_admin_can_do_anything(real_cluster, cluster_namespace):
    assert can_i(real_cluster, cluster_namespace, "delete", "deployments.apps") == "yes"
    assert can_i(real_cluster, cluster_namespace, "*", "*") == "yes"
