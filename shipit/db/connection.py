"""Connections to the primary and replicas shipit watches: read-only, time-limited, reconnecting.

Monitoring must never become the outage it watches for, so every query carries a server-side statement time limit
and sessions are read-only. A lost connection (the server restarted, a proxy dropped it, someone KILLed it) is
retried with a fresh connection for a bounded time, then reported as one clear error naming the server.
pymysql is imported lazily: `shipit --help` must not pay for it.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from shipit.core import redact
from shipit.core.errors import BadInput, ShipitError


class Flavour(str, enum.Enum):
    MYSQL = "mysql"
    MARIADB = "mariadb"
    AURORA = "aurora"


class Role(str, enum.Enum):
    PRIMARY = "primary"
    REPLICA = "replica"


class QueryError(ShipitError):
    """A query failed for a reason a retry does not fix (syntax, privileges, unknown table); `code` is the server's."""

    def __init__(self, message: str, *, code: int | None = None):
        super().__init__(message)
        self.code = code


class QueryTimeout(QueryError):
    """The server stopped a query at its statement time limit."""


# Client errors that mean "the connection is gone, a new one may work".
_RECONNECT_CODES = frozenset({
    2003,  # can't connect (refused, unreachable)
    2006,  # server has gone away
    2013,  # lost connection during query
    2055,  # lost connection (system error)
    1927,  # MariaDB: connection was killed
    1053,  # server shutdown in progress
    4031,  # MySQL 8: disconnected by the server because of inactivity
})
_TIMEOUT_CODES = frozenset({1969, 3024})  # MariaDB max_statement_time, MySQL max_execution_time
_SCHEMES = frozenset({"mysql", "mysql2", "mariadb", "trilogy", "mysql+pymysql"})
_SSL_MODES = frozenset({"DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"})
_TLS_KEYS = frozenset({"ssl-mode", "ssl-ca", "ssl-cert", "ssl-key", "ssl-capath", "ssl-cipher"})
_SELECT = re.compile(r"^\s*SELECT\b", re.IGNORECASE)
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


@dataclasses.dataclass(frozen=True)
class DatabaseURL:
    """`mysql://user:password@host:port/database?ssl-mode=VERIFY_CA&ssl-ca=/path` (mysql2:// and mariadb:// too)."""

    host: str
    port: int = 3306
    user: str = ""
    password: str = dataclasses.field(default="", repr=False)
    database: str = ""
    tls: tuple[tuple[str, str], ...] = ()  # normalised (key, value) pairs, keys as in _TLS_KEYS

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as e:
            raise BadInput(f"database URL {redact.redact(url)!r} is not valid: {e}") from None
        if parts.password:
            redact.register_secret(unquote(parts.password))
            redact.register_secret(parts.password)
        shown = redact.redact(url)
        if parts.scheme.lower() not in _SCHEMES:
            raise BadInput(f"database URL {shown!r}: scheme must be mysql:// (or mysql2://, mariadb://)")
        if not parts.hostname:
            raise BadInput(f"database URL {shown!r} has no host")
        database = unquote(parts.path.lstrip("/"))
        if not database or "/" in database:
            raise BadInput(f"database URL {shown!r} must name one database: mysql://user@host:3306/<database>")
        tls: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            norm = key.lower().replace("_", "-")
            if norm in ("sslmode", "sslca", "sslcert", "sslkey", "sslcapath", "sslcipher"):
                norm = "ssl-" + norm[3:]
            if norm not in _TLS_KEYS:
                raise BadInput(f"database URL {shown!r}: unknown option {key!r} (known: {', '.join(sorted(_TLS_KEYS))})")
            if norm == "ssl-mode":
                value = value.upper()
                if value not in _SSL_MODES:
                    raise BadInput(f"database URL {shown!r}: ssl-mode must be one of {', '.join(sorted(_SSL_MODES))}")
            tls[norm] = value
        return cls(
            host=parts.hostname,
            port=port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=database,
            tls=tuple(sorted(tls.items())),
        )

    def display(self) -> str:
        auth = f"{self.user}:***@" if self.password else (f"{self.user}@" if self.user else "")
        query = "&".join(f"{k}={v}" for k, v in self.tls)
        return f"mysql://{auth}{self.host}:{self.port}/{self.database}" + (f"?{query}" if query else "")

    def ssl_options(self) -> dict[str, Any] | None:
        """pymysql `ssl=` argument, or None for plain TCP (ssl-mode DISABLED/PREFERRED without files)."""
        opts = dict(self.tls)
        mode = opts.get("ssl-mode", "VERIFY_CA" if "ssl-ca" in opts else "PREFERRED")
        if mode in ("DISABLED", "PREFERRED") and not {"ssl-ca", "ssl-cert", "ssl-key"} & opts.keys():
            return None
        ssl: dict[str, Any] = {"check_hostname": mode == "VERIFY_IDENTITY"}
        for key, name in (("ssl-ca", "ca"), ("ssl-capath", "capath"), ("ssl-cert", "cert"), ("ssl-key", "key"),
                          ("ssl-cipher", "cipher")):
            if key in opts:
                ssl[name] = opts[key]
        if mode in ("REQUIRED", "PREFERRED", "DISABLED"):
            import ssl as _ssl

            ssl["verify_mode"] = _ssl.CERT_NONE
        return ssl


def parse_version(text: str) -> tuple[int, int, int]:
    """`10.11.6-MariaDB-0+deb12u1-log` -> (10, 11, 6); MariaDB's old `5.5.5-` replication prefix is skipped."""
    if text.startswith("5.5.5-"):
        text = text[len("5.5.5-"):]
    m = _VERSION.search(text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)


def limit_statement(sql: str, flavour: Flavour, timeout: float | None) -> str:
    """The statement with a server-side time limit: MariaDB covers every statement, MySQL only SELECT."""
    if not timeout or timeout <= 0:
        return sql
    if flavour is Flavour.MARIADB:
        return f"SET STATEMENT max_statement_time={timeout:.3f} FOR {sql.lstrip()}"
    m = _SELECT.match(sql)
    if m:
        return f"SELECT /*+ MAX_EXECUTION_TIME({max(1, int(timeout * 1000))}) */{sql[m.end():]}"
    return sql


def _error_code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


class Server:
    """One MySQL/MariaDB server; a single lazily opened connection, safe to share between threads."""

    def __init__(
        self,
        name: str,
        url: DatabaseURL,
        role: Role = Role.PRIMARY,
        *,
        connect_timeout: float = 5.0,
        retry_budget: float = 10.0,
    ):
        self.name = name
        self.url = url
        self.role = Role(role)
        self.connect_timeout = connect_timeout
        self.retry_budget = retry_budget
        self._conn: Any = None
        self._lock = threading.RLock()
        self._flavour: Flavour | None = None
        self._version: tuple[int, int, int] | None = None
        self._version_text = ""

    def __repr__(self) -> str:
        return f"Server({self.name!r}, {self.url.display()!r}, {self.role.value})"

    # --- public API ------------------------------------------------------------------------------------------------

    def query(self, sql: str, args: Any = None, *, timeout: float = 5.0) -> list[dict]:
        return self._run(sql, args, timeout, fetch=True)

    def query_one(self, sql: str, args: Any = None, *, timeout: float = 5.0) -> dict | None:
        rows = self.query(sql, args, timeout=timeout)
        return rows[0] if rows else None

    def execute(self, sql: str, args: Any = None, *, timeout: float | None = None) -> int:
        """For the few writes shipit does itself (KILL QUERY). Returns affected rows."""
        return self._run(sql, args, timeout, fetch=False)

    @property
    def flavour(self) -> Flavour:
        self._ensure_detected()
        assert self._flavour is not None
        return self._flavour

    @property
    def version(self) -> tuple[int, int, int]:
        self._ensure_detected()
        assert self._version is not None
        return self._version

    @property
    def version_text(self) -> str:
        self._ensure_detected()
        return self._version_text

    @property
    def connection_id(self) -> int:
        """This session's id on the server (to exclude ourselves from processlist readings)."""
        return int(self.query_one("SELECT CONNECTION_ID() AS id", timeout=0)["id"])

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already gone; nothing to release
                pass

    # --- internals -------------------------------------------------------------------------------------------------

    def _ensure_detected(self) -> None:
        if self._flavour is None:
            self._run("SELECT 1", None, 0, fetch=True)

    def _connect(self) -> Any:
        import pymysql
        import pymysql.cursors

        conn = pymysql.connect(
            host=self.url.host,
            port=self.url.port,
            user=self.url.user,
            password=self.url.password,
            database=self.url.database,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=self.connect_timeout,
            ssl=self.url.ssl_options(),
            cursorclass=pymysql.cursors.DictCursor,
            init_command="SET SESSION TRANSACTION READ ONLY",
        )
        if self._flavour is None:
            self._detect(conn)
        return conn

    def _detect(self, conn: Any) -> None:
        import pymysql

        with conn.cursor() as cur:
            cur.execute("SELECT VERSION() AS v")
            text = cur.fetchone()["v"]
            flavour = Flavour.MARIADB if "mariadb" in text.lower() else Flavour.MYSQL
            if flavour is Flavour.MYSQL:
                try:
                    cur.execute("SELECT @@aurora_version AS a")
                    if cur.fetchone()["a"]:
                        flavour = Flavour.AURORA
                except pymysql.MySQLError:  # 1193 unknown system variable: not Aurora
                    pass
        self._version_text, self._version, self._flavour = text, parse_version(text), flavour

    def _run(self, sql: str, args: Any, timeout: float | None, *, fetch: bool) -> Any:
        import pymysql

        deadline = time.monotonic() + self.retry_budget
        delay, attempts = 0.1, 0
        while True:
            attempts += 1
            try:
                with self._lock:
                    if self._conn is None:
                        self._conn = self._connect()
                    statement = limit_statement(sql, self._flavour or Flavour.MYSQL, timeout)
                    with self._conn.cursor() as cur:
                        count = cur.execute(statement, args)
                        return list(cur.fetchall()) if fetch else count
            except pymysql.MySQLError as e:
                code = _error_code(e)
                if code in _TIMEOUT_CODES:
                    raise QueryTimeout(
                        f"{self.name}: query stopped at its {timeout:g}s time limit: {_short(sql)}", code=code
                    ) from None
                if code not in _RECONNECT_CODES and not isinstance(e, pymysql.err.InterfaceError):
                    raise self._failure(e, sql) from None
                self.close()
                if time.monotonic() + delay > deadline:
                    raise ShipitError(
                        f"{self.name} database at {self.url.display()} unreachable after {attempts} attempts "
                        f"over {self.retry_budget:g}s: {redact.redact(str(e))}"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            except OSError as e:  # socket errors pymysql did not wrap
                self.close()
                if time.monotonic() + delay > deadline:
                    raise ShipitError(f"{self.name} database at {self.url.display()} unreachable: {e}") from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _failure(self, e: Exception, sql: str) -> QueryError:
        code = _error_code(e)
        if code in (1044, 1045, 1049, 1698):  # access denied / unknown database: nothing a retry fixes
            return QueryError(f"{self.name} database at {self.url.display()}: {redact.redact(str(e))}", code=code)
        return QueryError(f"{self.name}: query failed ({redact.redact(str(e))}): {_short(sql)}", code=code)


def _short(sql: str, limit: int = 160) -> str:
    flat = " ".join(sql.split())
    return redact.redact(flat if len(flat) <= limit else flat[: limit - 1] + "…")


@dataclasses.dataclass(frozen=True)
class Servers:
    primary: Server
    replicas: tuple[Server, ...] = ()

    def all(self) -> tuple[Server, ...]:
        return (self.primary, *self.replicas)

    def close(self) -> None:
        for server in self.all():
            server.close()


def servers_from_config(db: Any, *, retry_budget: float = 10.0) -> Servers:
    """Servers for `database.url` and each `database.replicas[]` (a `shipit.core.config.DatabaseConfig`); connects lazily."""
    primary = Server("primary", DatabaseURL.parse(db.url), Role.PRIMARY, retry_budget=retry_budget)
    replicas = tuple(
        Server(r.name, DatabaseURL.parse(r.url), Role.REPLICA, retry_budget=retry_budget) for r in db.replicas
    )
    return Servers(primary, replicas)
