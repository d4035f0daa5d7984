"""The few REST calls shipit makes, named like the generated client's methods (`read_namespaced_deployment(name,
namespace)`) but built from the name: the generated API classes import hundreds of pydantic models, which cost every
command over a second. The method name also says which RBAC permission a call needs."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

_VERBS = (
    ("list_", "list"),
    ("read_", "get"),
    ("create_", "create"),
    ("replace_", "update"),
    ("patch_", "patch"),
    ("delete_collection_", "deletecollection"),
    ("delete_", "delete"),
)


def permission_for(fn_name: str, watch: bool = False) -> tuple[str, str]:
    """(verb, resource) an API method needs: `create_namespaced_job` -> ("create", "jobs")."""
    name = fn_name
    verb = "call"
    for prefix, v in _VERBS:
        if name.startswith(prefix):
            verb, name = v, name[len(prefix) :]
            break
    if watch and verb == "list":
        verb = "watch"
    name = re.sub(r"^namespaced_", "", name)
    name = re.sub(r"_for_all_namespaces$", "", name)
    sub = ""
    for suffix in ("_status", "_log", "_scale"):
        if name.endswith(suffix):
            name, sub = name[: -len(suffix)], "/" + suffix[1:]
    plural = name.replace("_", "") + ("s" if not name.endswith("s") else "")
    return verb, plural + sub


GROUPS = {
    "core": "/api/v1",
    "apps": "/apis/apps/v1",
    "batch": "/apis/batch/v1",
    "coordination": "/apis/coordination.k8s.io/v1",
}
_HTTP = {"list": "GET", "watch": "GET", "get": "GET", "create": "POST", "update": "PUT", "patch": "PATCH",
         "delete": "DELETE", "deletecollection": "DELETE"}
_OBJECT_VERBS = ("get", "update", "patch", "delete")  # these name one object; the rest act on a collection


def query_name(kw: str) -> str:
    """`label_selector` -> `labelSelector`, `_continue` -> `continue`: the generated methods' keyword arguments."""
    head, *rest = kw.lstrip("_").split("_")
    return head + "".join(part.title() for part in rest)


def request_path(prefix: str, fn_name: str, args: tuple) -> tuple[str, str, tuple]:
    """(HTTP method, path, remaining args) for a generated API method name and its positional arguments:
    `read_namespaced_pod_log("web-1", "shop")` -> ("GET", "/api/v1/namespaces/shop/pods/web-1/log", ())."""
    verb, resource = permission_for(fn_name)
    plural, _, sub = resource.partition("/")
    args = list(args)
    name = args.pop(0) if verb in _OBJECT_VERBS else None
    if "namespaced_" in fn_name:
        path = f"{prefix}/namespaces/{args.pop(0)}/{plural}"
    else:  # all namespaces, or a cluster-scoped resource (`read_namespace("shop")`)
        path = f"{prefix}/{plural}"
    if name is not None:
        path += f"/{name}"
    if sub:
        path += f"/{sub}"
    return _HTTP[verb], path, tuple(args)


def send(api_client: Any, method: str, path: str, *, query: list, body: Any, content_type: str = "application/json",
          request_timeout: Any = None) -> Any:
    """One request with the JSON body sent exactly as given; a non-2xx answer raises the client's ApiException."""
    from kubernetes.client.exceptions import ApiException

    request = api_client.param_serialize(
        method,
        path,
        query_params=query,
        header_params={"Accept": "application/json", "Content-Type": content_type},
        body=body,
        auth_settings=["BearerToken"],
    )
    response = api_client.call_api(*request, _request_timeout=request_timeout)
    if not 200 <= response.status <= 299:
        response.read()
        raise ApiException.from_response(http_resp=response, body=None, data=None)
    return response


FIELD_MANAGER = "shipit"  # every write is made as this manager, so managedFields say which fields shipit set
WRITES = ("POST", "PUT", "PATCH")


class Method:
    """One API method, called like the generated client's (`read_namespaced_deployment(name, namespace, ...)`) but
    without its pydantic models: importing those costs the CLI over a second. The body is sent as given; the answer
    is the raw urllib3 response with `_preload_content=False`, else the decoded JSON."""

    def __init__(self, api_client: Any, prefix: str, name: str):
        self.api_client = api_client
        self.prefix = prefix
        self.__name__ = name

    def __call__(self, *args: Any, _preload_content: bool = True, _request_timeout: Any = None, **kw: Any) -> Any:
        method, path, rest = request_path(self.prefix, self.__name__, args)
        body = kw.pop("body", rest[0] if rest else None)
        if method == "PATCH":  # a list is a JSON patch; an object patch of a built-in kind merges strategically
            content_type = "application/json-patch+json" if isinstance(body, list) else "application/strategic-merge-patch+json"
        else:
            content_type = "application/json"
        if method in WRITES:
            kw.setdefault("field_manager", FIELD_MANAGER)
        query = [(query_name(k), v) for k, v in kw.items() if v is not None]
        response = send(self.api_client, method, path, query=query, body=body, content_type=content_type,
                         request_timeout=_request_timeout)
        if not _preload_content:
            return response.response
        response.read()
        return json.loads(response.data) if response.data else {}


class RetryingApi:
    """One API group's methods by name, each going through Kube.call; `.raw` on a method is the unwrapped call."""

    def __init__(self, kube: Any, prefix: str):
        self._kube = kube
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        fn = Method(self._kube.api_client, self._prefix, name)
        wrapped = functools.partial(self._kube.call, fn)
        wrapped.raw = fn  # type: ignore[attr-defined]
        return wrapped
