"""A small JSON client for the real API server (what the node agent and the cluster launcher need): bearer token,
the cluster's CA, Status objects raised as kubesim's ApiError, and watch streams. Objects stay plain dicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
import yaml

from tests.kubesim.errors import ApiError
from tests.kubesim.resources import Resource


def path_of(res: Resource, namespace: str | None, name: str | None = None, subresource: str | None = None) -> str:
    base = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    if res.namespaced and namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{res.plural}"
    if name:
        base += f"/{name}"
    if subresource:
        base += f"/{subresource}"
    return base


class Api:
    def __init__(self, server: str, token: str, ca_file: str) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.ca_file = ca_file
        self._http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca_file, maxsize=8,
                                         retries=False, timeout=urllib3.Timeout(connect=5, read=30))

    @classmethod
    def from_kubeconfig(cls, path: str | Path) -> Api:
        cfg = yaml.safe_load(Path(path).read_text())
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == cfg["current-context"])
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
        return cls(cluster["server"], user["token"], cluster["certificate-authority"])

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def request(self, method: str, path: str, body: Any = None, *, params: dict | None = None,
                content_type: str = "application/json", timeout: float = 30.0) -> dict:
        url = self.server + path + ("?" + urlencode(params) if params else "")
        data = None if body is None else json.dumps(body).encode()
        try:
            resp = self._http.request(method, url, body=data, headers=self._headers(content_type if data else None),
                                      timeout=timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(503, "ServiceUnavailable", f"{method} {path}: {exc}") from exc
        payload = json.loads(resp.data) if resp.data else {}
        if resp.status >= 400:
            raise ApiError(resp.status, payload.get("reason", ""), payload.get("message", resp.data.decode()[:300]))
        return payload

    def get(self, path: str, **params: Any) -> dict:
        return self.request("GET", path, params=params or None)

    def create(self, path: str, body: dict) -> dict:
        return self.request("POST", path, body)

    def put(self, path: str, body: dict) -> dict:
        return self.request("PUT", path, body)

    def patch(self, path: str, body: dict, kind: str = "merge") -> dict:
        return self.request("PATCH", path, body, content_type=f"application/{kind}-patch+json")

    def delete(self, path: str, body: dict | None = None) -> dict:
        return self.request("DELETE", path, body)

    def watch(self, path: str, *, resource_version: str, timeout_seconds: int = 60,
              **params: Any) -> Iterator[dict]:
        """Watch events until the server ends the stream; an ERROR event is raised as ApiError (410 Expired...)."""
        query = {"watch": "true", "resourceVersion": resource_version, "timeoutSeconds": timeout_seconds,
                 "allowWatchBookmarks": "true", **params}
        resp = self._http.request("GET", f"{self.server}{path}?{urlencode(query)}", headers=self._headers(),
                                  preload_content=False, timeout=urllib3.Timeout(connect=5, read=timeout_seconds + 10))
        try:
            if resp.status >= 400:
                payload = json.loads(resp.read() or b"{}")
                raise ApiError(resp.status, payload.get("reason", ""), payload.get("message", ""))
            buf = b""
            for chunk in resp.stream(4096, decode_content=True):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        st = event.get("object") or {}
                        raise ApiError(st.get("code", 500), st.get("reason", ""), st.get("message", ""))
                    yield event
        finally:
            resp.release_conn()
