"""What the app's own files say beyond the migrations: its models at `--to`, its columns at `--from`.

Staging rules need both: a dropped column is only safe after the code when the model at `--to` ignores it (Rails
caches every column it knows and writes them all), and removing a default only relaxes a nullable column. Pure
functions over file texts; reading them from git is `plan.build_plan`'s job. The column reader is a small one of
its own (table, column, NULL-ness, whether there is a default), enough for these rules.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

from shipit.planning.rails.naming import pluralize, underscore

MODELS_DIR = "app/models"
SCHEMA_FILES = ("db/schema.rb", "db/structure.sql")
INFLECTIONS = "config/initializers/inflections.rb"
GEMFILE_LOCK = "Gemfile.lock"


@dataclass(frozen=True)
class Model:
    path: str
    class_name: str
    table: str
    ignored_columns: frozenset[str]


@dataclass(frozen=True)
class ColumnDef:
    table: str
    column: str
    null: bool
    has_default: bool


@dataclass(frozen=True)
class AppFacts:
    """`models` is None when the models were not read (then a rule that needs them says so)."""

    models: Mapping[str, tuple[Model, ...]] | None = None  # by table name: every model mapping it
    columns: Mapping[tuple[str, str], ColumnDef] | None = None  # by (table, column), at --from
    acronyms: tuple[str, ...] = ()
    rails: tuple[int, int] | None = None  # ActiveRecord's version in Gemfile.lock at --to

    def models_of(self, table: str) -> tuple[Model, ...]:
        return () if self.models is None else tuple(self.models.get(table, ()))


_CLASS = re.compile(r"^\s*class\s+([A-Z][\w:]*)\s*<\s*([A-Z][\w:]*)", re.M)
# an engine kept in the repository (engines/shipping, components/billing): its own app/models
_ENGINE_MODELS = re.compile(r"^(?:[\w.-]+/)*?(?P<engine>[\w.-]+)/app/models/")
_NOT_APP = frozenset({"vendor", "node_modules", "spec", "test", "tmp"})  # folders whose models the app never loads
_TABLE_NAME = re.compile(r"self\.table_name\s*=\s*[\"':]([\w.]+)")
_IGNORED = re.compile(r"self\.ignored_columns\s*(\+?=)\s*(\[[^\]]*\]|%[wi][\[(][^\])]*[\])]|[\"':][\w]+[\"']?)", re.S)
_WORD = re.compile(r"[\"':]?(\w+)[\"']?")


def model_from_source(path: str, source: str) -> Model | None:
    """An ActiveRecord model's table and ignored columns (`self.ignored_columns = [...]`, `+= %w[...]`)."""
    match = _CLASS.search(source)
    if match is None or match.group(2) in ("ActiveRecord::Migration",):
        return None
    class_name = match.group(1)
    explicit = _TABLE_NAME.search(source)
    derived = _prefix(path) + pluralize(underscore(class_name.split("::")[-1]))
    table = explicit.group(1).split(".")[-1] if explicit else derived
    ignored: set[str] = set()
    for _, listed in _IGNORED.findall(source):
        body = re.sub(r"^%[wi][\[(]|[\])]$", "", listed.strip()) if listed.startswith("%") else listed.strip("[]")
        ignored.update(w for w in _WORD.findall(body) if w)
    return Model(path, class_name, table, frozenset(ignored))


def _prefix(path: str) -> str:
    """An isolated engine's models (engines/shipping/app/models/shipping/...) get its `shipping_` table prefix."""
    m = _ENGINE_MODELS.match(path)
    if m is None:
        return ""
    engine = m["engine"].replace("-", "_")
    return f"{engine}_" if path[m.end():].startswith(engine + "/") else ""


def models_from_sources(sources: Mapping[str, str]) -> dict[str, tuple[Model, ...]]:
    out: dict[str, tuple[Model, ...]] = {}
    for path in sorted(sources):
        model = model_from_source(path, sources[path])
        if model is not None:
            out[model.table] = out.get(model.table, ()) + (model,)
    return out


_ACTIVERECORD = re.compile(r"^ {4}activerecord \((\d+)\.(\d+)", re.M)


def rails_version(gemfile_lock: str) -> tuple[int, int] | None:
    """ActiveRecord's major.minor from Gemfile.lock (the version that will run the migrations)."""
    match = _ACTIVERECORD.search(gemfile_lock)
    return (int(match.group(1)), int(match.group(2))) if match else None


def is_model_path(path: str) -> bool:
    """The app's models, and those of engines kept inside the repository (their tables are migrated with the app's)."""
    engine = _ENGINE_MODELS.match(path)
    here = path.startswith(MODELS_DIR + "/") or (engine is not None and not _NOT_APP & set(engine.group(0).split("/")))
    return here and path.endswith(".rb") and "/concerns/" not in path


_RB_TABLE = re.compile(r'^\s*create_table\s+"([^"]+)"', re.M)
_RB_COLUMN = re.compile(r'^\s*t\.(\w+)\s+"([^"]+)"(.*)$')
_SQL_TABLE = re.compile(r"^CREATE TABLE [`\"]?([\w]+)[`\"]?\s*\(", re.M)
_SQL_COLUMN = re.compile(r"^\s+[`\"](\w+)[`\"]\s+(.*?),?$")


def columns_from_schema(path: str, text: str) -> dict[tuple[str, str], ColumnDef]:
    """Column NULL-ness and defaults from db/schema.rb or db/structure.sql (MySQL dump)."""
    out: dict[tuple[str, str], ColumnDef] = {}
    table = None
    sql = posixpath.basename(path).endswith(".sql")
    for line in text.splitlines():
        start = (_SQL_TABLE if sql else _RB_TABLE).match(line)
        if start:
            table = start.group(1)
            continue
        if table is None:
            continue
        if sql:
            if line.startswith(")"):
                table = None
                continue
            col = _SQL_COLUMN.match(line)
            if col and not col.group(2).upper().startswith(("KEY", "INDEX")):
                rest = col.group(2).upper()
                out[(table, col.group(1))] = ColumnDef(table, col.group(1), "NOT NULL" not in rest,
                                                       " DEFAULT " in f" {rest}" and "DEFAULT NULL" not in rest)
        else:
            if line.strip() == "end":
                table = None
                continue
            col = _RB_COLUMN.match(line)
            if col and col.group(1) not in ("index", "check_constraint"):
                rest = col.group(3)
                out[(table, col.group(2))] = ColumnDef(table, col.group(2), "null: false" not in rest,
                                                       "default:" in rest and "default: nil" not in rest)
    return out
