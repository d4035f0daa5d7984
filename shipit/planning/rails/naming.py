"""The names Rails gives the objects a migration creates, by the migration's `Migration[x.y]` version.

Rails' index, foreign key and join-table names, and the ActiveSupport inflections shipit needs (table names from
model names, FK columns from table names, class names from file names). A wrong name here makes the schema-ready
gate wait for an object that never appears, so each rule follows ActiveRecord's own code for that version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

# Rails' generated index names stay within this many bytes from 7.1 (abstract adapter's max_index_name_size).
MAX_GENERATED_INDEX_NAME = 62
# Before 7.1 Rails raises instead of shortening; MySQL's identifier limit is what it checks against.
MYSQL_INDEX_NAME_LIMIT = 64
Version = tuple[int, int] | None  # None: an app's own base class, read as the current Rails
LEGACY = (4, 2)  # `< ActiveRecord::Migration` with no [x.y]: written for Rails 4.2 or earlier


def at_least(version: Version, major: int, minor: int) -> bool:
    return version is None or version >= (major, minor)


def index_name(table: str, columns: Iterable[str] | str, version: Version = (8, 0)) -> str:
    """`index_<table>_on_<a>_and_<b>`; from 7.1 a name over 62 bytes becomes `idx_on_<a>_<b>` cut to fit plus `_`
    and the first 10 hex digits of the SHA-256 of the long name."""
    cols = [columns] if isinstance(columns, str) else list(columns)
    name = f"index_{table}_on_{'_and_'.join(cols)}"
    if not at_least(version, 7, 1) or len(name.encode()) <= MAX_GENERATED_INDEX_NAME:
        return name
    suffix = "_" + hashlib.sha256(name.encode()).hexdigest()[:10]
    short = f"idx_on_{'_'.join(cols)}".encode()[: MAX_GENERATED_INDEX_NAME - len(suffix)]
    return short.decode(errors="ignore") + suffix


def index_name_failure(name: str, table: str) -> str | None:
    """An index name MySQL cannot hold fails the migration: Rails before 7.1 raises "Index name ... is too long"
    itself, later Rails passes an explicit name through and MySQL refuses it (ERROR 1059)."""
    if len(name) <= MYSQL_INDEX_NAME_LIMIT:
        return None
    return (f"index name '{name}' on table '{table}' is {len(name)} characters, over MySQL's "
            f"{MYSQL_INDEX_NAME_LIMIT}: Rails raises \"Index name ... is too long\" (MySQL ERROR 1059 from 7.1 with "
            f"an explicit name); give the index a shorter `name:`")


def reference_index_name(table: str, ref: str, columns: tuple[str, ...], version: Version) -> str:
    """From 6.1 a polymorphic reference's index is named after the reference, not its two columns."""
    if len(columns) > 1 and at_least(version, 6, 1):
        return index_name(table, ref, version)
    return index_name(table, columns, version)


def foreign_key_name(table: str, column: str) -> str:
    return "fk_rails_" + hashlib.sha256(f"{table}_{column}_fk".encode()).hexdigest()[:10]


def check_constraint_name(table: str, expression: str) -> str:
    return "chk_rails_" + hashlib.sha256(f"{table}_{expression}_chk".encode()).hexdigest()[:10]


_IRREGULAR = {"person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice"}
_UNCOUNTABLE = frozenset(
    {"equipment", "information", "rice", "money", "species", "series", "fish", "sheep", "jeans", "police", "news"}
)
_SINGULAR_IRREGULAR = {v: k for k, v in _IRREGULAR.items()}


def pluralize(word: str) -> str:
    """The common cases of ActiveSupport's English pluraliser (table names from model names)."""
    head, _, last = word.rpartition("_")
    prefix = head + "_" if head else ""
    if last in _UNCOUNTABLE:
        return word
    if last in _IRREGULAR:
        return prefix + _IRREGULAR[last]
    if re.search(r"[^aeiou]y$", last):
        return prefix + last[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", last):
        return prefix + last + "es"
    return prefix + last + "s"


def singularize(word: str) -> str:
    """Inverse of `pluralize` for the same common cases (FK columns from table names)."""
    head, _, last = word.rpartition("_")
    prefix = head + "_" if head else ""
    if last in _UNCOUNTABLE:
        return word
    if last in _SINGULAR_IRREGULAR:
        return prefix + _SINGULAR_IRREGULAR[last]
    if re.search(r"[^aeiou]ies$", last):
        return prefix + last[:-3] + "y"
    if re.search(r"(ss|x|z|ch|sh|us)es$", last):
        return prefix + last[:-2]
    if last.endswith("s") and not last.endswith(("ss", "us")):
        return prefix + last[:-1]
    return word


def camelize(snake: str, acronyms: Iterable[str] = ()) -> str:
    """`add_api_keys` -> `AddApiKeys`, or `AddAPIKeys` when `API` is an acronym in config/initializers/inflections."""
    by_lower = {a.lower(): a for a in acronyms}
    return "".join(by_lower.get(part, part[:1].upper() + part[1:]) for part in snake.split("_"))


def underscore(camel: str) -> str:
    """`Admin::APIKey` -> `admin/api_key` (ActiveSupport's rule, without acronym lookups)."""
    word = re.sub(r"([A-Z\d]+)([A-Z][a-z])", r"\1_\2", camel.replace("::", "/"))
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", word).lower()


_ACRONYM = re.compile(r"""\.acronym\s*\(?\s*["']([^"']+)["']""")


def acronyms(inflections_rb: str) -> tuple[str, ...]:
    """The `inflect.acronym "API"` entries of config/initializers/inflections.rb (commented lines skipped)."""
    lines = (line for line in inflections_rb.splitlines() if not line.lstrip().startswith("#"))
    return tuple(m.group(1) for line in lines for m in _ACRONYM.finditer(line))


def join_table_name(table_1: str, table_2: str) -> str:
    """`create_join_table` naming: sorted, with a shared prefix written once (`music_artists` + `music_records`)."""
    joined = "\0".join(sorted((table_1, table_2)))
    joined = re.sub(r"^(.*_)(.+)\0\1(.+)", r"\1\2_\3", joined)
    return joined.replace("\0", "_")
