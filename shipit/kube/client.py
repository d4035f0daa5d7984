"""The one place that talks to the Kubernetes API server.

Everything else in shipit.kube gets plain JSON snapshots (dicts) from here and decides with pure functions. Requests
are retried with a bounded budget (429 honouring Retry-After, 5xx, dropped connections) because a release must not
fail on an API server hiccup; 403 becomes a message naming the missing RBAC permission, because "Forbidden" alone
sends people searching. Watches (shipit.kube.watch) are built on these requests. The `kubernetes` package loads the kubeconfig and sends
the requests; shipit.kube.api builds them from the method names, without the generated API classes and models.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from shipit import __version__
from shipit.core.errors import BadInput, ShipitError
from shipit.core.log import get_logger
from shipit.kube.api import FIELD_MANAGER, GROUPS, WRITES, RetryingApi, permission_for, send
from shipit.kube.failure import Failure

__all__ = ["Kube", "Failure", "api_status"]

log = get_logger()

if TYPE_CHECKING:
    from shipit.kube.watch import WatchStream

RETRY_BUDGET = 30.0  # seconds of retrying one request before giving up


def api_status(exc: Exception) -> dict:
    """The metav1 Status body of an ApiException, or {}."""
    body = getattr(exc, "body", None)
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(exc: Exception) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _wait(state: Any) -> float:
    """Retry-After on a 429, else exponential from 0.1 s, capped at 3 s."""
    from kubernetes.client.exceptions import ApiException

    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, ApiException) and exc.status == 429:
        after = _retry_after(exc)
        if after is not None:
            return after
    return min(0.1 * 2 ** (state.attempt_number - 1), 3.0)


class KubeUnreachable(ShipitError):
    """The API server did not answer within the retry budget (refused, reset, timed out)."""


def _transport_reason(exc: BaseException) -> str:
    """The innermost cause, in one line: urllib3 wraps a refused connection three levels deep."""
    while getattr(exc, "reason", None) is not None and isinstance(exc.reason, BaseException):
        exc = exc.reason
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _retryable(exc: BaseException) -> bool:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    if isinstance(exc, ApiException):
        return exc.status == 429 or exc.status >= 500 or exc.status == 0
    return isinstance(exc, (HTTPError, ConnectionError, socket.timeout))


class Kube:
    """API access for one namespace, with retries, request counting and resumable watches."""

    def __init__(self, api_client: Any, namespace: str, *, retry_budget: float = RETRY_BUDGET):
        self.api_client = api_client
        self.namespace = namespace
        self.retry_budget = retry_budget
        # the API server names the field manager of a write after the User-Agent (up to its first "/")
        api_client.user_agent = f"shipit/{__version__}"
        self.request_count = 0
        self._count_lock = threading.Lock()
        rest = api_client.rest_client
        # urllib3 would otherwise retry 429/503 with Retry-After on its own, invisibly and outside our budget.
        rest.pool_manager.connection_pool_kw["retries"] = False
        rest.pool_manager.clear()
        inner = rest.request

        def counting(*a: Any, **kw: Any) -> Any:
            with self._count_lock:
                self.request_count += 1
            return inner(*a, **kw)

        rest.request = counting
        self.core = RetryingApi(self, GROUPS["core"])
        self.apps = RetryingApi(self, GROUPS["apps"])
        self.batch = RetryingApi(self, GROUPS["batch"])
        self.coordination = RetryingApi(self, GROUPS["coordination"])

    @classmethod
    def from_config(cls, k: Any) -> "Kube":
        """kubeconfig (k.kubeconfig, $KUBECONFIG, ~/.kube/config; context k.context) or the pod's service account."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        path = k.kubeconfig or os.environ.get("KUBECONFIG")
        default = Path("~/.kube/config").expanduser()
        try:
            if path or default.exists() or not os.environ.get("KUBERNETES_SERVICE_HOST"):
                api_client = config.new_client_from_config(
                    config_file=str(Path(path).expanduser()) if path else None, context=k.context
                )
            else:
                conf = client.Configuration()  # not the process-wide default: nothing else is changed behind our back
                config.load_incluster_config(client_configuration=conf)
                api_client = client.ApiClient(conf)
        except (ConfigException, OSError) as e:
            tried = [f"{path} ({'kubernetes.kubeconfig' if k.kubeconfig else '$KUBECONFIG'})"] if path else \
                [f"{default} (default; $KUBECONFIG is not set)", "the pod's service account ($KUBERNETES_SERVICE_HOST is not set)"]
            raise BadInput(f"cannot load Kubernetes configuration: {e}; tried {', '.join(tried)}; set "
                           "kubernetes.kubeconfig or $KUBECONFIG") from e
        from shipit.core.redact import register_secret

        for value in (api_client.configuration.api_key or {}).values():  # the bearer token, masked in every output
            register_secret(str(value).removeprefix("Bearer ").strip())
        return cls(api_client, k.namespace)

    # --- requests ------------------------------------------------------------------------------------------------

    def call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """fn(*args, **kw) with retries (tenacity) on 429 (Retry-After), 5xx and connection errors, stopping before a
        wait would end past the retry budget; the last error is raised as it came."""
        import tenacity

        fn = getattr(fn, "raw", fn)
        name = getattr(fn, "__name__", "?")

        def attempt() -> Any:
            from kubernetes.client.exceptions import ApiException

            try:
                return fn(*args, **kw)
            except ApiException as e:
                if e.status != 403:
                    raise
                verb, resource = permission_for(name, bool(kw.get("watch")))
                message = api_status(e).get("message") or e.reason
                raise ShipitError(
                    f"Kubernetes refused {verb} {resource} in namespace {self.namespace}: {message}. "
                    f"Grant '{verb}' on '{resource}' to shipit's service account (see config/rbac.yaml)."
                ) from e

        def log_retry(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.debug("kubernetes request retried", fn=name, attempt=state.attempt_number, wait=state.upcoming_sleep, error=str(error)[:200])

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_retryable),
            wait=_wait,
            stop=tenacity.stop_before_delay(self.retry_budget),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Exception as e:  # noqa: BLE001 - only transport failures are translated; the rest re-raised as they came
            from kubernetes.client.exceptions import ApiException

            if isinstance(e, ApiException) or not _retryable(e):
                raise
            raise KubeUnreachable(
                f"cannot reach the Kubernetes API at {self.api_client.configuration.host} "
                f"(retried for {self.retry_budget:g}s): {_transport_reason(e)}"
            ) from e

    def send(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """A write whose answer is not needed. The body is read before the connection goes back to the pool: a kept-alive
        connection with an unread body would hand that body to the next request as its status line."""
        resp = self.call(fn, *args, _preload_content=False, **kw)
        try:
            resp.drain_conn()
        finally:
            resp.release_conn()

    def get_json(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """The response body as plain JSON: snapshots for the pure decision functions, no model validation."""
        resp = self.call(fn, *args, _preload_content=False, **kw)
        try:
            return json.loads(resp.data)
        finally:
            resp.release_conn()

    def request_json(self, method: str, path: str, *, body: Any = None, query: dict | None = None, name: str = "request") -> dict:
        """A request by path with a JSON body sent exactly as given (Lease MicroTime strings keep their six digits);
        `name` is the equivalent generated method, for the RBAC message."""

        params = {**({"fieldManager": FIELD_MANAGER} if method in WRITES else {}), **(query or {})}

        def request(**_: Any) -> Any:
            response = send(self.api_client, method, path, query=list(params.items()), body=body)
            response.read()
            return response

        request.__name__ = name
        response = self.call(request)
        return json.loads(response.data) if response.data else {}

    def list_json(self, list_fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[list[dict], str]:
        """(items, list resourceVersion)."""
        body = self.get_json(list_fn, *args, **kw)
        return list(body.get("items") or []), (body.get("metadata") or {}).get("resourceVersion", "")

    def events_for(self, kind: str, name: str, *, limit: int = 10) -> tuple[str, ...]:
        """The object's events, oldest first, one line each (core/v1 so classic and events.k8s.io events both come back)."""
        items, _ = self.list_json(
            self.core.list_namespaced_event,
            self.namespace,
            field_selector=f"involvedObject.name={name},involvedObject.kind={kind}",
        )

        def when(e: dict) -> str:
            return e.get("lastTimestamp") or e.get("eventTime") or ((e.get("series") or {}).get("lastObservedTime")) or ""

        lines = []
        for e in sorted(items, key=when)[-limit:]:
            count = e.get("count") or (e.get("series") or {}).get("count") or 1
            times = f" (x{count})" if count > 1 else ""
            lines.append(f"{e.get('type', '')} {e.get('reason', '')}: {e.get('message', '')}{times}".strip())
        return tuple(lines)

    def pod_log_tail(self, pod: str, container: str | None, *, lines: int = 25, previous: bool = False) -> tuple[str, ...]:
        """Last log lines, or () when the container has none yet (400 for a waiting container)."""
        from kubernetes.client.exceptions import ApiException

        kw: dict[str, Any] = {"tail_lines": lines}
        if container:
            kw["container"] = container
        if previous:
            kw["previous"] = True
        try:
            resp = self.call(self.core.read_namespaced_pod_log, pod, self.namespace, _preload_content=False, **kw)
        except ApiException as e:
            if e.status in (400, 404):
                return ()
            raise
        try:
            text = resp.data.decode("utf-8", errors="replace")
        finally:
            resp.release_conn()
        return tuple(text.splitlines()[-lines:])

    def watch(
        self,
        list_fn: Callable[..., Any],
        *args: Any,
        resource_version: str | None = None,
        timeout: float | None = None,
        **kw: Any,
    ) -> "WatchStream":
        """Events (type, object dict) for a collection: a list first unless resource_version is given, then live
        events; resumes after dropped streams and re-lists after 410. Ends after `timeout` seconds or on close()."""
        from shipit.kube.watch import WatchStream

        return WatchStream(self, list_fn, args, kw, resource_version=resource_version, timeout=timeout)
