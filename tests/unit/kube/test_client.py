"""The API client without a server: permission names, loading kubeconfig and the in-cluster service account."""

from __future__ import annotations

import pytest

from shipit.core.errors import ShipitError
from shipit.kube.client import permission_for, query_name, request_path


def test_permission_names():
    assert permission_for("create_namespaced_job") == ("create", "jobs")
    assert permission_for("list_namespaced_pod", watch=True) == ("watch", "pods")
    assert permission_for("read_namespaced_pod_log") == ("get", "pods/log")
    assert permission_for("replace_namespaced_config_map") == ("update", "configmaps")
    assert permission_for("patch_namespaced_deployment_status") == ("patch", "deployments/status")


@pytest.mark.parametrize("group, fn, args, expected", [
    ("/api/v1", "list_namespaced_pod", ("shop",), ("GET", "/api/v1/namespaces/shop/pods", ())),
    ("/api/v1", "read_namespaced_pod_log", ("web-1", "shop"), ("GET", "/api/v1/namespaces/shop/pods/web-1/log", ())),
    ("/api/v1", "create_namespaced_config_map", ("shop", {"b": 1}), ("POST", "/api/v1/namespaces/shop/configmaps", ({"b": 1},))),
    ("/api/v1", "replace_namespaced_config_map", ("r1", "shop", {}), ("PUT", "/api/v1/namespaces/shop/configmaps/r1", ({},))),
    ("/api/v1", "delete_namespaced_config_map", ("r1", "shop"), ("DELETE", "/api/v1/namespaces/shop/configmaps/r1", ())),
    ("/api/v1", "list_pod_for_all_namespaces", (), ("GET", "/api/v1/pods", ())),
    ("/apis/apps/v1", "patch_namespaced_deployment", ("web", "shop", {}), ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web", ({},))),
    ("/apis/apps/v1", "read_namespaced_deployment_scale", ("web", "shop"), ("GET", "/apis/apps/v1/namespaces/shop/deployments/web/scale", ())),
    ("/apis/apps/v1", "list_namespaced_replica_set", ("shop",), ("GET", "/apis/apps/v1/namespaces/shop/replicasets", ())),
    ("/apis/batch/v1", "delete_namespaced_job", ("m", "shop"), ("DELETE", "/apis/batch/v1/namespaces/shop/jobs/m", ())),
    ("/apis/coordination.k8s.io/v1", "create_namespaced_lease", ("shop", {}), ("POST", "/apis/coordination.k8s.io/v1/namespaces/shop/leases", ({},))),
])
def test_api_method_names_map_to_their_rest_paths(group, fn, args, expected):
    assert request_path(group, fn, args) == expected


def test_cluster_scoped_methods_are_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="list_namespace: shipit only calls namespaced"):
        request_path("/api/v1", "list_namespace", ())


def test_keyword_arguments_become_the_api_query_names():
    assert [query_name(k) for k in ("label_selector", "resource_version", "allow_watch_bookmarks", "watch",
                                    "propagation_policy", "_continue")] == \
        ["labelSelector", "resourceVersion", "allowWatchBookmarks", "watch", "propagationPolicy", "continue"]


def test_in_cluster_service_account_when_no_kubeconfig(tmp_path, monkeypatch):
    """In a pod: no kubeconfig, KUBERNETES_SERVICE_HOST set, the service account's token and CA mounted."""
    from kubernetes.config import incluster_config

    from shipit.core.config import KubernetesConfig
    from shipit.kube.client import Kube

    (tmp_path / "token").write_text("sa-token-123")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    kube = Kube.from_config(KubernetesConfig(namespace="shop"))
    conf = kube.api_client.configuration
    assert conf.host == "https://10.0.0.1:443" and conf.auth_settings()["BearerToken"]["value"] == "bearer sa-token-123"
    assert conf.ssl_ca_cert == str(tmp_path / "ca.crt") and kube.namespace == "shop"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    with pytest.raises(ShipitError, match="cannot load Kubernetes configuration"):  # neither kubeconfig nor a pod
        Kube.from_config(KubernetesConfig(namespace="shop"))


def test_kubeconfig_token_is_registered_as_a_secret(tmp_path):
    """A token the client reads from the kubeconfig is masked wherever it would be printed, not only after 'Bearer'."""
    from shipit.core.config import KubernetesConfig
    from shipit.core.redact import redact
    from shipit.kube.client import Kube

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: tok-7c1d0e55aa}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    assert "tok-7c1d0e55aa" in redact("the token tok-7c1d0e55aa leaked")  # not known yet: a bare value shows
    kube = Kube.from_config(KubernetesConfig(namespace="shop", kubeconfig=str(kubeconfig)))
    kube.api_client.close()
    assert "tok-7c1d0e55aa" not in redact("the token tok-7c1d0e55aa leaked")
