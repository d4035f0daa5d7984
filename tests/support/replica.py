"""A real primary + replica pair of MariaDB servers, started by the tests in a temp dir on free ports.

The machine's MariaDB service (3306) has no binary log and performance_schema off, so replication, replica lag and
P_S stage progress need servers of our own. Both run `mariadbd --no-defaults` with GTID replication, binlog on the
primary and performance_schema with the ALTER stage consumer, the current-statement consumer (an idle blocker's last
statement, MySQL 8's default) and the MDL instrument on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from tests.support.mariadb import query

MARIADBD = os.environ.get("SHIPIT_TEST_MARIADBD", "/usr/sbin/mariadbd")
INSTALL_DB = os.environ.get("SHIPIT_TEST_INSTALL_DB", "mariadb-install-db")
STARTUP_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class MariaServer:
    """One mariadbd process we own: its port, socket, data dir and process."""

    name: str
    root: Path
    port: int
    server_id: int
    extra: tuple[str, ...] = ()
    process: subprocess.Popen | None = None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_path(self) -> Path:
        return self.root / "mysqld.sock"

    @property
    def tmpdir(self) -> Path:
        return self.root / "tmp"

    @property
    def error_log(self) -> Path:
        return self.root / "error.log"

    def url(self, db: str = "") -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{db}"

    def connect(self, db: str | None = None, **kw) -> pymysql.connections.Connection:
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", database=db,
                               autocommit=True, **kw)

    def sql(self, statement: str, args=None, db: str | None = None) -> list[dict]:
        return query(self.connect(db, cursorclass=pymysql.cursors.DictCursor), statement, args)

    def install(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [INSTALL_DB, "--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db",
             f"--datadir={self.datadir}", "--user=root" if os.geteuid() == 0 else f"--user={os.getlogin()}"],
            check=True, capture_output=True, timeout=60,
        )

    def start(self) -> None:
        args = [
            MARIADBD, "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}", "--bind-address=127.0.0.1",
            f"--socket={self.socket_path}", f"--pid-file={self.root / 'mysqld.pid'}", f"--log-error={self.error_log}",
            f"--tmpdir={self.tmpdir}",  # our own: another process cleaning /tmp must not break a query's temp table
            f"--server-id={self.server_id}", "--skip-name-resolve", "--innodb-buffer-pool-size=256M",
            "--innodb-log-file-size=96M", "--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0",
            "--performance-schema=ON", "--performance-schema-consumer-events-stages-current=ON",
            "--performance-schema-consumer-events-statements-current=ON",
            "--performance-schema-instrument=stage/innodb/alter%=ON",
            "--performance-schema-instrument=stage/sql/copy to tmp table=ON",
            "--performance-schema-instrument=wait/lock/metadata/sql/mdl=ON",
            "--gtid-strict-mode=ON", *self.extra,
        ]
        if os.geteuid() == 0:
            args.append("--user=root")
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} mariadbd exited: {self._log_tail()}")
            try:
                self.connect().close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} mariadbd did not accept connections: {self._log_tail()}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.error_log.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return "(no error log)"


@dataclasses.dataclass
class ReplicaPair:
    primary: MariaServer
    replica: MariaServer

    def replica_status(self) -> dict:
        rows = self.replica.sql("SHOW REPLICA STATUS")
        return rows[0] if rows else {}

    def wait_replicating(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            st = self.replica_status()
            if st.get("Slave_IO_Running") == "Yes" and st.get("Slave_SQL_Running") == "Yes":
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"replication did not start: {st.get('Last_IO_Error')} {st.get('Last_SQL_Error')}")
            time.sleep(0.05)

    def wait_caught_up(self, timeout: float = 60.0) -> None:
        """Until the replica has applied everything the primary has written so far."""
        target = self.primary.sql("SELECT @@gtid_binlog_pos AS pos")[0]["pos"]
        if not target:
            return
        row = self.replica.sql("SELECT MASTER_GTID_WAIT(%s, %s) AS r", (target, timeout))[0]
        if row["r"] != 0:
            raise RuntimeError(f"replica did not reach {target} within {timeout}s: {self.replica_status()}")

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[PairDatabase]:
        """A database created on the primary and replicated; dropped (everywhere) afterwards."""
        db = PairDatabase(name=f"shipit_r_{uuid.uuid4().hex[:12]}", pair=self)
        self.primary.sql(f"CREATE DATABASE `{db.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        self.wait_caught_up()
        try:
            yield db
        finally:
            for server in (self.primary, self.replica):
                for row in server.sql("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> "
                                      "CONNECTION_ID() AND USER <> 'system user'", (db.name,)):
                    with contextlib.suppress(pymysql.MySQLError):
                        server.sql(f"KILL {int(row['ID'])}")
            self.primary.sql(f"DROP DATABASE IF EXISTS `{db.name}`")
            with contextlib.suppress(RuntimeError):
                self.wait_caught_up(timeout=120)


@dataclasses.dataclass(frozen=True)
class PairDatabase:
    name: str
    pair: ReplicaPair

    @property
    def primary_url(self) -> str:
        return self.pair.primary.url(self.name)

    @property
    def replica_url(self) -> str:
        return self.pair.replica.url(self.name)

    def connect(self, server: str = "primary", **kw) -> pymysql.connections.Connection:
        return getattr(self.pair, server).connect(self.name, **kw)


@contextlib.contextmanager
def start_pair(base: Path | None = None) -> Iterator[ReplicaPair]:
    root = Path(tempfile.mkdtemp(prefix="shipit-pair-", dir=base))
    primary = MariaServer("primary", root / "primary", _free_port(), 1,
                          extra=("--log-bin=mysql-bin", "--binlog-format=ROW"))
    replica = MariaServer("replica", root / "replica", _free_port(), 2, extra=("--read-only=ON",))
    try:
        primary.install()
        shutil.copytree(primary.datadir, replica.datadir)  # same empty system schema, faster than a 2nd install
        primary.start()
        replica.start()
        replica.sql(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, MASTER_USER='root', MASTER_PASSWORD='', "
            "MASTER_USE_GTID=current_pos, MASTER_CONNECT_RETRY=1", (primary.port,))
        replica.sql("START REPLICA")
        pair = ReplicaPair(primary, replica)
        pair.wait_replicating()
        yield pair
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def replica_pair() -> Iterator[ReplicaPair]:
    """A running primary + replica pair for the whole session (started lazily, only by tests that ask)."""
    with start_pair() as pair:
        yield pair


@pytest.fixture
def pair_db(replica_pair: ReplicaPair) -> Iterator[PairDatabase]:
    with replica_pair.fresh_database() as db:
        yield db
