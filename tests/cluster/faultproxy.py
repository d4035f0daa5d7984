"""A fault-injecting HTTP(S) proxy in front of the real API server, for what a real server does not do on demand:
answer the Nth matching request with 429 (Retry-After) / 500 / 503 / 403, cut a watch stream after K events or T
seconds (a reset connection or a clean end), answer a watch from a too-old resourceVersion with 410 `Expired`, add
latency. Everything else is relayed byte for byte over TLS to the API server, the client's own bearer token
included, so authentication and RBAC stay the real server's.

    proxy = FaultProxy(cluster.url, cluster.ca_file, cert=(crt, key)).start()
    proxy.answer("PUT", r"/configmaps/", 503, count=2)          # the next two record writes
    proxy.cut_watch(r"/pods\\?", after_events=1, how="reset")     # the next pod watch, after its first event
    proxy.expire_before(current_rv)                            # watches from an older RV get ERROR 410
    proxy.write_kubeconfig(path, token=...)                    # what shipit is run with

HTTP/1.1 only (ALPN offers nothing else, so client-go falls back from HTTP/2); one upstream connection per client
connection, kept alive as the client keeps its own."""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.cluster.http1 import Idle, Request, Upstream, chunk, hang_up, read_request, send_simple

_REASONS = {403: ("Forbidden", "Forbidden", "forbidden by the fault proxy"),
            429: ("Too Many Requests", "TooManyRequests", "Too many requests, please try again later."),
            500: ("Internal Server Error", "InternalError", "Internal error occurred: injected by the fault proxy"),
            503: ("Service Unavailable", "ServiceUnavailable", "the server is currently unable to handle the request")}


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> bytes:
    """A metav1 Status as the API server writes it."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details:
        body["details"] = details
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class Rule:
    """One fault: requests matching `method` and `path` (searched in path and query); the first `skip` pass, the
    next `count` get the fault. `hits` counts the faulted ones."""
    kind: str                    # answer | cut | expire | delay
    method: str
    path: str
    skip: int = 0
    count: int = 1
    status: int = 0
    retry_after: int | None = None
    message: str | None = None
    after_events: int | None = None
    after_seconds: float | None = None
    how: str = "reset"           # cut: reset (connection dropped mid-stream) | end (a clean end, as a server timeout)
    form: str = "event"          # expire: event (200 + ERROR event, as the watch cache answers) | status (HTTP 410)
    seconds: float = 0.0
    hits: int = 0
    watch_only: bool = False
    applied: bool = False        # answer: the request reaches the server first, its answer is replaced

    def take(self, method: str, target: str, watch: bool) -> bool:
        if self.count <= 0 or (self.watch_only and not watch):
            return False
        if self.method not in ("*", method) or re.search(self.path, target) is None:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        self.count -= 1
        self.hits += 1
        return True


@dataclass
class Seen:
    method: str
    target: str
    status: int                  # 0 while the server has not answered
    fault: str = ""              # the rule kind that shaped the answer, "" when relayed untouched
    at: float = 0.0              # time.monotonic() when the request arrived
    watch: bool = False


class FaultProxy:
    def __init__(self, upstream: str, ca_file: str | Path, *, cert: tuple[str | Path, str | Path] | None = None) -> None:
        u = urlsplit(upstream)
        self.upstream = (u.hostname or "127.0.0.1", u.port or 443)
        self.ca_file = str(ca_file)
        self.cert = cert
        self._lock = threading.Lock()
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self.expired_below = 0
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self.url = ""

    # --- rules -------------------------------------------------------------------------------------------------------
    def _add(self, rule: Rule) -> Rule:
        re.compile(rule.path)
        with self._lock:
            self.rules.append(rule)
        return rule

    def answer(self, method: str = "*", path: str = ".*", status: int = 500, *, nth: int = 1, count: int = 1,
               retry_after: int | None = None, message: str | None = None, applied: bool = False) -> Rule:
        """The `nth` matching request and the `count - 1` after it are answered `status` without reaching the server,
        or with `applied` after the server carried them out (the answer lost on the way back)."""
        if status not in _REASONS:
            raise ValueError(f"status must be one of {sorted(_REASONS)}")
        if status == 429 and retry_after is None:
            retry_after = 1
        return self._add(Rule("answer", method.upper(), path, nth - 1, count, status=status, retry_after=retry_after,
                              message=message, applied=applied))

    def cut_watch(self, path: str = ".*", *, after_events: int | None = None, after_seconds: float | None = None,
                  nth: int = 1, count: int = 1, how: str = "reset") -> Rule:
        """The matching watch streams are cut after `after_events` events or `after_seconds`, whichever comes first."""
        if how not in ("reset", "end"):
            raise ValueError("how must be 'reset' or 'end'")
        return self._add(Rule("cut", "GET", path, nth - 1, count, after_events=after_events,
                              after_seconds=after_seconds, how=how, watch_only=True))

    def expire_watch(self, path: str = ".*", *, nth: int = 1, count: int = 1, form: str = "event") -> Rule:
        """The matching watch requests are answered 410 Expired, whatever their resourceVersion."""
        if form not in ("event", "status"):
            raise ValueError("form must be 'event' or 'status'")
        return self._add(Rule("expire", "GET", path, nth - 1, count, form=form, watch_only=True))

    def expire_before(self, resource_version: str | int) -> None:
        """Every later watch from a resourceVersion below this one gets the ERROR 410 `Expired` event: the history
        before it is compacted."""
        with self._lock:
            self.expired_below = max(self.expired_below, int(resource_version))

    def delay(self, method: str = "*", path: str = ".*", seconds: float = 1.0, *, nth: int = 1, count: int = 1) -> Rule:
        return self._add(Rule("delay", method.upper(), path, nth - 1, count, seconds=seconds))

    def clear(self) -> None:
        """No rules, no expiry, an empty request log."""
        with self._lock:
            self.rules.clear()
            self.seen.clear()
            self.expired_below = 0

    def pending(self) -> list[Rule]:
        """Rules with faults not yet delivered."""
        with self._lock:
            return [r for r in self.rules if r.count > 0]

    def requests(self, method: str = "*", path: str = ".*", *, watch: bool | None = None) -> list[Seen]:
        """What reached the proxy, in arrival order; `watch` True/False keeps only watches/the rest."""
        with self._lock:
            return [s for s in self.seen if method in ("*", s.method) and re.search(path, s.target)
                    and (watch is None or s.watch == watch)]

    # --- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._sock = socket.create_server(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.url = f"{'https' if self.cert else 'http'}://127.0.0.1:{port}"
        self._server_ctx = None
        if self.cert:
            self._server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._server_ctx.load_cert_chain(str(self.cert[0]), str(self.cert[1]))
            self._server_ctx.set_alpn_protocols(["http/1.1"])
        self._client_ctx = ssl.create_default_context(cafile=self.ca_file)
        self._client_ctx.set_alpn_protocols(["http/1.1"])
        threading.Thread(target=self._accept, name="faultproxy-accept", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sock:
            self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            hang_up(c)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path, *, token: str, namespace: str | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ca = f', certificate-authority: "{self.ca_file}"' if self.cert else ""
        ns = f", namespace: {namespace}" if namespace else ""
        path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: fault-proxy
  cluster: {{server: "{self.url}"{ca}}}
users:
- name: user
  user: {{token: "{token}"}}
contexts:
- name: fault-proxy
  context: {{cluster: fault-proxy, user: user{ns}}}
current-context: fault-proxy
""")
        path.chmod(0o600)
        return path

    # --- connections ----------------------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="faultproxy-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        upstream: Upstream | None = None
        try:
            if self._server_ctx:
                conn = self._server_ctx.wrap_socket(conn, server_side=True)
            with self._lock:
                self._conns.add(conn)
            reader = conn.makefile("rb")
            while not self._stop.is_set():
                req = read_request(reader)
                if req is None:
                    return
                keep = self._handle(req, conn, upstream_box := [upstream])
                upstream = upstream_box[0]
                if not keep:
                    return
        except (OSError, ssl.SSLError, ValueError):  # the client went away, or sent what is not HTTP/1.1
            return
        finally:
            if upstream:
                upstream.close()
            with self._lock:
                self._conns.discard(conn)
            hang_up(conn)

    def _decide(self, req: Request) -> dict[str, Rule]:
        chosen: dict[str, Rule] = {}
        with self._lock:
            for rule in self.rules:
                if rule.kind not in chosen and rule.take(req.method, req.target, req.watch):
                    chosen[rule.kind] = rule
            if (req.watch and "expire" not in chosen and self.expired_below and req.resource_version.isdigit()
                    and 0 < int(req.resource_version) < self.expired_below):
                chosen["expire"] = Rule("expire", "GET", ".*")
        return chosen

    def _note(self, req: Request) -> Seen:
        seen = Seen(req.method, req.target, 0, "", req.arrived, req.watch)
        with self._lock:
            self.seen.append(seen)
        return seen

    def _handle(self, req: Request, conn: socket.socket, box: list) -> bool:
        """Answer one request; False when the client connection must end."""
        faults = self._decide(req)
        seen = self._note(req)
        if "delay" in faults:
            time.sleep(faults["delay"].seconds)
        if "answer" in faults:
            rule = faults["answer"]
            if rule.applied:
                up, _, _, framing, length, close = self._exchange(req, box)
                up.discard(req.method, framing, length)
                if close:
                    up.close()
            phrase, reason, message = _REASONS[rule.status]
            details = {"retryAfterSeconds": rule.retry_after} if rule.retry_after is not None else None
            extra = [("Retry-After", str(rule.retry_after))] if rule.retry_after is not None else []
            send_simple(conn, rule.status, phrase, status_body(rule.status, reason, rule.message or message, details),
                         extra)
            seen.status, seen.fault = rule.status, "answer"
            return True
        if "expire" in faults:
            rv = req.resource_version or "0"
            message = f"too old resource version: {rv} ({self.expired_below or int(rv or 0) + 1})"
            body = status_body(410, "Expired", message)
            if faults["expire"].form == "status":
                send_simple(conn, 410, "Gone", body)
            else:
                event = b'{"type":"ERROR","object":' + body + b"}\n"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                             + chunk(event) + b"0\r\n\r\n")
            seen.status, seen.fault = 410, "expire"
            return True
        up, status, head, framing, length, close = self._exchange(req, box)
        seen.status, seen.fault = status, "cut" if "cut" in faults else ""
        conn.sendall(head)
        if req.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return not close
        if framing == "length":
            up.copy_exact(conn, length)
            return not close
        if framing == "until-close":
            up.copy_until_close(conn)
            return False
        return self._relay_chunked(up, conn, faults.get("cut")) and not close

    def _exchange(self, req: Request, box: list) -> tuple:
        """Send the request upstream and read the answer's head. A kept-alive upstream connection the server closed
        while idle is replaced once, as a client would: the request never reached the server."""
        while True:
            reused = box[0] is not None and not box[0].dead
            if not reused:
                box[0] = Upstream(self.upstream, self._client_ctx)
            up: Upstream = box[0]
            try:
                up.send_request(req, f"{self.upstream[0]}:{self.upstream[1]}")
                return (up, *up.read_head())
            except Idle:
                up.close()  # dead: the next turn opens a fresh connection, whose failure is final
                if not reused:
                    raise

    def _relay_chunked(self, up: Upstream, conn: socket.socket, cut: Rule | None) -> bool:
        """Chunk by chunk, re-chunked one line per chunk so events can be counted; False after a reset cut."""
        if cut is None:
            for data in up.chunks():
                conn.sendall(chunk(data))
            conn.sendall(b"0\r\n\r\n")
            return True
        timer = None
        fired = threading.Event()
        if cut.after_seconds is not None:
            def fire() -> None:
                fired.set()
                up.shutdown()
            timer = threading.Timer(cut.after_seconds, fire)
            timer.daemon = True
            timer.start()
        events = 0
        buf = b""
        try:
            if cut.after_events == 0:
                raise _Cut
            for data in up.chunks():
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    conn.sendall(chunk(line + b"\n"))
                    if line.strip() and b'"BOOKMARK"' not in line[:30]:
                        events += 1
                    if cut.after_events is not None and events >= cut.after_events:
                        raise _Cut
            if buf:
                conn.sendall(chunk(buf))
            conn.sendall(b"0\r\n\r\n")
            return True
        except _Cut:
            pass
        except (OSError, ValueError):  # the timer shut the upstream connection down mid-read
            if not fired.is_set():
                raise
        finally:
            if timer:
                timer.cancel()
        up.close()
        if cut.how == "end":
            conn.sendall(b"0\r\n\r\n")
            return True
        return False


class _Cut(Exception):
    pass
