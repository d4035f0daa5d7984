"""MySQL DDL text read into operations: an ALTER TABLE clause, a column definition, CREATE/DROP INDEX.

One reader for every place a migration hands MySQL its own SQL: `execute "ALTER TABLE ..."`, LHM's `m.ddl` and
`m.add_column(name, definition)`, and the `--alter` clause of gh-ost and pt-online-schema-change. A clause is read
whole or not at all: one spec it does not know raises `UnreadableSql` naming that spec, so nothing is half-planned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shipit.planning.rails.operations import OpKind

_NAME = r"""(?:`(?:[^`]|``)*`|[^\s(),=;`'".]+)"""
_TOKEN = re.compile(rf"""\s*({_NAME}(?:\.{_NAME})*|'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|[(),=;])""")
_INDEX_WORDS = ("INDEX", "KEY")
_DDL = re.compile(r"\s*(ALTER|CREATE|DROP)\s", re.I)


class UnreadableSql(Exception):
    """A spec or statement this reader does not understand; the message names it."""


@dataclass(frozen=True)
class Spec:
    """One operation a clause applies: its kind and the `Operation` fields it sets."""

    kind: OpKind
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ColumnDef:
    type: str
    null: bool | None = None
    default: Any = None
    stored: bool = False


def tokens(sql: str) -> list[str]:
    out, pos, sql = [], 0, sql.strip().rstrip(";")
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None or not m.group(1):
            break
        out.append(m.group(1))
        pos = m.end()
    if sql[pos:].strip():
        raise UnreadableSql(f"unbalanced quotes in `{sql}`")
    return out


def ident(token: str) -> str:
    """An identifier, unquoted; `db`.`t` and db.t keep the last part."""
    last = re.findall(_NAME, token)[-1]
    return last[1:-1].replace("``", "`") if last.startswith("`") else last


def _literal(token: str) -> Any:
    if token[:1] in ("'", '"'):
        return re.sub(r"\\(.)|''|\"\"", lambda m: m.group(1) or m.group(0)[0], token[1:-1])
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if re.fullmatch(r"-?\d*\.\d+", token):
        return float(token)
    return None if token.upper() == "NULL" else token


def split_top(toks: list[str]) -> list[list[str]]:
    """Split at commas outside parentheses: `ADD a INT, ADD INDEX i (a, b)` is two specs."""
    parts: list[list[str]] = [[]]
    depth = 0
    for t in toks:
        depth += t == "("
        depth -= t == ")"
        if t == "," and depth == 0:
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def _group(toks: list[str], i: int) -> tuple[list[str], int]:
    """The tokens inside the parenthesis at `i`, and the index after its closing one."""
    if i >= len(toks) or toks[i] != "(":
        raise UnreadableSql("expected `(`")
    depth, j = 0, i
    while j < len(toks):
        depth += toks[j] == "("
        depth -= toks[j] == ")"
        if depth == 0:
            return toks[i + 1:j], j + 1
        j += 1
    raise UnreadableSql("unbalanced parentheses")


def index_columns(inner: list[str]) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    columns, lengths = [], []
    for part in split_top(inner):
        words = [w for w in part if w.upper() not in ("ASC", "DESC")]
        if len(words) == 4 and words[1] == "(" and words[2].isdigit() and words[3] == ")":
            lengths.append((ident(words[0]), int(words[2])))
        elif len(words) != 1 or words[0] == "(":
            raise UnreadableSql(f"index part `{' '.join(part)}` is an expression")
        columns.append(ident(words[0]))
    return tuple(columns), tuple(lengths)


def column_definition(text: str | list[str]) -> ColumnDef:
    """`VARCHAR(255) NOT NULL DEFAULT ''`: the type, its NULL-ness and default as MySQL reads them."""
    toks = tokens(text) if isinstance(text, str) else text
    if not toks or toks[0] == "(":
        raise UnreadableSql(f"column definition `{text}` has no type")
    i = 1
    if i < len(toks) and toks[i] == "(":
        _, i = _group(toks, i)
    ctype = " ".join(toks[:i]).replace(" ( ", "(").replace(" )", ")").replace(" , ", ",")
    null: bool | None = None
    default: Any = None
    upper = [t.upper() for t in toks]
    while i < len(toks):
        word = upper[i]
        if word == "NOT" and i + 1 < len(toks) and upper[i + 1] == "NULL":
            null, i = False, i + 2
        elif word == "NULL":
            null, i = True, i + 1
        elif word == "DEFAULT" and i + 1 < len(toks):
            if toks[i + 1] == "(":
                inner, i = _group(toks, i + 1)
                default = " ".join(inner)
            else:
                default, i = _literal(toks[i + 1]), i + 2
                if i < len(toks) and toks[i] == "(":  # CURRENT_TIMESTAMP(6)
                    _, i = _group(toks, i)
        else:
            i += 1
    return ColumnDef(ctype, null, default, stored="STORED" in upper and ("AS" in upper or "GENERATED" in upper))


def _after_name(toks: list[str], i: int) -> tuple[str | None, int]:
    """An optional index name before its column list."""
    given = None
    if i < len(toks) and toks[i] != "(" and toks[i].upper() != "USING":
        given, i = ident(toks[i]), i + 1
    if i < len(toks) and toks[i].upper() == "USING":
        i += 2
    return given, i


def _add_index(toks: list[str], i: int, unique: bool, index_type: str | None, symbol: str | None) -> Spec:
    if i < len(toks) and toks[i].upper() in _INDEX_WORDS:
        i += 1
    given, i = _after_name(toks, i)
    inner, _ = _group(toks, i)
    columns, lengths = index_columns(inner)
    # MySQL names an unnamed index after its first column
    return Spec(OpKind.ADD_INDEX, {"columns": columns, "unique": unique, "name": given or symbol or columns[0],
                                   "index_type": index_type, "lengths": lengths})


def _add_foreign_key(toks: list[str], i: int, symbol: str | None, table: str) -> Spec:
    i += 2  # FOREIGN KEY
    _, i = _after_name(toks, i)
    inner, i = _group(toks, i)
    columns, _ = index_columns(inner)
    if i >= len(toks) or toks[i].upper() != "REFERENCES":
        raise UnreadableSql("FOREIGN KEY without REFERENCES")
    to_table = ident(toks[i + 1])
    target, _ = index_columns(_group(toks, i + 2)[0])
    if len(columns) != 1 or len(target) != 1:
        raise UnreadableSql("a foreign key over several columns")
    if symbol is None:
        raise UnreadableSql(f"a foreign key without `CONSTRAINT <name>`: MySQL numbers it {table}_ibfk_N, "
                            f"which shipit cannot predict")
    return Spec(OpKind.ADD_FOREIGN_KEY, {"columns": columns, "column": columns[0], "to_table": to_table,
                                         "primary_key": target[0], "name": symbol})


def _add(toks: list[str], table: str) -> Spec:
    upper = [t.upper() for t in toks]
    i, symbol = 1, None
    if upper[i] == "CONSTRAINT":
        if upper[i + 1] not in ("UNIQUE", "FOREIGN", "CHECK", "PRIMARY"):
            symbol, i = ident(toks[i + 1]), i + 2
        else:
            i += 1
    word = upper[i]
    if word in _INDEX_WORDS:
        return _add_index(toks, i, False, None, symbol)
    if word == "UNIQUE":
        return _add_index(toks, i + 1, True, None, symbol)
    if word in ("FULLTEXT", "SPATIAL"):
        return _add_index(toks, i + 1, False, word.lower(), symbol)
    if word == "FOREIGN":
        return _add_foreign_key(toks, i, symbol, table)
    if word == "CHECK":
        if symbol is None:
            raise UnreadableSql("a CHECK constraint without a name")
        inner, _ = _group(toks, i + 1)
        return Spec(OpKind.ADD_CHECK_CONSTRAINT, {"name": symbol, "sql": " ".join(inner)})
    if word in ("PRIMARY", "PARTITION") or symbol is not None:
        raise UnreadableSql(f"`{' '.join(toks)}`")
    if word == "COLUMN":
        i += 1
    if i >= len(toks) or toks[i] == "(":
        raise UnreadableSql(f"`{' '.join(toks)}` adds several columns at once")
    column, definition = ident(toks[i]), column_definition(toks[i + 1:])
    return Spec(OpKind.ADD_COLUMN, {"columns": (column,), "column": column, "column_type": definition.type,
                                    "null": definition.null, "default": definition.default,
                                    "stored": definition.stored})


def _drop(toks: list[str]) -> Spec:
    upper = [t.upper() for t in toks]
    word = upper[1]
    if word in _INDEX_WORDS:
        return Spec(OpKind.REMOVE_INDEX, {"name": ident(toks[2])})
    if word == "FOREIGN":
        return Spec(OpKind.REMOVE_FOREIGN_KEY, {"name": ident(toks[3])})
    if word == "CHECK":
        return Spec(OpKind.REMOVE_CHECK_CONSTRAINT, {"name": ident(toks[2])})
    if word in ("PRIMARY", "CONSTRAINT", "PARTITION", "DEFAULT"):
        raise UnreadableSql(f"`{' '.join(toks)}`")
    column = ident(toks[2] if word == "COLUMN" else toks[1])
    return Spec(OpKind.REMOVE_COLUMN, {"columns": (column,), "column": column})


def _modify(toks: list[str], old: str, new: str, rest: list[str]) -> Spec:
    if old != new:
        return Spec(OpKind.RENAME_COLUMN, {"columns": (old,), "column": old, "new_name": new})
    definition = column_definition(rest)
    return Spec(OpKind.CHANGE_COLUMN, {"columns": (old,), "column": old, "column_type": definition.type,
                                       "null": definition.null, "default": definition.default})


def _spec(toks: list[str], table: str) -> Spec | str | None:
    """A Spec, an ALGORITHM value (str), or None for LOCK=; anything else raises."""
    upper = [t.upper() for t in toks]
    first = upper[0]
    skip = 1 if len(toks) > 1 and upper[1] == "COLUMN" else 0
    if first in ("ALGORITHM", "LOCK"):
        value = toks[-1].lower()
        return value if first == "ALGORITHM" else None
    if first == "ADD" and len(toks) > 2:
        return _add(toks, table)
    if first == "DROP" and len(toks) > 1:
        return _drop(toks)
    if first == "MODIFY" and len(toks) > 2 + skip:
        column = ident(toks[1 + skip])
        return _modify(toks, column, column, toks[2 + skip:])
    if first == "CHANGE" and len(toks) > 3 + skip:
        return _modify(toks, ident(toks[1 + skip]), ident(toks[2 + skip]), toks[3 + skip:])
    if first == "RENAME" and len(toks) == 5 and upper[3] == "TO":
        old, new = ident(toks[2]), ident(toks[4])
        if upper[1] == "COLUMN":
            return Spec(OpKind.RENAME_COLUMN, {"columns": (old,), "column": old, "new_name": new})
        if upper[1] in _INDEX_WORDS:
            return Spec(OpKind.RENAME_INDEX, {"name": old, "new_name": new})
    if first == "ALTER" and len(toks) > 3 + skip:
        column, action = ident(toks[1 + skip]), upper[2 + skip:]
        if action[:2] == ["SET", "DEFAULT"] and len(action) == 3:
            return Spec(OpKind.CHANGE_COLUMN_DEFAULT, {"columns": (column,), "column": column,
                                                       "default": _literal(toks[-1])})
        if action == ["DROP", "DEFAULT"]:
            return Spec(OpKind.CHANGE_COLUMN_DEFAULT, {"columns": (column,), "column": column,
                                                       "clears_default": True})
    raise UnreadableSql(f"`{' '.join(toks)}`")


def alter_clause(table: str, clause: str) -> tuple[Spec, ...]:
    """The specs of `ADD INDEX i (a), DROP COLUMN b, ALGORITHM=INPLACE`; ALGORITHM applies to every spec."""
    toks = tokens(clause)
    if len(toks) > 2 and toks[0].upper() == "ALTER" and toks[1].upper() == "TABLE":
        toks = toks[3:]  # gh-ost and pt-osc accept the clause with its ALTER TABLE <t> prefix too
    specs: list[Spec] = []
    algorithm = None
    for part in split_top(toks):
        spec = _spec(part, table)
        if isinstance(spec, str):
            algorithm = spec
        elif spec is not None:
            specs.append(spec)
    if not specs:
        raise UnreadableSql(f"`{clause.strip()}` changes no column, index or key")
    if algorithm:
        specs = [Spec(s.kind, {**s.fields, "algorithm": algorithm}) for s in specs]
    return tuple(specs)


def statement(sql: str) -> tuple[str, tuple[Spec, ...]]:
    """`ALTER TABLE t <clause>`, `CREATE [UNIQUE] INDEX n ON t (cols)` or `DROP INDEX n ON t`: (table, specs)."""
    if not _DDL.match(sql):
        raise UnreadableSql(f"`{sql.strip()}`")
    toks = tokens(sql)
    upper = [t.upper() for t in toks]
    if upper[:2] == ["ALTER", "TABLE"] and len(toks) > 3:
        return ident(toks[2]), alter_clause(ident(toks[2]), " ".join(toks[3:]))
    if upper[:1] == ["CREATE"] and "INDEX" in upper and "ON" in upper:
        at = upper.index("INDEX")
        kinds = upper[1:at]
        if kinds not in ([], ["UNIQUE"], ["FULLTEXT"], ["SPATIAL"]):
            raise UnreadableSql(f"`{sql.strip()}`")
        on = upper.index("ON")
        table = ident(toks[on + 1])
        inner, after = _group(toks, on + 2)
        columns, lengths = index_columns(inner)
        specs = (Spec(OpKind.ADD_INDEX, {
            "columns": columns, "unique": kinds == ["UNIQUE"], "name": ident(toks[at + 1]),
            "index_type": kinds[0].lower() if kinds and kinds != ["UNIQUE"] else None, "lengths": lengths}),)
        rest = split_top(toks[after:]) if after < len(toks) else []
        algorithm = next((p[-1].lower() for p in rest if p[0].upper() == "ALGORITHM"), None)
        if algorithm:
            specs = (Spec(OpKind.ADD_INDEX, {**specs[0].fields, "algorithm": algorithm}),)
        return table, specs
    if upper[:2] == ["DROP", "INDEX"] and len(toks) >= 5 and upper[3] == "ON":
        return ident(toks[4]), (Spec(OpKind.REMOVE_INDEX, {"name": ident(toks[2])}),)
    raise UnreadableSql(f"`{sql.strip()}`")
