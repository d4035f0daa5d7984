"""Fault injection for reliability tests: the next N matching requests fail with 403/429/500/503, watch streams are cut
after a delay, resourceVersions expire. Driven in-process (`Faults`) or over HTTP at `/kubesim/faults`
(`FaultClient`), which is outside the Kubernetes API."""
from __future__ import annotations

import json
import re
import threading
import urllib.request
from dataclasses import dataclass

from tests.kubesim.errors import ApiError, bad_request

_REASONS = {403: ("Forbidden", "forbidden: injected by kubesim faults (kubesim has no RBAC)"),
            429: ("TooManyRequests", "Too many requests, please try again later."),
            500: ("InternalError", "Internal error occurred: injected by kubesim faults"),
            503: ("ServiceUnavailable", "the server is currently unable to handle the request")}


@dataclass(frozen=True)
class RequestFault:
    method: str                  # "*" for any
    path_regex: str              # searched in the request target (path and query)
    status: int
    retry_after: int | None

    def matches(self, method: str, target: str) -> bool:
        return self.method in ("*", method.upper()) and re.search(self.path_regex, target) is not None

    def error(self) -> ApiError:
        reason, message = _REASONS.get(self.status, ("InternalError", f"injected fault {self.status}"))
        details = {"retryAfterSeconds": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.status, reason, message, details=details, retry_after=self.retry_after)


class Faults:
    def __init__(self, store=None):
        self.store = store
        self._lock = threading.Lock()
        self._requests: list[list] = []          # [RequestFault, remaining]
        self._drops: list[list] = []             # [after_seconds, remaining]

    def add(self, *, method: str = "*", path_regex: str = ".*", status: int = 500, count: int = 1,
            retry_after: int | None = None) -> None:
        if status not in _REASONS:
            raise bad_request(f"fault status must be one of {sorted(_REASONS)}")
        re.compile(path_regex)
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._requests.append([RequestFault(method.upper(), path_regex, status, retry_after), count])

    def drop_watches(self, *, after_seconds: float = 0.0, count: int = 1) -> None:
        """The next `count` watch streams are closed by the server `after_seconds` after they start."""
        with self._lock:
            self._drops.append([after_seconds, count])

    def expire_resource_versions(self) -> None:
        """Every resourceVersion seen so far becomes too old: the next watch from one gets 410."""
        self.store.expire_history()

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._drops.clear()

    def pending(self) -> int:
        """Faults not yet delivered: request faults and watch drops."""
        with self._lock:
            return sum(e[1] for e in self._requests) + sum(e[1] for e in self._drops)

    def take_request_fault(self, method: str, target: str) -> ApiError | None:
        with self._lock:
            for entry in self._requests:
                if entry[1] > 0 and entry[0].matches(method, target):
                    entry[1] -= 1
                    return entry[0].error()
            self._requests = [e for e in self._requests if e[1] > 0]
        return None

    def take_watch_drop(self) -> float | None:
        with self._lock:
            for entry in self._drops:
                if entry[1] > 0:
                    entry[1] -= 1
                    return entry[0]
        return None

    def apply(self, spec: dict) -> None:
        """The HTTP form: {"action": "request"|"drop_watches"|"expire_resource_versions", ...keyword arguments}."""
        spec = dict(spec)
        action = spec.pop("action", "request")
        try:
            if action == "request":
                self.add(**spec)
            elif action == "drop_watches":
                self.drop_watches(**spec)
            elif action == "expire_resource_versions" and not spec:
                self.expire_resource_versions()
            else:
                raise bad_request(f"unknown fault action {action!r}")
        except (TypeError, re.error) as e:
            raise bad_request(f"bad fault specification: {e}") from None


class FaultClient:
    """Test helper for a kubesim running elsewhere (e.g. `python -m tests.kubesim`)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/") + "/kubesim/faults"

    def _send(self, method: str, body: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def add(self, *, method: str = "*", path_regex: str = ".*", status: int = 500, count: int = 1,
            retry_after: int | None = None) -> None:
        self._send("POST", {"action": "request", "method": method, "path_regex": path_regex, "status": status,
                            "count": count, "retry_after": retry_after})

    def drop_watches(self, *, after_seconds: float = 0.0, count: int = 1) -> None:
        self._send("POST", {"action": "drop_watches", "after_seconds": after_seconds, "count": count})

    def expire_resource_versions(self) -> None:
        self._send("POST", {"action": "expire_resource_versions"})

    def clear(self) -> None:
        self._send("DELETE")
