"""The app's databases as shipit reaches them: the primary (`database.url`) and each other Rails database of
`database.databases`, each with its own servers. Migrations are grouped by the database they carry, so each group's
checks, waits and reads go to that database's servers and never to another's.

Servers of the primary keep their plain names (`primary`, `replica1`); another database's are prefixed with its
name (`queue:primary`, `queue:replica1`), so every finding says where it came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from shipit.core.config_database import PRIMARY
from shipit.db.connection import DatabaseURL, Role, Server, Servers


@dataclasses.dataclass(frozen=True)
class AppDatabase:
    name: str
    servers: Servers


@dataclasses.dataclass(frozen=True)
class AppDatabases:
    members: tuple[AppDatabase, ...]  # the primary first

    @property
    def primary(self) -> Servers:
        return self.members[0].servers

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    def get(self, name: str) -> Servers | None:
        return next((m.servers for m in self.members if m.name == name), None)

    def all_servers(self) -> tuple[Server, ...]:
        return tuple(s for m in self.members for s in m.servers.all())

    def close(self) -> None:
        for m in self.members:
            m.servers.close()


def server_name(database: str, server: str) -> str:
    """How a server is named in readings and findings: plain for the primary database, else `database:server`."""
    return server if database == PRIMARY else f"{database}:{server}"


def _servers(database: str, url: str, replicas: Iterable[Any], retry_budget: float) -> Servers:
    primary = Server(server_name(database, "primary"), DatabaseURL.parse(url), Role.PRIMARY, retry_budget=retry_budget)
    return Servers(primary, tuple(
        Server(server_name(database, r.name), DatabaseURL.parse(r.url), Role.REPLICA, retry_budget=retry_budget)
        for r in replicas
    ))


def databases_from_config(db: Any, *, retry_budget: float = 10.0) -> AppDatabases:
    """Every configured database (a `shipit.core.config.DatabaseConfig`); connects lazily."""
    members = [AppDatabase(PRIMARY, _servers(PRIMARY, db.url, db.replicas, retry_budget))]
    members += [AppDatabase(o.name, _servers(o.name, o.url, o.replicas, retry_budget)) for o in db.databases]
    return AppDatabases(tuple(members))


def by_database(migrations: Sequence[Any]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """Pure: the migrations (objects with `.database`) grouped by database, the primary first, each in plan order."""
    groups: dict[str, list[Any]] = {PRIMARY: []}
    for m in migrations:
        groups.setdefault(getattr(m, "database", PRIMARY), []).append(m)
    return tuple((name, tuple(ms)) for name, ms in groups.items() if ms)


def unconfigured(migrations: Sequence[Any], configured: Iterable[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Pure: each database the migrations use that has no configuration, with the paths of its migrations."""
    known = set(configured)
    return tuple((name, tuple(m.path for m in ms)) for name, ms in by_database(migrations) if name not in known)


def unconfigured_message(missing: Sequence[tuple[str, tuple[str, ...]]]) -> str:
    """Why a release stops before anything changes when a migration's database has no URL."""
    parts = [f"{name} ({', '.join(paths[:2])}{f' and {len(paths) - 2} more' if len(paths) > 2 else ''})"
             for name, paths in missing]
    rest = ", ".join(name for name, _ in missing[1:])
    return (f"the release migrates database{'s' * (len(missing) > 1)} {'; '.join(parts)} that the configuration "
            f"does not reach: shipit would neither check its data nor wait for its schema. Add "
            f"database.databases.{missing[0][0]}.url (the database of config/database.yml's `{missing[0][0]}`)"
            + (f", and likewise for {rest}" if rest else ""))


def unreached_note(declared: Iterable[str], configured: Iterable[str]) -> str:
    """Pure: the databases config/database.yml migrates that have no URL ("" when none), said once per run: shipit
    cannot read their schema_migrations, so their migrations count as pending only when new since --from."""
    known = set(configured)
    missing = [name for name in declared if name not in known]
    if not missing:
        return ""
    names = ", ".join(missing)
    return (f"database{'s' * (len(missing) > 1)} {names} of config/database.yml {'have' if len(missing) > 1 else 'has'}"
            f" no database.databases entry: shipit reads neither {'their' if len(missing) > 1 else 'its'} "
            f"schema_migrations nor {'their' if len(missing) > 1 else 'its'} health")


def distinct_endpoints(servers: Sequence[Server]) -> tuple[Server, ...]:
    """Pure: one server per host and port, the first named. Server-wide readings (Threads_running, the processlist,
    replica lag) come once from a server that holds several of the app's databases."""
    seen: set[tuple[str, int]] = set()
    out = []
    for s in servers:
        key = (s.url.host.lower(), s.url.port)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return tuple(out)
