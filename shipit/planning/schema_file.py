"""The schema a commit declares: `db/schema.rb` or `db/structure.sql` parsed into frozen dataclasses.

The committed schema file is what the code at that commit was written against, so it is the reference for drift
checks and for rules that need a column's type, nullability or default. API:

    schema = load_schema(repo, sha)                # SchemaModel | None (the commit has no schema file)
    schema = parse_schema_rb(text) / parse_structure_sql(text)
    schema.table("orders").column("status").default
    schema.table("orders").index_named("index_orders_on_customer_id")

Names are lowercased (MySQL compares identifiers case-insensitively on the platforms Rails runs on). Parsing is pure
and never evaluates Ruby: only the literal forms the Rails schema dumper writes are read; anything else is skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

from shipit.core.errors import BadInput

SCHEMA_RB = "db/schema.rb"
STRUCTURE_SQL = "db/structure.sql"
MIGRATE_DIR = "db/migrate"
_MIGRATION_FILE = re.compile(r"^(\d+)_\w+\.rb$")


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: str  # schema.rb type (`string`, `bigint`) or the SQL type (`varchar(255)`)
    null: bool = True
    default: str | None = None  # as text; a function default (`CURRENT_TIMESTAMP`) is its expression


@dataclasses.dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    lengths: tuple[tuple[str, int], ...] = ()  # (column, prefix length) for prefix indexes


@dataclasses.dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    to_table: str
    to_columns: tuple[str, ...] = ("id",)


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...] = ()
    indexes: tuple[Index, ...] = ()  # the primary key is not listed
    foreign_keys: tuple[ForeignKey, ...] = ()
    primary_key: tuple[str, ...] = ("id",)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name.lower()), None)

    def index_named(self, name: str) -> Index | None:
        return next((i for i in self.indexes if i.name == name.lower()), None)


@dataclasses.dataclass(frozen=True)
class SchemaModel:
    source: str  # the file it came from
    version: str | None  # schema.rb's `define(version:)`, structure.sql's highest schema_migrations row
    tables: tuple[Table, ...]
    migrations: tuple[str, ...] = ()  # versions of db/migrate files at the commit (load_schema fills it)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name.lower()), None)


def rails_fk_name(table: str, column: str) -> str:
    """The name Rails gives a foreign key without `name:` (and omits from schema.rb): fk_rails_<sha256[:10]>."""
    return "fk_rails_" + hashlib.sha256(f"{table}_{column}_fk".encode()).hexdigest()[:10]


def _singular(word: str) -> str:
    """Enough of ActiveSupport's singularize for table names: `categories` -> `category`, `orders` -> `order`."""
    if word.endswith("ies"):
        return word[:-3] + "y"
    if re.search(r"(ss|sh|ch|x)es$", word):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


# --- Ruby literals as the schema dumper writes them ---------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<lambda>->\s*\{(?P<body>[^{}]*)\})
    | (?P<dq>"(?:[^"\\]|\\.)*")
    | (?P<sq>'(?:[^'\\]|\\.)*')
    | (?P<key>[A-Za-z_]\w*[?!]?):(?!:)
    | (?P<sym>:[A-Za-z_]\w*[?!]?)
    | (?P<num>-?\d[\d_]*(?:\.\d+)?)
    | (?P<word>[A-Za-z_][\w:.]*)
    | (?P<punct>=>|[\[\]{},])
    )""", re.VERBOSE)


class _Ruby:
    """Positional and keyword arguments of one dumper line: `"orders", ["a"], name: "x", unique: true`."""

    def __init__(self, text: str):
        self.tokens = self._lex(text)
        self.pos = 0

    @staticmethod
    def _lex(text: str) -> list[tuple[str, str]]:
        out, pos = [], 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                break  # a form the dumper does not write (a comment, a block): stop reading this line
            pos = m.end()
            kind = "lambda" if m.group("lambda") else m.lastgroup
            out.append((kind, m.group("body").strip() if kind == "lambda" else m.group(kind)))
        return out

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _value(self) -> Any:
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if kind == "dq":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape") if "\\" in text else text[1:-1]
        if kind == "sq":
            return text[1:-1].replace("\\'", "'")
        if kind == "sym":
            return text[1:]
        if kind == "num":
            clean = text.replace("_", "")
            return float(clean) if "." in clean else int(clean)
        if kind == "lambda":
            body = text.strip()
            return body[1:-1] if len(body) >= 2 and body[0] == body[-1] == '"' else body
        if kind == "word":
            return {"true": True, "false": False, "nil": None}.get(text, text)
        if text == "[":
            items = []
            while (p := self._peek()) and p[1] != "]":
                items.append(self._value())
                if (p := self._peek()) and p[1] == ",":
                    self.pos += 1
            self.pos += 1
            return items
        if text == "{":
            return self._hash("}")
        raise ValueError(text)

    def _hash(self, end: str | None) -> dict:
        out: dict = {}
        while (p := self._peek()) and p[1] != end:
            if p[0] == "key":
                self.pos += 1
                key = p[1]
            else:
                key = self._value()
                if (q := self._peek()) and q[1] == "=>":
                    self.pos += 1
            out[str(key)] = self._value()
            if (p := self._peek()) and p[1] == ",":
                self.pos += 1
        if end:
            self.pos += 1
        return out

    def args(self) -> tuple[list, dict]:
        positional: list = []
        while (p := self._peek()) and p[0] != "key":
            try:
                positional.append(self._value())
            except (ValueError, IndexError):
                return positional, {}
            if (p := self._peek()) and p[1] == ",":
                self.pos += 1
        try:
            return positional, self._hash(None)
        except (ValueError, IndexError):
            return positional, {}


def _names(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(str(v).lower() for v in items)


def _lengths(value: Any, columns: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    if isinstance(value, dict):
        return tuple(sorted((str(k).lower(), int(v)) for k, v in value.items()))
    if isinstance(value, int):
        return tuple((c, value) for c in columns)
    return ()


def _index(columns: Any, opts: dict, table: str) -> Index:
    cols = _names(columns)
    name = str(opts.get("name") or f"index_{table}_on_{'_and_'.join(cols)}").lower()
    return Index(name, cols, bool(opts.get("unique")), _lengths(opts.get("length"), cols))


def _foreign_key(table: str, to_table: str, opts: dict) -> ForeignKey:
    column = str(opts.get("column") or f"{_singular(to_table)}_id").lower()
    primary = opts.get("primary_key") or "id"
    name = str(opts.get("name") or rails_fk_name(table, column)).lower()
    return ForeignKey(name, _names(column), to_table.lower(), _names(primary))


def _default_text(value: Any) -> str | None:
    """A default as the dumper wrote it: `false`, not Python's `False`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


_RB_DEFINE = re.compile(r"Schema(?:\[[\d.]+\])?\.define\(\s*version:\s*([\d_]+)")
_RB_LINE = re.compile(r"^\s*(create_table|t\.(\w+)|add_index|add_foreign_key|end)\b\s*(.*?)\s*(?:do\s*\|\w+\|)?\s*$")


def parse_schema_rb(text: str, *, source: str = SCHEMA_RB) -> SchemaModel:
    """`db/schema.rb` as the Rails schema dumper writes it (create_table blocks, t.index, add_index, add_foreign_key)."""
    m = _RB_DEFINE.search(text)
    version = m.group(1).replace("_", "") if m else None
    tables: dict[str, dict] = {}
    current: dict | None = None
    fks: list[tuple[str, ForeignKey]] = []
    for raw in text.splitlines():
        line = _RB_LINE.match(raw)
        if not line:
            continue
        head, method, rest = line.group(1), line.group(2), line.group(3)
        if head == "end":
            current = None
            continue
        args, opts = _Ruby(rest).args()
        if head == "create_table" and args:
            name = str(args[0]).lower()
            pk = opts.get("primary_key", "id")
            current = {"name": name, "columns": [], "indexes": [],
                       "pk": () if opts.get("id") is False else _names(pk)}
            if current["pk"] and opts.get("id") is not False and isinstance(pk, str):
                id_type = opts.get("id")
                current["columns"].append(Column(pk.lower(), str(id_type) if isinstance(id_type, str) else "bigint", False))
            tables[name] = current
        elif head == "add_index" and len(args) >= 2 and str(args[0]).lower() in tables:
            table = str(args[0]).lower()
            tables[table]["indexes"].append(_index(args[1], opts, table))
        elif head == "add_foreign_key" and len(args) >= 2:
            table = str(args[0]).lower()
            fks.append((table, _foreign_key(table, str(args[1]), opts)))
        elif method and current is not None:
            if method == "index" and args:
                current["indexes"].append(_index(args[0], opts, current["name"]))
            elif method not in ("timestamps", "references", "belongs_to") and args:
                current["columns"].append(Column(str(args[0]).lower(), method, opts.get("null", True) is not False,
                                                 _default_text(opts.get("default"))))
    built = tuple(
        Table(t["name"], tuple(t["columns"]), tuple(t["indexes"]),
              tuple(fk for table, fk in fks if table == t["name"]), t["pk"])
        for t in tables.values()
    )
    return SchemaModel(source, version, built)


# --- structure.sql -------------------------------------------------------------------------------------------------

_SQL_CREATE = re.compile(r"CREATE TABLE\s+(?:IF NOT EXISTS\s+)?`?(\w+)`?\s*\((.*?)\n\)[^;]*;", re.DOTALL | re.IGNORECASE)
_SQL_COLUMN = re.compile(r"^`(\w+)`\s+(\S+(?:\s+unsigned)?)(.*)$", re.IGNORECASE)
_SQL_DEFAULT = re.compile(r"\bDEFAULT\s+('(?:[^'\\]|\\.|'')*'|\S+)", re.IGNORECASE)
_SQL_KEY = re.compile(r"^(UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?(?:KEY|INDEX)\s+`(\w+)`\s*\((.*)\)", re.IGNORECASE)
_SQL_PK = re.compile(r"^PRIMARY KEY\s*\((.*)\)", re.IGNORECASE)
_SQL_FK = re.compile(r"^CONSTRAINT\s+`(\w+)`\s+FOREIGN KEY\s*\((.*?)\)\s+REFERENCES\s+`(\w+)`\s*\((.*?)\)", re.IGNORECASE)
_SQL_KEY_PART = re.compile(r"`(\w+)`(?:\((\d+)\))?")
_SQL_VERSIONS = re.compile(r"INSERT INTO\s+`?schema_migrations`?\s*\(`?version`?\)\s*VALUES\s*(.*?);", re.DOTALL | re.IGNORECASE)


def _key_parts(text: str) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    parts = _SQL_KEY_PART.findall(text)
    return tuple(c.lower() for c, _ in parts), tuple((c.lower(), int(n)) for c, n in parts if n)


def _sql_default(rest: str) -> str | None:
    m = _SQL_DEFAULT.search(rest)
    if not m or m.group(1).upper() == "NULL":
        return None
    value = m.group(1)
    return value[1:-1].replace("''", "'") if value.startswith("'") else value


def parse_structure_sql(text: str, *, source: str = STRUCTURE_SQL) -> SchemaModel:
    """`db/structure.sql` as `mysqldump --no-data` writes it (what Rails' structure dump runs), plus its versions."""
    tables = []
    for name, body in _SQL_CREATE.findall(text):
        columns, indexes, fks, pk = [], [], [], ()
        for raw in body.splitlines():
            line = raw.strip().rstrip(",")
            if m := _SQL_COLUMN.match(line):
                rest = m.group(3)
                columns.append(Column(m.group(1).lower(), m.group(2).lower(), "NOT NULL" not in rest.upper(),
                                      _sql_default(rest)))
            elif m := _SQL_PK.match(line):
                pk = _key_parts(m.group(1))[0]
            elif m := _SQL_KEY.match(line):
                cols, lengths = _key_parts(m.group(3))
                indexes.append(Index(m.group(2).lower(), cols, bool(m.group(1)) and "UNIQUE" in m.group(1).upper(), lengths))
            elif m := _SQL_FK.match(line):
                fks.append(ForeignKey(m.group(1).lower(), _key_parts(m.group(2))[0], m.group(3).lower(),
                                      _key_parts(m.group(4))[0]))
        tables.append(Table(name.lower(), tuple(columns), tuple(indexes), tuple(fks), pk))
    versions = [v for block in _SQL_VERSIONS.findall(text) for v in re.findall(r"'(\d+)'", block)]
    return SchemaModel(source, max(versions) if versions else None, tuple(tables))


# --- at a commit ---------------------------------------------------------------------------------------------------

def migration_versions(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Versions of the db/migrate file names given (`20240201000001_add_index.rb`), sorted."""
    return tuple(sorted(m.group(1) for n in names if (m := _MIGRATION_FILE.match(n))))


def schema_paths(database: str = "primary") -> tuple[str, str]:
    """Where Rails dumps a database's schema: db/structure.sql and db/schema.rb for the primary, db/<name>_... else."""
    if database == "primary":
        return STRUCTURE_SQL, SCHEMA_RB
    return f"db/{database}_structure.sql", f"db/{database}_schema.rb"


def load_schema(repo: Any, sha: str, *, database: str = "primary") -> SchemaModel | None:
    """The schema file of `database` at commit `sha` of a `shipit.planning.gitrepo.GitRepo`, with the commit's
    db/migrate versions (the primary's); None when the commit has neither file. structure.sql wins when both exist
    (Rails loads the configured one)."""
    import git

    try:
        listing = repo.names(sha, "db")
        versions = migration_versions(list(repo.names(sha, MIGRATE_DIR))) if database == "primary" else ()
    except git.GitCommandError as e:
        raise BadInput(f"cannot read db/ at {sha[:12]} in {repo.path}: {(e.stderr or '').strip() or e}") from None
    structure_sql, schema_rb = schema_paths(database)
    for path, parse in ((structure_sql, parse_structure_sql), (schema_rb, parse_schema_rb)):
        if path.rsplit("/", 1)[-1] in listing:
            model = parse(repo.read(sha, path).decode("utf-8", errors="replace"), source=path)
            return dataclasses.replace(model, migrations=versions)
    return None
