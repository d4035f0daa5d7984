"""Where an app keeps its migrations, and which database each directory migrates.

Rails loads `db/migrate` for the primary database, each database's `migrations_paths` from config/database.yml
(Rails 6+ multiple databases: `queue`, `cache`...), and engines' `db/migrate` when they append them; GitLab-style
apps add `db/post_migrate`, which runs after the code. Pure functions over file paths and texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRIMARY = "primary"
MIGRATE_DIR = "db/migrate"
POST_MIGRATE_DIR = "db/post_migrate"
DATABASE_YML = "config/database.yml"
_SKIP_PREFIXES = ("vendor/", "node_modules/", "spec/", "test/", "tmp/")


@dataclass(frozen=True)
class MigrationDir:
    path: str
    database: str = PRIMARY
    after_code: bool = False  # db/post_migrate: runs after the new code is live


@dataclass(frozen=True)
class Layout:
    dirs: tuple[MigrationDir, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_path", {d.path: d for d in reversed(self.dirs)})

    def locate(self, path: str) -> MigrationDir | None:
        """The directory a migration file belongs to, when Rails will load `path` as a migration."""
        directory, _, base = path.rpartition("/")
        if not (base[:1].isdigit() and base.endswith(".rb")):
            return None
        return self._by_path.get(directory)

    @property
    def databases(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.database for d in self.dirs))


DEFAULT = Layout((MigrationDir(MIGRATE_DIR), MigrationDir(POST_MIGRATE_DIR, after_code=True)))


def database_paths(database_yml: str, environment: str = "production") -> tuple[MigrationDir, ...]:
    """`migrations_paths` of every database in the environment (ERB blanked out, YAML anchors followed)."""
    import yaml

    try:
        data = yaml.safe_load(re.sub(r"<%.*?%>", "x", database_yml, flags=re.S)) or {}
    except yaml.YAMLError:
        return ()
    env = data.get(environment) if isinstance(data, dict) else None
    if not isinstance(env, dict):
        return ()
    nested = {k: v for k, v in env.items() if isinstance(v, dict)}
    databases = nested if nested and "adapter" not in env else {PRIMARY: env}
    out = []
    for name, cfg in databases.items():
        paths = cfg.get("migrations_paths")
        for p in [paths] if isinstance(paths, str) else (paths or []):
            out.append(MigrationDir(str(p).strip("/"), name))
    return tuple(out)


def engine_dirs(paths: tuple[str, ...]) -> tuple[MigrationDir, ...]:
    """Engines inside the repository (`engines/billing/db/migrate`): their migrations run on the primary."""
    found = []
    marker = "/" + MIGRATE_DIR + "/"
    for path in paths:
        if marker not in path:
            continue
        directory = path.rpartition("/")[0]
        if directory.endswith(marker[:-1]) and not directory.startswith(_SKIP_PREFIXES):
            found.append(directory)
    return tuple(MigrationDir(d) for d in dict.fromkeys(found))


def layout_for(paths: tuple[str, ...], database_yml: str | None, extra: tuple[str, ...] = ()) -> Layout:
    """Every migration directory at a commit: the defaults, database.yml's, engines', and configured extras."""
    dirs = list(DEFAULT.dirs)
    if database_yml:
        dirs += database_paths(database_yml)
    dirs += engine_dirs(paths)
    dirs += [MigrationDir(p.strip("/")) for p in extra]
    unique: dict[str, MigrationDir] = {}
    for d in dirs:
        unique.setdefault(d.path, d)
    return Layout(tuple(unique.values()))
