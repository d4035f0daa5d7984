"""A real Prometheus (Debian's /usr/bin/prometheus) scraping a small app's /metrics on 127.0.0.1 every 200ms.

The app serves `http_requests_total{status=...}` counters fed by a steady simulated traffic of 100 requests a
second; `set_error_ratio` changes the share answered 500, as a bad release would.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PROMETHEUS = "/usr/bin/prometheus"
ERROR_RATIO = 'sum(rate(http_requests_total{status=~"5.."}[3s])) / sum(rate(http_requests_total[3s]))'


class MetricsApp:
    def __init__(self, rate: float = 100.0):
        self._lock = threading.Lock()
        self._ok = self._errors = 0.0
        self._ratio = 0.0
        self._stop = threading.Event()
        self.rate = rate
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = app.exposition().encode() if self.path == "/metrics" else b"ok\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.target = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        threading.Thread(target=self._traffic, daemon=True).start()

    def _traffic(self) -> None:
        while not self._stop.wait(0.05):
            with self._lock:
                n = self.rate * 0.05
                self._errors += n * self._ratio
                self._ok += n * (1 - self._ratio)

    def set_error_ratio(self, ratio: float) -> None:
        with self._lock:
            self._ratio = ratio

    def exposition(self) -> str:
        with self._lock:
            ok, errors = self._ok, self._errors
        return ("# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n"
                f'http_requests_total{{status="200"}} {ok}\nhttp_requests_total{{status="500"}} {errors}\n')

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, workdir: Path, targets: list[str]):
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 200ms, evaluation_interval: 1s}\n"
            "scrape_configs:\n  - job_name: app\n    scrape_interval: 200ms\n    scrape_timeout: 200ms\n"
            f"    static_configs: [{{targets: [{', '.join(repr(t) for t in targets)}]}}]\n"
        )
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited {self.proc.returncode}: {(workdir / 'prometheus.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("prometheus did not become ready within 60s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def wait_for_samples(prom: Prometheus, query: str = ERROR_RATIO, timeout: float = 30.0) -> None:
    """Until the query has a value (a rate over [3s] needs a few scrapes)."""
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        q = urllib.request.quote(query)
        with urllib.request.urlopen(f"{prom.url}/api/v1/query?query={q}", timeout=2) as r:
            result = json.load(r)["data"]["result"]
        if result and result[0]["value"][1] != "NaN":
            return
        time.sleep(0.3)
    raise RuntimeError(f"no samples for {query} within {timeout:g}s")


@pytest.fixture
def metrics_app():
    app = MetricsApp()
    yield app
    app.stop()


@pytest.fixture
def prometheus(tmp_path, metrics_app):
    if shutil.which(PROMETHEUS) is None:
        pytest.fail(f"{PROMETHEUS} is missing: scripts/test installs Debian's prometheus package")
    prom = Prometheus(tmp_path, [metrics_app.target])
    yield prom
    prom.stop()
