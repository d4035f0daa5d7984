"""The kubelet's HTTPS container-log endpoint, `GET /containerLogs/{namespace}/{pod}/{container}`, which the API server
calls for `pods/log`. Which container instance is read and the 400 texts for waiting containers are kubesim's rules;
the lines come from the node agent's PodLogs. Plain text, chunked and flushed per line when following."""

from __future__ import annotations

import datetime as dt
import http.server
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from tests.kubesim.errors import ApiError
from tests.kubesim.events import NODE
from tests.kubesim.logs import PodLogs
from tests.kubesim.server import _log_source


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A serving certificate for 127.0.0.1; the API server does not verify it without a kubelet CA."""
    cert, key = directory / "kubelet.crt", directory / "kubelet.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", f"/CN=system:node:{NODE}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def _flag(query: dict, name: str) -> bool:
    return (query.get(name) or [""])[0].lower() in ("true", "1")


def _int(query: dict, name: str) -> int | None:
    value = (query.get(name) or [""])[0]
    return int(value) if value else None


class LogServer:
    def __init__(self, runtime, logs: PodLogs) -> None:
        self.runtime = runtime
        self.logs = logs
        self._dir = Path(tempfile.mkdtemp(prefix="node-agent-"))
        self._stopping = threading.Event()
        server = self

        class Handler(_Handler):
            owner = server
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        cert, key = self_signed(self._dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="node-agent-logs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def pod(self, namespace: str, name: str) -> dict | None:
        for pod in list(self.runtime._pods.values()):
            if pod.namespace == namespace and pod.name == name:
                return pod.obj
        return None


class _Handler(http.server.BaseHTTPRequestHandler):
    owner: LogServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:
        pass

    def _text(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        if len(parts) != 4 or parts[0] != "containerLogs":
            return self._text(404, "404 page not found")
        _, namespace, name, container = parts
        query = parse_qs(url.query)
        pod = self.owner.pod(namespace, name)
        if pod is None:
            return self._text(404, f'pod "{name}" in namespace "{namespace}" not found')
        try:
            container, previous = _log_source(pod, container, _flag(query, "previous"), self.owner.logs, namespace)
        except ApiError as exc:
            return self._text(exc.status, exc.message)
        since = _int(query, "sinceSeconds")
        if since is None and query.get("sinceTime"):
            t = dt.datetime.fromisoformat(query["sinceTime"][0].replace("Z", "+00:00")).timestamp()
            since = max(0, int(time.time() - t))
        tail = (query.get("tailLines") or query.get("tail") or [""])[0]
        opts = {"previous": previous, "tail_lines": int(tail) if tail and tail != "all" else None,
                "since_seconds": since, "timestamps": _flag(query, "timestamps")}
        limit = _int(query, "limitBytes")
        logs = self.owner.logs
        if not _flag(query, "follow"):
            text = "".join(line + "\n" for line in logs.read(namespace, name, container, **opts))
            return self._text(200, text[:limit] if limit else text)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0

        def stop() -> bool:
            return self.owner._stopping.is_set() or bool(limit and sent >= limit)
        try:
            for line in logs.follow(namespace, name, container, stop=stop, **opts):
                data = (line + "\n").encode()
                if limit:
                    data = data[:max(0, limit - sent)]
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                    sent += len(data)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        self.close_connection = True
