"""`database:`: the primary database (`url`, `replicas`) and the app's other Rails databases under `databases:`,
keyed by their name in config/database.yml (`queue`, `cache`...), each with its own URL and replicas."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from shipit.core import config_values as v
from shipit.core.errors import ConfigError

if TYPE_CHECKING:
    from shipit.core.config import _Reader

PRIMARY = "primary"  # the name Rails and the plan give the database of `database.url`
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a database.yml key that Rails' namespaced tasks accept


@dataclasses.dataclass(frozen=True)
class ReplicaConfig:
    name: str
    url: str


@dataclasses.dataclass(frozen=True)
class OtherDatabaseConfig:
    """One more Rails database: its migrations are checked, waited for and gated on these servers."""

    name: str
    url: str
    replicas: tuple[ReplicaConfig, ...] = ()


@dataclasses.dataclass(frozen=True)
class DatabaseConfig:
    url: str
    replicas: tuple[ReplicaConfig, ...] = ()
    databases: tuple[OtherDatabaseConfig, ...] = ()  # the app's other databases, by their database.yml name

    @property
    def names(self) -> tuple[str, ...]:
        """Every configured database, the primary first."""
        return (PRIMARY,) + tuple(d.name for d in self.databases)


def _replicas(r: _Reader) -> tuple[ReplicaConfig, ...]:
    from shipit.core.config import _interpolate, _Reader

    replicas = []
    for i, (node, where) in enumerate(r.items("replicas")):
        if isinstance(node.value, str):
            try:
                url = v.mysql_url(_interpolate(node.value, r.env, where, node.line))
            except ValueError as e:
                raise ConfigError(f"{where} (line {node.line}): {e}") from None
            replicas.append(ReplicaConfig(name=f"replica{i + 1}", url=url))
            continue
        item = _Reader(node, where, r.env, ("name", "url"))
        replicas.append(ReplicaConfig(name=item.get("name", v.text, f"replica{i + 1}"),
                                      url=item.get("url", v.mysql_url)))
    names = [x.name for x in replicas]
    if len(set(names)) != len(names):
        raise ConfigError(f"{r._key('replicas')}: names must be unique, got {names}")
    return tuple(replicas)


def _same_database(a: str, b: str) -> bool:
    from shipit.db.connection import DatabaseURL

    x, y = DatabaseURL.parse(a), DatabaseURL.parse(b)
    return (x.host.lower(), x.port, x.database) == (y.host.lower(), y.port, y.database)


def parse_database(top: _Reader) -> DatabaseConfig:
    from shipit.core.config import _Reader

    db = top.section("database", ("url", "replicas", "databases"))
    url, replicas = db.get("url", v.mysql_url), _replicas(db)
    node = db.raw("databases")
    if node is None or node.value is None:
        return DatabaseConfig(url, replicas)
    if not isinstance(node.value, dict):
        raise ConfigError(f"database.databases (line {node.line}): expected a mapping of database names "
                          f"(as in config/database.yml) to {{url, replicas}}")
    taken = {"database.url": url}
    others: list[OtherDatabaseConfig] = []
    for name, item in node.value.items():
        where = f"database.databases.{name}"
        if name == PRIMARY:
            raise ConfigError(f"{where} (line {item.line}): the primary database is database.url itself; "
                              f"list only the other databases here")
        if not _NAME.match(name):
            raise ConfigError(f"{where} (line {item.line}): expected a database name as in config/database.yml "
                              f"(letters, digits, _)")
        if not isinstance(item.value, dict):
            raise ConfigError(f"{where} (line {item.line}): expected a mapping with url (required) and replicas")
        sub = _Reader(item, where, db.env, ("url", "replicas"))
        other = OtherDatabaseConfig(name, sub.get("url", v.mysql_url), _replicas(sub))
        same = next((key for key, u in taken.items() if _same_database(other.url, u)), None)
        if same is not None:
            raise ConfigError(f"{where}.url (line {sub.raw('url').line}): the same database as {same}; each Rails "
                              f"database has its own schema (and schema_migrations)")
        taken[f"{where}.url"] = other.url
        others.append(other)
    return DatabaseConfig(url, replicas, tuple(others))
