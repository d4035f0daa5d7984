"""The API client without a server: loading a kubeconfig or the in-cluster service account."""

from __future__ import annotations

import pytest

from shipit.core.errors import ShipitError


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
