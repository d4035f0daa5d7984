"""The real gh-ost binary against a test MariaDB, and the one protocol rewrite it needs there.

gh-ost 1.1.6 opens every connection with `SET transaction_isolation="REPEATABLE-READ"` (a go-sql-driver DSN
parameter it hard-codes); MariaDB before 11.1 knows that variable only as `tx_isolation` and refuses with
`Error 1193: Unknown system variable 'transaction_isolation'`, so gh-ost stops before it reads anything.
`MariaDbShim` is a TCP relay that renames that one variable in the client's `SET` statements and passes every other
byte (queries, results, the binlog stream) unchanged. gh-ost also checks that the server's `@@port` is the port it
dialled, so the relay listens on the server's own port at another loopback address (127.0.0.2).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

CACHED = Path.home() / ".cache" / "shipit-tools" / "gh-ost"
GH_OST = shutil.which("gh-ost") or (str(CACHED) if CACHED.is_file() else None)
SKIP_REASON = ("no gh-ost on PATH or in ~/.cache/shipit-tools (scripts/test builds it from its Go module when Go is "
               "present)")
SHIM_HOST = "127.0.0.2"

_COM_QUERY_SET = b"\x03SET "
_OLD, _NEW = b"transaction_isolation=", b"tx_isolation="


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class MariaDbShim:
    """Relays SHIM_HOST:port to 127.0.0.1:port, renaming transaction_isolation in the client's SET statements."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.rewrites = 0
        self._listener = socket.create_server((SHIM_HOST, port))
        self._listener.settimeout(0.2)
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.port))
            self._open += [client, server]
            threading.Thread(target=self._client_to_server, args=(client, server), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(server, client), daemon=True).start()

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        # the client's side is read packet by packet (3-byte length, sequence id, payload) so one can be rewritten
        with contextlib.suppress(OSError):
            while (head := _read_exactly(client, 4)) is not None:
                body = _read_exactly(client, int.from_bytes(head[:3], "little"))
                if body is None:
                    break
                if body.startswith(_COM_QUERY_SET) and _OLD in body:
                    body = body.replace(_OLD, _NEW)
                    head = len(body).to_bytes(3, "little") + head[3:]
                    self.rewrites += 1
                server.sendall(head + body)
        self._close(client, server)

    def _server_to_client(self, server: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                client.sendall(data)
        self._close(client, server)

    @staticmethod
    def _close(*socks: socket.socket) -> None:
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)
        self._close(*self._open)


@contextlib.contextmanager
def mariadb_shim(port: int) -> Iterator[MariaDbShim]:
    shim = MariaDbShim(port)
    try:
        yield shim
    finally:
        shim.stop()


class GhostRun:
    """One gh-ost process; its merged stdout and stderr are collected line by line as it writes them."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.lines: list[str] = []
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        """SIGKILL, as when the migration's pod is killed: gh-ost cleans nothing up."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.wait(timeout=30)


def ghost_args(host: str, port: int, database: str, table: str, alter: str, workdir: Path, *extra: str) -> list[str]:
    """gh-ost run on the primary itself (`--allow-on-master`), its socket and flag files under `workdir`."""
    assert GH_OST is not None
    return [GH_OST, f"--host={host}", f"--port={port}", "--user=root", "--password=", f"--database={database}",
            f"--table={table}", f"--alter={alter}", "--allow-on-master", "--execute",
            f"--serve-socket-file={workdir / 'gh-ost.sock'}",
            f"--throttle-additional-flag-file={workdir / 'throttle.flag'}", *extra]


def wait_for_line(run: GhostRun, needle: str, timeout: float) -> str:
    """The first line of the run's output containing `needle`; fails with the output if the run ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hit = next((line for line in list(run.lines) if needle in line), None)
        if hit is not None:
            return hit
        if run.proc.poll() is not None:
            time.sleep(0.2)  # the reader may still be catching up
            hit = next((line for line in list(run.lines) if needle in line), None)
            if hit is not None:
                return hit
            raise AssertionError(f"gh-ost exited {run.proc.returncode} before {needle!r}:\n{run.output[-3000:]}")
        time.sleep(0.1)
    raise AssertionError(f"no {needle!r} from gh-ost within {timeout}s:\n{run.output[-3000:]}")
