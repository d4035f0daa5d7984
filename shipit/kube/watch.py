"""Watches over the API server: a resumable list-then-watch per collection, and several merged into one queue.

A watch resumes from the last resourceVersion after a dropped stream and re-lists after 410 Expired, so detection
stays event-driven instead of polling; a stream cut after serving a while is not counted as a failing server.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from shipit.core.errors import ShipitError
from shipit.core.log import get_logger
from shipit.kube.client import KubeUnreachable

if TYPE_CHECKING:
    from shipit.kube.client import Kube

log = get_logger()

WATCH_SERVER_TIMEOUT = 240  # seconds; a server-side bound on each watch request, then resume from the last RV
HEALTHY_STREAM = 5.0  # seconds; a watch stream cut after serving this long starts the failure count afresh


def response_lines(resp: Any) -> Iterator[str]:
    buf = b""
    for chunk in resp.stream(amt=None, decode_content=False):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode("utf-8", errors="replace")
    if buf:
        yield buf.decode("utf-8", errors="replace")


def shutdown_response(resp: Any) -> None:
    """Unblock a reader stuck in recv on this response from another thread."""
    conn = getattr(resp, "_connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class WatchStream:
    """A list-then-watch over one collection, resumable; iterate for (type, obj)."""

    def __init__(self, kube: Kube, list_fn: Callable[..., Any], args: tuple, kw: dict, *, resource_version: str | None, timeout: float | None):
        self.kube = kube
        self.fn = getattr(list_fn, "raw", list_fn)
        self.args = args
        self.kw = kw
        self.resource_version = resource_version
        self.deadline = time.monotonic() + timeout if timeout else None
        self.closed = threading.Event()
        self._resp: Any = None
        self._known: dict[str, dict] = {}  # name -> last object, for DELETED events after a re-list
        self.relists = 0  # re-lists after 410 Expired
        self.watch_requests = 0  # more than one: the stream was resumed from the last resourceVersion

    def close(self) -> None:
        self.closed.set()
        resp = self._resp
        if resp is not None:
            shutdown_response(resp)

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _relist(self) -> Iterator[tuple[str, dict]]:
        items, rv = self.kube.list_json(self.fn, *self.args, **self.kw)
        seen = set()
        for obj in items:
            name = obj["metadata"]["name"]
            seen.add(name)
            yield ("MODIFIED" if name in self._known else "ADDED"), obj
            self._known[name] = obj
        for name in list(self._known):
            if name not in seen:
                yield "DELETED", self._known.pop(name)
        self.resource_version = rv

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        if self.resource_version is None:
            yield from self._relist()
        failures = 0
        while not self.closed.is_set():
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                return
            server_timeout = WATCH_SERVER_TIMEOUT if remaining is None else max(1, min(WATCH_SERVER_TIMEOUT, int(remaining) + 1))
            self.watch_requests += 1
            try:
                resp = self.kube.call(
                    self.fn,
                    *self.args,
                    watch=True,
                    resource_version=self.resource_version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=server_timeout,
                    _preload_content=False,
                    **self.kw,
                )
            except ApiException as e:
                if e.status != 410:
                    raise
                self.relists += 1
                yield from self._relist()
                continue
            except (HTTPError, KubeUnreachable):
                if self.closed.is_set():
                    return
                raise
            self._resp = resp
            opened = time.monotonic()
            if self.closed.is_set():  # close() ran while the request was in flight and could not shut this one down
                resp.close()
                return
            expired = False
            ended = False  # the server closed the stream: the connection is clean and can be reused
            try:
                for line in response_lines(resp):
                    if self.closed.is_set():
                        return
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    etype, obj = event.get("type"), event.get("object") or {}
                    if etype == "ERROR":
                        if obj.get("code") == 410:
                            expired = True
                            break
                        raise ShipitError(f"watch failed: {obj.get('reason')}: {obj.get('message')}")
                    rv = (obj.get("metadata") or {}).get("resourceVersion")
                    if rv:
                        self.resource_version = rv
                    if etype == "BOOKMARK":
                        continue
                    name = (obj.get("metadata") or {}).get("name")
                    if etype == "DELETED":
                        self._known.pop(name, None)
                    else:
                        self._known[name] = obj
                    failures = 0
                    yield etype, obj
                else:
                    ended = True
            except (HTTPError, OSError, ValueError) as e:
                if self.closed.is_set():
                    return
                # A stream that served for a while and was then cut (a proxy's idle timeout) is not a failing server.
                failures = 1 if time.monotonic() - opened >= HEALTHY_STREAM else failures + 1
                log.debug("watch stream dropped; resuming", resource_version=self.resource_version, error=str(e)[:200])
                if failures > 8:
                    raise ShipitError(f"watch keeps failing: {e}") from e
                time.sleep(min(0.05 * 2**failures, 2.0))
            finally:
                self._resp = None
                if ended:
                    resp.release_conn()
                else:  # left mid-stream (closed, 410, error): never hand a half-read stream to the next request
                    resp.close()
            if expired:
                self.relists += 1
                log.debug("watch resourceVersion expired (410); re-listing", resource_version=self.resource_version)
                yield from self._relist()


class WatchMux:
    """Several watches at once, merged into one queue, so one loop can react to Jobs, Deployments, ReplicaSets and
    pods as events arrive and still wake up for time-based rules (grace periods, deadlines, cancellation)."""

    def __init__(self, kube: Kube):
        self.kube = kube
        self.queue: queue.Queue = queue.Queue()
        self.streams: list[WatchStream] = []
        self.threads: list[threading.Thread] = []

    def add(self, key: str, list_fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        stream = self.kube.watch(list_fn, *args, **kw)
        self.streams.append(stream)

        def pump() -> None:
            try:
                for etype, obj in stream:
                    self.queue.put((key, etype, obj))
            except Exception as e:  # noqa: BLE001 - handed to the consumer, which raises it
                if not stream.closed.is_set():
                    self.queue.put((key, "EXCEPTION", e))

        t = threading.Thread(target=pump, name=f"shipit-watch-{key}", daemon=True)
        self.threads.append(t)
        t.start()

    def get(self, timeout: float) -> tuple[str, str, Any] | None:
        try:
            item = self.queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if item[1] == "EXCEPTION":
            raise item[2]
        return item

    def close(self) -> None:
        for s in self.streams:
            s.close()

    def __enter__(self) -> "WatchMux":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
