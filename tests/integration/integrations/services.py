"""One local HTTP server answering as Slack, GitHub, Rollbar and Sentry do, in their documented formats, plus a
webhook receiver. It records every request and can be told to fail the next calls to a path (a status to answer,
or a delay longer than the client's timeout), so retries and failure isolation are tested over real HTTP.

The formats (fixtures written for these tests): Slack Web API `chat.postMessage` / `chat.update` ({"ok": true,
"channel", "ts", "message"}; errors as {"ok": false, "error"} with HTTP 200); GitHub `POST /repos/{o}/{r}/deployments`
(201, a deployment with `statuses_url`) and `POST .../deployments/{id}/statuses` (201); Rollbar `POST /api/1/deploy`
({"data": {"deploy_id"}}), `PATCH /api/1/deploy/{id}`, `GET /api/1/reports/occurrence_counts` ({"err": 0, "result":
[[minute, count], ...]}); Sentry `POST /api/0/organizations/{org}/releases/`, `.../releases/{version}/deploys/`,
`GET /api/0/projects/{org}/{project}/stats/` ([[timestamp, count], ...]).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: object


class Services:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.error_times: list[float] = []  # when errors happened, for Rollbar's and Sentry's counts
        self._faults: dict[str, list[int | float]] = {}  # path prefix -> statuses (int) or delays (float) to serve
        self._lock = threading.Lock()
        self._ts = 1733400000
        services = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urllib.parse.urlsplit(self.path)
                body: object = None
                if raw:
                    kind = self.headers.get("Content-Type", "")
                    body = dict(urllib.parse.parse_qsl(raw.decode())) if "urlencoded" in kind else json.loads(raw)
                req = Request(self.command, url.path, dict(urllib.parse.parse_qsl(url.query)),
                              {k.lower(): v for k, v in self.headers.items()}, body)
                status, answer = services._answer(req)
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def fail(self, prefix: str, *faults: int | float) -> None:
        """The next calls to paths starting with `prefix` get these statuses (int) or hang this long (float)."""
        with self._lock:
            self._faults.setdefault(prefix, []).extend(faults)

    def calls(self, prefix: str, method: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix) and method in (None, r.method)]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts}.000100"

    def _answer(self, req: Request) -> tuple[int, object]:
        with self._lock:
            self.requests.append(req)
            fault = next((f.pop(0) for p, f in self._faults.items() if req.path.startswith(p) and f), None)
        if isinstance(fault, float):
            time.sleep(fault)
        elif isinstance(fault, int):
            return fault, {"message": "injected failure"}
        for prefix, route in ROUTES:
            if req.path.startswith(prefix):
                return route(self, req)
        return 404, {"message": "Not Found"}

    # --- Slack ------------------------------------------------------------------------------------------------------

    def _slack(self, req: Request) -> tuple[int, object]:
        if req.headers.get("authorization") != "Bearer xoxb-test-token":
            return 200, {"ok": False, "error": "invalid_auth"}
        body = req.body if isinstance(req.body, dict) else {}
        if body.get("channel") not in ("#deploys", "C0DEPLOYS"):
            return 200, {"ok": False, "error": "channel_not_found"}
        method = req.path.rsplit("/", 1)[-1]
        ts = body["ts"] if method == "chat.update" else self._next_ts()
        message = {"type": "message", "user": "U0SHIPIT", "bot_id": "B0SHIPIT", "text": body.get("text", ""), "ts": ts}
        if body.get("thread_ts"):
            message["thread_ts"] = body["thread_ts"]
        answer = {"ok": True, "channel": "C0DEPLOYS", "ts": ts, "message": message}
        if method == "chat.update":
            answer["text"] = body.get("text", "")
        return 200, answer

    # --- GitHub -----------------------------------------------------------------------------------------------------

    def _github(self, req: Request) -> tuple[int, object]:
        if req.headers.get("authorization") != "token ghp_testtoken" and \
                req.headers.get("authorization") != "Bearer ghp_testtoken":
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        repo_url = f"{self.url}/repos/acme/shop"
        creator = {"login": "shipit-bot", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "Bot", "site_admin": False}
        now = "2026-12-05T12:00:00Z"
        parts = req.path.strip("/").split("/")
        if parts[-1] == "deployments":
            body = req.body
            n = len(self.calls("/repos/acme/shop/deployments", "POST"))
            return 201, {
                "url": f"{repo_url}/deployments/{n}", "id": n, "node_id": f"MDEwOkRlcGxveW1lbnQ{n}",
                "sha": body["ref"], "ref": body["ref"], "task": body.get("task", "deploy"),
                "payload": body.get("payload", {}), "original_environment": body.get("environment"),
                "environment": body.get("environment"), "description": body.get("description"), "creator": creator,
                "created_at": now, "updated_at": now, "statuses_url": f"{repo_url}/deployments/{n}/statuses",
                "repository_url": repo_url, "transient_environment": False, "production_environment": True,
            }
        if parts[-1] == "statuses":
            body, deployment = req.body, parts[-2]
            return 201, {
                "url": f"{repo_url}/deployments/{deployment}/statuses/1", "id": 1, "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMx",
                "state": body["state"], "creator": creator, "description": body.get("description", ""),
                "environment": body.get("environment", ""), "target_url": body.get("log_url", ""),
                "log_url": body.get("log_url", ""), "environment_url": "", "created_at": now, "updated_at": now,
                "deployment_url": f"{repo_url}/deployments/{deployment}", "repository_url": repo_url,
            }
        return 404, {"message": "Not Found"}

    # --- Rollbar ----------------------------------------------------------------------------------------------------

    def _rollbar(self, req: Request) -> tuple[int, object]:
        if req.headers.get("x-rollbar-access-token") not in ("rollbar-write-token", "rollbar-read-token"):
            return 401, {"err": 1, "message": "invalid access token"}
        if req.path.startswith("/api/1/reports/occurrence_counts"):
            size, count = int(req.query.get("bucket_size", 86400)), int(req.query.get("buckets", 60))
            now = int(time.time()) // size * size
            buckets = [now - size * i for i in range(count - 1, -1, -1)]  # the recent buckets, oldest first
            with self._lock:
                times = list(self.error_times)
            return 200, {"err": 0, "result": [[b, sum(1 for t in times if b <= t < b + size)] for b in buckets]}
        if req.method == "POST":
            return 200, {"data": {"deploy_id": 31415}}
        deploy = {"id": int(req.path.rsplit("/", 1)[-1]), "project_id": 7, "environment": "production",
                  "status": (req.body or {}).get("status")}
        return 200, {"err": 0, "result": deploy}

    # --- Sentry -----------------------------------------------------------------------------------------------------

    def _sentry(self, req: Request) -> tuple[int, object]:
        if req.headers.get("authorization") != "Bearer sntrys-test-token":
            return 401, {"detail": "Invalid token"}
        if req.path.endswith("/stats/"):
            since, until = int(req.query["since"]), int(req.query["until"])
            start = since // 10 * 10
            with self._lock:
                times = list(self.error_times)
            return 200, [[t, sum(1 for e in times if t <= e < t + 10)] for t in range(start, until, 10)]
        if req.path.endswith("/deploys/"):
            body = req.body
            return 201, {"environment": body["environment"], "name": body.get("name"), "url": body.get("url"),
                         "dateStarted": body.get("dateStarted"), "dateFinished": body.get("dateFinished"),
                         "id": "1234567"}
        body = req.body
        return 201, {"id": 2, "version": body["version"], "shortVersion": body["version"][:12], "ref": body.get("ref"),
                     "url": None, "dateCreated": "2026-12-05T12:00:00Z", "dateReleased": None, "newGroups": 0,
                     "commitCount": 0, "deployCount": 0, "authors": [],
                     "projects": [{"id": 11, "slug": p, "name": p} for p in body.get("projects", [])]}

    def _webhook(self, req: Request) -> tuple[int, object]:
        return 204, None


ROUTES = (
    ("/api/chat.", Services._slack),
    ("/repos/", Services._github),
    ("/api/1/", Services._rollbar),
    ("/api/0/", Services._sentry),
    ("/hooks/", Services._webhook),
)


@pytest.fixture
def services():
    s = Services()
    yield s
    s.stop()
