"""API method names to REST requests and RBAC permissions, without a server."""

from __future__ import annotations

import pytest

from shipit.kube.api import permission_for, query_name, request_path


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


def test_cluster_scoped_methods_address_the_resource_without_a_namespace():
    assert request_path("/api/v1", "read_namespace", ("shop",)) == ("GET", "/api/v1/namespaces/shop", ())
    assert request_path("/api/v1", "list_node", ()) == ("GET", "/api/v1/nodes", ())


def test_keyword_arguments_become_the_api_query_names():
    assert [query_name(k) for k in ("label_selector", "resource_version", "allow_watch_bookmarks", "watch",
                                    "propagation_policy", "_continue")] == \
        ["labelSelector", "resourceVersion", "allowWatchBookmarks", "watch", "propagationPolicy", "continue"]
