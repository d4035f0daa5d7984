"""A tiny controllable HTTP app for gate tests, end-to-end tests and the demo.

Every path answers with the current status (default 200). Change it in-process with `set_status`/`script`, or over
HTTP with `POST /__control/status/<code>` (so a test or the demo can break the app a Deployment "serves").
Run standalone: `python -m tests.support.httpapp --port 8080`.
"""

from __future__ import annotations

import argparse
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class HttpApp:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._lock = threading.Lock()
        self._status = 200
        self._script: deque[int] = deque()
        self.hits = 0
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                status = app._next_status()
                body = f"status {status}\n".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                parts = self.path.strip("/").split("/")
                if len(parts) == 3 and parts[:2] == ["__control", "status"] and parts[2].isdigit():
                    app.set_status(int(parts[2]))
                    self.send_response(204)
                else:
                    self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True, name="httpapp")

    def _next_status(self) -> int:
        with self._lock:
            self.hits += 1
            return self._script.popleft() if self._script else self._status

    def set_status(self, status: int) -> None:
        with self._lock:
            self._status = status

    def script(self, *statuses: int) -> None:
        """Answer these statuses first, in order, then the current status."""
        with self._lock:
            self._script.extend(statuses)

    def start(self) -> HttpApp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def httpapp():
    app = HttpApp().start()
    yield app
    app.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    server = HttpApp(args.host, args.port)
    print(f"httpapp serving on {server.url}", flush=True)
    server._server.serve_forever()
