"""HTTP/1.1 framing for the fault proxy: requests read from a client, one TLS connection to the API server, chunked
bodies, small answers."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One client request, its body read whole (de-chunked)."""
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    watch: bool = False
    resource_version: str = ""
    arrived: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name), "")


class Idle(OSError):
    """The server closed the connection before answering."""


class Upstream:
    """One TLS connection to the API server."""

    def __init__(self, addr: tuple[str, int], ctx: ssl.SSLContext) -> None:
        raw = socket.create_connection(addr, timeout=30)
        raw.settimeout(None)
        self.sock = ctx.wrap_socket(raw, server_hostname=addr[0])
        self.reader = self.sock.makefile("rb")
        self.dead = False

    def send_request(self, req: Request, host: str) -> None:
        lines = [f"{req.method} {req.target} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in req.headers if k.lower() not in ("host", "content-length", "transfer-encoding")]
        if req.body or req.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(req.body)}")
        try:
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + req.body)
        except OSError as e:
            raise Idle(str(e)) from e

    def read_head(self) -> tuple[int, bytes, str, int, bool]:
        try:
            status_line = self.reader.readline()
        except ConnectionResetError as e:
            raise Idle(str(e)) from e
        if not status_line:
            raise Idle("the API server closed the connection")
        head = [status_line]
        headers: dict[str, str] = {}
        while True:
            line = self.reader.readline()
            head.append(line)
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        status = int(status_line.split()[1])
        close = headers.get("connection", "").lower() == "close"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            framing, length = "chunked", 0
        elif "content-length" in headers:
            framing, length = "length", int(headers["content-length"])
        else:
            framing, length, close = "until-close", 0, True
        if close:
            self.dead = True
        return status, b"".join(head), framing, length, close

    def copy_exact(self, conn: socket.socket, n: int) -> None:
        while n > 0:
            data = self.reader.read(min(n, 65536))
            if not data:
                raise OSError("the API server closed the connection mid-body")
            conn.sendall(data)
            n -= len(data)

    def copy_until_close(self, conn: socket.socket) -> None:
        while data := self.reader.read1(65536):
            conn.sendall(data)
        self.close()

    def discard(self, method: str, framing: str, length: int) -> None:
        """Read the answer's body and drop it."""
        if method == "HEAD":
            return
        if framing == "length":
            self.reader.read(length)
        elif framing == "chunked":
            for _ in self.chunks():
                pass
        else:
            while self.reader.read1(65536):
                pass

    def chunks(self):
        while True:
            size_line = self.reader.readline()
            if not size_line:
                raise OSError("the API server closed the connection mid-stream")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while self.reader.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return
            data = self.reader.read(size)
            self.reader.readline()
            yield data

    def shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self.dead = True
        self.shutdown()
        try:
            self.sock.close()
        except OSError:
            pass


def read_request(reader) -> Request | None:
    line = reader.readline()
    while line in (b"\r\n", b"\n"):
        line = reader.readline()
    if not line:
        return None
    method, target, version = line.decode("latin-1").split()
    headers: list[tuple[str, str]] = []
    while True:
        h = reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers.append((k.strip(), v.strip()))
    req = Request(method.upper(), target, version, headers, b"")
    if "chunked" in req.header("transfer-encoding").lower():
        parts = []
        while (size := int(reader.readline().split(b";")[0].strip(), 16)) > 0:
            parts.append(reader.read(size))
            reader.readline()
        while reader.readline() not in (b"\r\n", b"\n", b""):
            pass
        req.body = b"".join(parts)
    elif req.header("content-length"):
        req.body = reader.read(int(req.header("content-length")))
    query = parse_qs(urlsplit(target).query)
    req.watch = (query.get("watch") or [""])[0].lower() in ("true", "1")
    req.resource_version = (query.get("resourceVersion") or [""])[0]
    return req


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def send_simple(conn: socket.socket, status: int, phrase: str, body: bytes,
                 extra: list[tuple[str, str]] = ()) -> None:
    head = [f"HTTP/1.1 {status} {phrase}", "Content-Type: application/json", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in extra)]
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def hang_up(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        conn.close()
    except OSError:
        pass
