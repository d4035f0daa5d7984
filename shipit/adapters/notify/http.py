"""Bounded, retried HTTP for every call to a service outside the cluster (notifications, metrics, error trackers).

A call gets `attempts` tries of at most `timeout` seconds each, with a short backoff between them, and retries only
what can heal (connection errors, timeouts, 429 and 5xx). Anything else raises `ServiceError` at once: a 401 will
not become a 200 by asking again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, TypeVar

from shipit.core.redact import redact

if TYPE_CHECKING:
    import httpx
    import tenacity

T = TypeVar("T")


class ServiceError(Exception):
    """A service could not be reached or refused the call; the message is safe to show (redacted)."""

    def __init__(self, message: str):
        super().__init__(redact(message))


class Transient(ServiceError):
    """Worth another try: the service was unreachable, slow, rate-limiting or failing on its side."""


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code == 429 or response.status_code >= 500:
        raise Transient(f"HTTP {response.status_code} from {response.request.url.host}")
    if response.status_code >= 400:
        raise ServiceError(f"HTTP {response.status_code} from {response.request.url.host}: {response.text[:200]}")
    return response


def new_client(timeout: float) -> httpx.Client:
    """An httpx client; httpx loads only when a service outside the cluster is configured."""
    import httpx

    return httpx.Client(timeout=timeout)


def retrying(attempts: int, timeout: float) -> tenacity.Retrying:
    """The retry policy shared by every outside call: at most `attempts` tries, no new try after attempts x timeout."""
    import tenacity

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, attempts)) | tenacity.stop_after_delay(max(1, attempts) * timeout),
        wait=tenacity.wait_exponential(multiplier=0.2, max=1.0),
        retry=tenacity.retry_if_exception_type(Transient),
        reraise=True,
    )


def guarded(fn: Callable[[], T], *, attempts: int, timeout: float) -> T:
    """Run `fn` (which raises Transient for what may heal) under the shared retry policy."""
    return retrying(attempts, timeout)(fn)


def call(client: httpx.Client, method: str, url: str, *, attempts: int = 3, **kwargs) -> httpx.Response:
    """One logical request, retried; raises ServiceError when it cannot succeed."""
    import httpx

    def once() -> httpx.Response:
        try:
            return _check(client.request(method, url, **kwargs))
        except httpx.TimeoutException as e:
            raise Transient(f"timed out ({type(e).__name__}) calling {httpx.URL(url).host}") from None
        except httpx.TransportError as e:
            raise Transient(f"cannot reach {httpx.URL(url).host}: {e}") from None

    return guarded(once, attempts=attempts, timeout=client.timeout.read or 5.0)


def json_of(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        raise ServiceError(f"not JSON from {response.request.url.host}: {response.text[:120]!r}") from None
