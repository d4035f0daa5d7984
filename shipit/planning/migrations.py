"""Read Rails migration files into typed schema operations, without running Ruby.

The parse is syntactic (tree-sitter-ruby), so shipit can plan a release before anything touches a server. Whatever
the parser cannot pin down (computed arguments, model code, unknown methods) becomes an `unknown` operation with its
source line: a plan that silently drops a statement would be worse than no plan. Name prediction follows Rails'
`index_name` and `foreign_key_name`, so later phases can look for the exact objects a migration should create.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any


class OpKind(str, enum.Enum):
    CREATE_TABLE = "create_table"
    ADD_INDEX = "add_index"
    REMOVE_INDEX = "remove_index"
    ADD_FOREIGN_KEY = "add_foreign_key"
    REMOVE_FOREIGN_KEY = "remove_foreign_key"
    ADD_REFERENCE = "add_reference"
    ADD_COLUMN = "add_column"
    REMOVE_COLUMN = "remove_column"
    RENAME_COLUMN = "rename_column"
    CHANGE_COLUMN = "change_column"
    CHANGE_COLUMN_NULL = "change_column_null"
    CHANGE_COLUMN_DEFAULT = "change_column_default"
    RENAME_TABLE = "rename_table"
    DROP_TABLE = "drop_table"
    EXECUTE = "execute"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Operation:
    """One schema change a migration will apply when migrating up.

    `name` is the index name for add/remove_index and add_reference (predicted when not given), the constraint name
    for foreign keys. `default` is a literal, or the Ruby source of an expression default. `idempotent` records
    `if_not_exists:`/`if_exists:`, which makes a rerun after a partial failure safe.
    """

    kind: OpKind
    table: str | None
    columns: tuple[str, ...] = ()
    unique: bool | None = None
    name: str | None = None
    algorithm: str | None = None
    to_table: str | None = None
    column: str | None = None
    primary_key: str | None = None
    null: bool | None = None
    default: Any = None
    new_name: str | None = None
    sql: str | None = None
    column_type: str | None = None
    index: bool | None = None
    foreign_key: bool | None = None
    idempotent: bool = False
    line: int = 0
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "table": self.table, "columns": list(self.columns)}
        for key in ("unique", "name", "algorithm", "to_table", "column", "primary_key", "null", "default",
                    "new_name", "sql", "column_type", "index", "foreign_key"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.idempotent:
            out["idempotent"] = True
        out["line"] = self.line
        if self.kind is OpKind.UNKNOWN:
            out["source"] = self.source
        return out


@dataclass(frozen=True)
class ParsedMigration:
    """A migration file as the parser understood it.

    `direction` is the method whose body will run on `db:migrate` ("change", "up", or "none"); a `down` body never
    counts. `warnings` are things about the file itself (syntax errors, conditional statements, a class name Rails
    will not find).
    """

    version: str
    name: str
    path: str
    superclass_version: str | None
    operations: tuple[Operation, ...]
    direction: str = "change"
    has_down: bool = False
    disable_ddl_transaction: bool = False
    warnings: tuple[str, ...] = ()
    error: str | None = None  # the file cannot be loaded as a migration: Rails would fail on it


# ---------------------------------------------------------------------------------------------------------------
# Rails naming


def index_name(table: str, columns: tuple[str, ...] | list[str] | str) -> str:
    cols = [columns] if isinstance(columns, str) else list(columns)
    return f"index_{table}_on_{'_and_'.join(cols)}"


def foreign_key_name(table: str, column: str) -> str:
    return "fk_rails_" + hashlib.sha256(f"{table}_{column}_fk".encode()).hexdigest()[:10]


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


def camelize(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def join_table_name(table_1: str, table_2: str) -> str:
    """`create_join_table` naming: sorted, with a shared prefix written once (`music_artists` + `music_records`)."""
    joined = "\0".join(sorted((table_1, table_2)))
    joined = re.sub(r"^(.*_)(.+)\0\1(.+)", r"\1\2_\3", joined)
    return joined.replace("\0", "_")


# ---------------------------------------------------------------------------------------------------------------
# tree-sitter plumbing

_PARSER = None


def _parser():
    global _PARSER
    if _PARSER is None:
        import tree_sitter_ruby
        from tree_sitter import Language, Parser

        _PARSER = Parser(Language(tree_sitter_ruby.language()))
    return _PARSER


@dataclass(frozen=True)
class Expr:
    """A Ruby expression the parser does not evaluate (a variable, a method call, interpolation)."""

    text: str


class _Source:
    """Per-file state: heredoc bodies are siblings of their call in the tree, so pair them up front."""

    def __init__(self, root):
        self.heredocs: dict[int, str] = {}
        begins, bodies = [], []
        stack = [root]
        while stack:
            node = stack.pop()
            if node.type == "heredoc_beginning":
                begins.append(node)
            elif node.type == "heredoc_body":
                bodies.append(node)
            stack.extend(reversed(node.children))
        begins.sort(key=lambda n: n.start_byte)
        bodies.sort(key=lambda n: n.start_byte)
        for begin, body in zip(begins, bodies):
            text = body.text.decode()
            end = body.children[-1] if body.children and body.children[-1].type == "heredoc_end" else None
            if end is not None:
                text = text[: end.start_byte - body.start_byte]
            text = re.sub(r"\n[ \t]*$", "", text.lstrip("\n"))  # the closing marker's indentation
            if begin.text.decode().startswith("<<~"):
                text = textwrap.dedent(text)
            self.heredocs[begin.start_byte] = text.strip("\n")


def _text(node) -> str:
    return node.text.decode()


def _value(node, src: _Source) -> Any:
    """A Ruby literal as Python: str for symbols and strings, list, dict, bool, None, numbers; else `Expr`."""
    t = node.type
    if t == "simple_symbol":
        return _text(node)[1:]
    if t in ("string", "delimited_symbol", "bare_string", "bare_symbol"):
        if any(c.type == "interpolation" for c in node.children):
            return Expr(_text(node))
        contents = [c for c in node.children if c.type in ("string_content", "escape_sequence")]
        return "".join(_unescape(c) for c in contents)
    if t in ("array", "symbol_array", "string_array"):
        items = [_value(c, src) for c in node.named_children]
        return Expr(_text(node)) if any(isinstance(i, Expr) for i in items) else items
    if t == "hash":
        out = {}
        for pair in node.named_children:
            if pair.type != "pair":
                return Expr(_text(node))
            key = _key(pair.child_by_field_name("key"), src)
            if key is None:
                return Expr(_text(node))
            out[key] = _value(pair.child_by_field_name("value"), src)
        return out
    if t == "true":
        return True
    if t == "false":
        return False
    if t == "nil":
        return None
    if t == "integer":
        try:
            return int(_text(node).replace("_", ""), 0)
        except ValueError:
            return Expr(_text(node))
    if t == "float":
        return float(_text(node).replace("_", ""))
    if t == "heredoc_beginning":
        return src.heredocs.get(node.start_byte, Expr(_text(node)))
    if t == "parenthesized_statements" and node.named_child_count == 1:
        return _value(node.named_children[0], src)
    if t == "call":
        # `<<~SQL.squish`, "...".strip: string post-processing that does not change what the SQL means.
        method = node.child_by_field_name("method")
        receiver = node.child_by_field_name("receiver")
        if receiver is not None and method is not None and _text(method) in ("squish", "strip", "strip_heredoc"):
            inner = _value(receiver, src)
            if isinstance(inner, str):
                return " ".join(inner.split()) if _text(method) == "squish" else inner.strip()
    return Expr(_text(node))


def _unescape(node) -> str:
    raw = _text(node)
    if node.type == "escape_sequence":
        return {"\\n": "\n", "\\t": "\t", '\\"': '"', "\\'": "'", "\\\\": "\\"}.get(raw, raw)
    return raw


def _key(node, src: _Source) -> str | None:
    if node.type == "hash_key_symbol":
        return _text(node)
    value = _value(node, src)
    return value if isinstance(value, str) else None


@dataclass
class _Args:
    positional: list[Any]
    options: dict[str, Any]
    unresolved: bool  # a splat or computed option we cannot see through


def _args(call, src: _Source) -> _Args:
    node = call.child_by_field_name("arguments")
    positional: list[Any] = []
    options: dict[str, Any] = {}
    unresolved = False
    if node is None:
        return _Args(positional, options, unresolved)
    for child in node.named_children:
        if child.type == "pair":
            key = _key(child.child_by_field_name("key"), src)
            if key is None:
                unresolved = True
                continue
            options[key] = _value(child.child_by_field_name("value"), src)
        elif child.type in ("hash_splat_argument", "splat_argument", "block_argument"):
            unresolved = True
        elif child.type == "comment":
            continue
        else:
            positional.append(_value(child, src))
    return _Args(positional, options, unresolved)


# ---------------------------------------------------------------------------------------------------------------
# The walk

_COLUMN_TYPES = frozenset(
    {
        "string", "text", "integer", "bigint", "float", "decimal", "numeric", "datetime", "time", "date", "binary",
        "blob", "boolean", "json", "timestamp", "virtual", "tinytext", "mediumtext", "longtext", "tinyblob",
        "mediumblob", "longblob", "unsigned_integer", "unsigned_bigint", "unsigned_float", "unsigned_decimal",
        "uuid", "enum", "set",
    }
)
# Blocks whose body runs as-is when migrating up.
_TRANSPARENT_BLOCKS = frozenset({"safety_assured", "say_with_time", "suppress_messages", "up_only", "with_lock_retries"})
# Statements with no effect on the schema or data.
_NO_EFFECT = frozenset({"say", "disable_ddl_transaction!"})


class UnparseableArguments(Exception):
    """An operation's arguments are not literals: the caller records it as unknown."""


@dataclass
class _Walk:
    src: _Source
    rails_version: tuple[int, int] | None
    ops: list[Operation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    # --- statements -------------------------------------------------------------------------------------------

    def body(self, node, dir_var: str | None = None) -> None:
        if node is None:
            return
        for stmt in node.named_children:
            self.statement(stmt, dir_var)

    def statement(self, node, dir_var: str | None) -> None:
        t = node.type
        if t in ("comment", "heredoc_body", "empty_statement"):
            return
        if t in ("if_modifier", "unless_modifier", "if", "unless", "elsif"):
            cond = node.child_by_field_name("condition")
            self.warnings.append(
                f"line {node.start_point[0] + 1}: statements run only {'unless' if 'unless' in t else 'if'} "
                f"`{_text(cond) if cond is not None else '?'}`; the plan assumes every branch runs"
            )
            if t.endswith("_modifier"):
                self.statement(node.child_by_field_name("body"), dir_var)
                return
            self.body(node.child_by_field_name("consequence"), dir_var)
            alternative = node.child_by_field_name("alternative")
            if alternative is not None:
                self.statement(alternative, dir_var)
            return
        if t in ("then", "else", "begin", "parenthesized_statements", "body_statement", "block_body"):
            self.body(node, dir_var)
            return
        if t == "call" or t == "identifier":
            self.call(node, dir_var)
            return
        self.unknown(node)

    def call(self, node, dir_var: str | None) -> None:
        if node.type == "identifier":
            name, receiver, block = _text(node), None, None
        else:
            method = node.child_by_field_name("method")
            name = _text(method) if method is not None else ""
            receiver = node.child_by_field_name("receiver")
            block = node.child_by_field_name("block")
        if receiver is not None:
            rtext = _text(receiver)
            if dir_var is not None and rtext == dir_var and name in ("up", "down"):
                if name == "up" and block is not None:
                    self.body(block.child_by_field_name("body"))
                return
            if name == "reset_column_information":
                return
            self.unknown(node)
            return
        if name in _NO_EFFECT:
            return
        if name in _TRANSPARENT_BLOCKS and block is not None:
            self.body(block.child_by_field_name("body"), dir_var)
            return
        if name == "reversible" and block is not None:
            self.body(block.child_by_field_name("body"), _block_param(block))
            return
        handler = _HANDLERS.get(name)
        if handler is None:
            self.unknown(node)
            return
        line, source = node.start_point[0] + 1, _statement_source(node)
        try:
            handler(self, _args(node, self.src), block, line, source)
        except UnparseableArguments:
            self.unknown(node)

    def unknown(self, node) -> None:
        self.ops.append(
            Operation(OpKind.UNKNOWN, None, line=node.start_point[0] + 1, source=_statement_source(node))
        )

    def add(self, kind: OpKind, table: str | None, line: int, source: str, **fields) -> None:
        self.ops.append(Operation(kind, table, line=line, source=source, **fields))

    # --- table blocks -----------------------------------------------------------------------------------------

    def table_block(self, block, table: str, creating: bool) -> list[str]:
        """Walk `create_table`/`change_table` bodies; returns the column names a create_table defines."""
        columns: list[str] = []
        if block is None:
            return columns
        var = _block_param(block)
        for stmt in _flatten(block.child_by_field_name("body")):
            if stmt.type in ("comment", "heredoc_body"):
                continue
            receiver = stmt.child_by_field_name("receiver") if stmt.type == "call" else None
            if receiver is None or var is None or _text(receiver) != var:
                self.statement(stmt, None)
                continue
            method = _text(stmt.child_by_field_name("method"))
            line, source = stmt.start_point[0] + 1, _statement_source(stmt)
            try:
                args = _args(stmt, self.src)
                if args.unresolved:
                    raise UnparseableArguments
                columns += self.table_method(method, args, table, creating, line, source)
            except UnparseableArguments:
                self.unknown(stmt)
        return columns

    def table_method(self, method, args: _Args, table, creating, line, source) -> list[str]:
        opts = args.options
        if method in _COLUMN_TYPES or method == "column":
            if method == "column":
                names, ctype = [_name(args.positional[0])], _name(args.positional[1]) if len(args.positional) > 1 else None
            else:
                names, ctype = [_name(p) for p in args.positional], method
            if creating:
                return names
            for n in names:
                self.add_column(table, n, ctype, opts, line, source)
            return []
        if method == "timestamps":
            if creating:
                return ["created_at", "updated_at"]
            for n in ("created_at", "updated_at"):
                self.add_column(table, n, "datetime", {"null": False, **opts}, line, source)
            return []
        if method in ("references", "belongs_to"):
            cols: list[str] = []
            for ref in args.positional:
                cols += self.reference(table, _name(ref), opts, line, source)
            return cols
        if method == "index":
            self.index(table, args.positional[0] if args.positional else None, opts, line, source)
            return []
        if method == "foreign_key":
            self.foreign_key(table, args, line, source)
            return []
        if creating:
            raise UnparseableArguments
        if method == "remove":
            cols = [_name(p) for p in args.positional if not isinstance(p, dict)]
            self.add(OpKind.REMOVE_COLUMN, table, line, source, columns=tuple(cols), column=cols[0] if len(cols) == 1 else None)
        elif method in ("remove_references", "remove_belongs_to"):
            for ref in args.positional:
                self.remove_reference(table, _name(ref), opts, line, source)
        elif method == "remove_timestamps":
            self.add(OpKind.REMOVE_COLUMN, table, line, source, columns=("created_at", "updated_at"))
        elif method == "rename":
            old, new = (_name(p) for p in args.positional[:2])
            self.add(OpKind.RENAME_COLUMN, table, line, source, columns=(old,), column=old, new_name=new)
        elif method == "change":
            self.change_column(table, _name(args.positional[0]), _name(args.positional[1]), opts, line, source)
        elif method == "change_null":
            self.change_null(table, args.positional, line, source)
        elif method == "change_default":
            self.change_default(table, args.positional, opts, line, source)
        elif method == "remove_index":
            self.remove_index(table, args.positional[0] if args.positional else None, opts, line, source)
        elif method == "remove_foreign_key":
            self.remove_foreign_key(table, args, line, source)
        else:
            raise UnparseableArguments
        return []

    # --- operation builders -----------------------------------------------------------------------------------

    def add_column(self, table, column, ctype, opts, line, source) -> None:
        self.add(
            OpKind.ADD_COLUMN, table, line, source, columns=(column,), column=column, column_type=ctype,
            null=_bool_opt(opts, "null"), default=_default(opts.get("default")),
            idempotent=bool(opts.get("if_not_exists")),
        )

    def reference(self, table, ref, opts, line, source) -> list[str]:
        polymorphic = bool(opts.get("polymorphic"))
        column = f"{ref}_id"
        columns = (f"{ref}_type", column) if polymorphic else (column,)
        index_opt = opts.get("index", True)
        indexed = index_opt is not False and index_opt is not None
        unique = isinstance(index_opt, dict) and bool(index_opt.get("unique"))
        idx_name = index_opt.get("name") if isinstance(index_opt, dict) and isinstance(index_opt.get("name"), str) else None
        fk = opts.get("foreign_key", False)
        to_table = None
        primary_key = None
        if fk:
            if isinstance(fk, dict):
                to_table = _name(fk["to_table"]) if "to_table" in fk else pluralize(ref)
                primary_key = _name(fk["primary_key"]) if "primary_key" in fk else None
            elif fk is True:
                to_table = pluralize(ref)
            else:
                raise UnparseableArguments
            if polymorphic:
                self.warnings.append(f"line {line}: Rails refuses a foreign key on a polymorphic reference")
        self.add(
            OpKind.ADD_REFERENCE, table, line, source, columns=columns, column=column,
            name=(idx_name or index_name(table, columns)) if indexed else None, unique=unique or None,
            index=indexed, foreign_key=bool(fk), to_table=to_table, primary_key=primary_key or ("id" if fk else None),
            null=_bool_opt(opts, "null"), column_type=_name(opts["type"]) if "type" in opts else None,
            idempotent=bool(opts.get("if_not_exists")),
        )
        return list(columns)

    def remove_reference(self, table, ref, opts, line, source) -> None:
        columns = (f"{ref}_type", f"{ref}_id") if opts.get("polymorphic") else (f"{ref}_id",)
        if opts.get("foreign_key"):
            fk = opts["foreign_key"]
            to_table = _name(fk["to_table"]) if isinstance(fk, dict) and "to_table" in fk else pluralize(ref)
            self.add(OpKind.REMOVE_FOREIGN_KEY, table, line, source, columns=(f"{ref}_id",), column=f"{ref}_id",
                     to_table=to_table, name=foreign_key_name(table, f"{ref}_id"))
        self.add(OpKind.REMOVE_COLUMN, table, line, source, columns=columns, column=f"{ref}_id")

    def index(self, table, cols, opts, line, source) -> None:
        columns = _columns(cols)
        name = opts.get("name")
        if name is not None and not isinstance(name, str):
            raise UnparseableArguments
        name = name or index_name(table, columns)
        if len(name) > 64:
            self.warnings.append(f"line {line}: index name {name} is longer than MySQL's 64 characters; "
                                 f"Rails before 7.1 refuses it, give `name:`")
        self.add(
            OpKind.ADD_INDEX, table, line, source, columns=columns, unique=bool(opts.get("unique")), name=name,
            algorithm=_opt_name(opts, "algorithm"), idempotent=bool(opts.get("if_not_exists")),
        )

    def remove_index(self, table, cols, opts, line, source) -> None:
        columns = _columns(cols if cols is not None else opts.get("column")) if (cols is not None or "column" in opts) else ()
        name = opts.get("name")
        if name is not None and not isinstance(name, str):
            raise UnparseableArguments
        if not columns and name is None:
            raise UnparseableArguments
        self.add(
            OpKind.REMOVE_INDEX, table, line, source, columns=columns, name=name or index_name(table, columns),
            algorithm=_opt_name(opts, "algorithm"), idempotent=bool(opts.get("if_exists")),
        )

    def foreign_key(self, from_table, args: _Args, line, source) -> None:
        opts = args.options
        to_table = _name(args.positional[0]) if args.positional else None
        if to_table is None:
            raise UnparseableArguments
        primary_key = _name(opts["primary_key"]) if "primary_key" in opts else "id"
        if "column" in opts:
            column = _name(opts["column"])
        elif self.rails_version is not None and self.rails_version >= (7, 1):
            column = f"{singularize(to_table)}_{primary_key}"
        else:
            column = f"{singularize(to_table)}_id"
        name = opts.get("name")
        if name is not None and not isinstance(name, str):
            raise UnparseableArguments
        self.add(
            OpKind.ADD_FOREIGN_KEY, from_table, line, source, columns=(column,), column=column, to_table=to_table,
            primary_key=primary_key, name=name or foreign_key_name(from_table, column),
            idempotent=bool(opts.get("if_not_exists")),
        )

    def remove_foreign_key(self, from_table, args: _Args, line, source) -> None:
        opts = args.options
        to_table = _name(args.positional[0]) if args.positional else (_name(opts["to_table"]) if "to_table" in opts else None)
        column = _name(opts["column"]) if "column" in opts else (f"{singularize(to_table)}_id" if to_table else None)
        name = opts.get("name")
        if name is not None and not isinstance(name, str):
            raise UnparseableArguments
        if name is None and column is None:
            raise UnparseableArguments
        self.add(
            OpKind.REMOVE_FOREIGN_KEY, from_table, line, source, columns=(column,) if column else (), column=column,
            to_table=to_table, name=name or foreign_key_name(from_table, column), idempotent=bool(opts.get("if_exists")),
        )

    def change_column(self, table, column, ctype, opts, line, source) -> None:
        self.add(
            OpKind.CHANGE_COLUMN, table, line, source, columns=(column,), column=column, column_type=ctype,
            null=_bool_opt(opts, "null"), default=_default(opts.get("default")),
        )

    def change_null(self, table, positional, line, source) -> None:
        if len(positional) < 2 or not isinstance(positional[1], bool):
            raise UnparseableArguments
        column = _name(positional[0])
        default = _default(positional[2]) if len(positional) > 2 else None
        self.add(OpKind.CHANGE_COLUMN_NULL, table, line, source, columns=(column,), column=column,
                 null=positional[1], default=default)

    def change_default(self, table, positional, opts, line, source) -> None:
        column = _name(positional[0])
        if len(positional) > 1:
            default = positional[1]
        elif "to" in opts:
            default = opts["to"]
        else:
            raise UnparseableArguments
        self.add(OpKind.CHANGE_COLUMN_DEFAULT, table, line, source, columns=(column,), column=column,
                 default=_default(default))


def _flatten(node):
    """Statements of a block body, looking through parentheses and `begin`."""
    if node is None:
        return []
    out = []
    for child in node.named_children:
        if child.type in ("begin", "parenthesized_statements"):
            out += _flatten(child)
        else:
            out.append(child)
    return out


def _block_param(block) -> str | None:
    params = block.child_by_field_name("parameters")
    if params is None:
        return None
    names = [c for c in params.named_children if c.type == "identifier"]
    return _text(names[0]) if names else None


def _statement_source(node) -> str:
    """The statement's first line (or its whole text when short): enough to find and recognise it."""
    text = _text(node)
    first = text.splitlines()[0] if text else ""
    return first.strip()


def _name(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise UnparseableArguments


def _columns(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise UnparseableArguments


def _bool_opt(opts: dict, key: str) -> bool | None:
    if key not in opts:
        return None
    value = opts[key]
    if isinstance(value, bool):
        return value
    raise UnparseableArguments


def _opt_name(opts: dict, key: str) -> str | None:
    if key not in opts:
        return None
    return _name(opts[key])


def _default(value: Any) -> Any:
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, (list, dict)):
        return repr(value)
    return value


# --- top-level handlers (called as handler(walk, args, block, line, source)) ------------------------------------


def _h_create_table(w: _Walk, a: _Args, block, line, source):
    table = _name(a.positional[0])
    opts = a.options
    if opts.get("force"):
        w.warnings.append(f"line {line}: create_table {table} force: true drops the table first if it exists")
    id_opt = opts.get("id", True)
    pk = opts.get("primary_key")
    columns: list[str] = []
    if id_opt is not False:
        columns.append(_name(pk) if isinstance(pk, str) else "id")
    index = len(w.ops)
    w.ops.insert(index, None)  # placeholder keeps create_table ahead of the indexes and keys its block defines
    columns += w.table_block(block, table, creating=True)
    w.ops[index] = Operation(
        OpKind.CREATE_TABLE, table, columns=tuple(columns), primary_key=columns[0] if id_opt is not False else None,
        idempotent=bool(opts.get("if_not_exists")), line=line, source=source,
    )


def _h_create_join_table(w: _Walk, a: _Args, block, line, source):
    t1, t2 = _name(a.positional[0]), _name(a.positional[1])
    table = _name(a.options["table_name"]) if "table_name" in a.options else join_table_name(t1, t2)
    index = len(w.ops)
    w.ops.insert(index, None)
    columns = [f"{singularize(t1)}_id", f"{singularize(t2)}_id"] + w.table_block(block, table, creating=True)
    w.ops[index] = Operation(OpKind.CREATE_TABLE, table, columns=tuple(columns), line=line, source=source)


def _h_change_table(w: _Walk, a: _Args, block, line, source):
    w.table_block(block, _name(a.positional[0]), creating=False)


def _h_drop_table(w: _Walk, a: _Args, block, line, source):
    for t in a.positional:
        w.add(OpKind.DROP_TABLE, _name(t), line, source, idempotent=bool(a.options.get("if_exists")))


def _h_rename_table(w: _Walk, a: _Args, block, line, source):
    old, new = _name(a.positional[0]), _name(a.positional[1])
    w.add(OpKind.RENAME_TABLE, old, line, source, new_name=new)


def _h_add_column(w: _Walk, a: _Args, block, line, source):
    ctype = _name(a.positional[2]) if len(a.positional) > 2 else None
    w.add_column(_name(a.positional[0]), _name(a.positional[1]), ctype, a.options, line, source)


def _h_add_timestamps(w: _Walk, a: _Args, block, line, source):
    for column in ("created_at", "updated_at"):
        w.add_column(_name(a.positional[0]), column, "datetime", {"null": False, **a.options}, line, source)


def _h_remove_column(w: _Walk, a: _Args, block, line, source):
    column = _name(a.positional[1])
    w.add(OpKind.REMOVE_COLUMN, _name(a.positional[0]), line, source, columns=(column,), column=column,
          idempotent=bool(a.options.get("if_exists")))


def _h_remove_columns(w: _Walk, a: _Args, block, line, source):
    columns = tuple(_name(c) for c in a.positional[1:])
    w.add(OpKind.REMOVE_COLUMN, _name(a.positional[0]), line, source, columns=columns)


def _h_remove_timestamps(w: _Walk, a: _Args, block, line, source):
    w.add(OpKind.REMOVE_COLUMN, _name(a.positional[0]), line, source, columns=("created_at", "updated_at"))


def _h_rename_column(w: _Walk, a: _Args, block, line, source):
    table, old, new = (_name(p) for p in a.positional[:3])
    w.add(OpKind.RENAME_COLUMN, table, line, source, columns=(old,), column=old, new_name=new)


def _h_change_column(w: _Walk, a: _Args, block, line, source):
    w.change_column(_name(a.positional[0]), _name(a.positional[1]), _name(a.positional[2]), a.options, line, source)


def _h_change_column_null(w: _Walk, a: _Args, block, line, source):
    w.change_null(_name(a.positional[0]), a.positional[1:], line, source)


def _h_change_column_default(w: _Walk, a: _Args, block, line, source):
    w.change_default(_name(a.positional[0]), a.positional[1:], a.options, line, source)


def _h_add_index(w: _Walk, a: _Args, block, line, source):
    w.index(_name(a.positional[0]), a.positional[1] if len(a.positional) > 1 else None, a.options, line, source)


def _h_remove_index(w: _Walk, a: _Args, block, line, source):
    w.remove_index(_name(a.positional[0]), a.positional[1] if len(a.positional) > 1 else None, a.options, line, source)


def _h_add_foreign_key(w: _Walk, a: _Args, block, line, source):
    w.foreign_key(_name(a.positional[0]), _Args(a.positional[1:], a.options, a.unresolved), line, source)


def _h_remove_foreign_key(w: _Walk, a: _Args, block, line, source):
    w.remove_foreign_key(_name(a.positional[0]), _Args(a.positional[1:], a.options, a.unresolved), line, source)


def _h_add_reference(w: _Walk, a: _Args, block, line, source):
    w.reference(_name(a.positional[0]), _name(a.positional[1]), a.options, line, source)


def _h_remove_reference(w: _Walk, a: _Args, block, line, source):
    w.remove_reference(_name(a.positional[0]), _name(a.positional[1]), a.options, line, source)


def _h_execute(w: _Walk, a: _Args, block, line, source):
    sql = a.positional[0] if a.positional else None
    w.add(OpKind.EXECUTE, None, line, source, sql=sql.text if isinstance(sql, Expr) else sql)


def _strict(handler):
    """Positional arguments must be literals and options must be visible; otherwise the call is unknown."""

    def run(w: _Walk, a: _Args, block, line, source):
        if a.unresolved:
            raise UnparseableArguments
        try:
            handler(w, a, block, line, source)
        except (IndexError, KeyError):
            raise UnparseableArguments from None

    return run


_HANDLERS = {
    name: _strict(h)
    for name, h in {
        "create_table": _h_create_table,
        "create_join_table": _h_create_join_table,
        "change_table": _h_change_table,
        "drop_table": _h_drop_table,
        "rename_table": _h_rename_table,
        "add_column": _h_add_column,
        "add_timestamps": _h_add_timestamps,
        "remove_column": _h_remove_column,
        "remove_columns": _h_remove_columns,
        "remove_timestamps": _h_remove_timestamps,
        "rename_column": _h_rename_column,
        "change_column": _h_change_column,
        "change_column_null": _h_change_column_null,
        "change_column_default": _h_change_column_default,
        "add_index": _h_add_index,
        "remove_index": _h_remove_index,
        "add_foreign_key": _h_add_foreign_key,
        "remove_foreign_key": _h_remove_foreign_key,
        "add_reference": _h_add_reference,
        "add_belongs_to": _h_add_reference,
        "remove_reference": _h_remove_reference,
        "remove_belongs_to": _h_remove_reference,
        "execute": _h_execute,
    }.items()
}


# ---------------------------------------------------------------------------------------------------------------
# Entry point

_FILENAME = re.compile(r"^(\d+)_([a-z0-9_]+?)(?:\.[a-z0-9_]+)?\.rb$")


def parse_migration(source: bytes | str, path: str = "") -> ParsedMigration:
    data = source.encode() if isinstance(source, str) else source
    tree = _parser().parse(data)
    src = _Source(tree.root_node)
    warnings: list[str] = []
    error = None
    if tree.root_node.has_error:
        error = f"Ruby syntax error {_error_span(tree.root_node)}: Rails cannot load this file"

    base = os.path.basename(path)
    match = _FILENAME.match(base)
    version = match.group(1) if match else ""
    expected_class = camelize(match.group(2)) if match else None

    klass = _migration_class(tree.root_node)
    if klass is None:
        return ParsedMigration(version, expected_class or "", path, None, (), "none", False, False, tuple(warnings),
                               error or "no migration class (a subclass of ActiveRecord::Migration) in the file")
    name = _text(klass.child_by_field_name("name")).split("::")[-1]
    superclass_text, superclass_version = _superclass(klass)
    if expected_class and name != expected_class:
        warnings.append(f"class {name} does not match the file name; Rails expects {expected_class} and will fail")
    if superclass_text.startswith("ActiveRecord::Migration") and superclass_version is None:
        warnings.append("superclass has no version (ActiveRecord::Migration[x.y]); Rails 5+ refuses it")
    rails_version = _version_tuple(superclass_version)

    methods: dict[str, Any] = {}
    disable_tx = False
    body = klass.child_by_field_name("body")
    for stmt in body.named_children if body is not None else ():
        if stmt.type == "method":
            methods[_text(stmt.child_by_field_name("name"))] = stmt
        elif stmt.type == "singleton_method":  # Rails 3 style `def self.up`
            methods.setdefault(_text(stmt.child_by_field_name("name")), stmt)
        elif stmt.type == "call" and _text(stmt.child_by_field_name("method")) == "disable_ddl_transaction!":
            disable_tx = True

    walk = _Walk(src, rails_version)
    direction = "change" if "change" in methods else ("up" if "up" in methods else "none")
    if direction == "none":
        warnings.append("no `change` or `up` method: the migration does nothing")
    else:
        walk.body(methods[direction].child_by_field_name("body"))
    return ParsedMigration(
        version=version,
        name=name,
        path=path,
        superclass_version=superclass_version,
        operations=tuple(walk.ops),
        direction=direction,
        has_down="down" in methods,
        disable_ddl_transaction=disable_tx,
        warnings=tuple(warnings + walk.warnings),
        error=error,
    )


def _error_span(root) -> str:
    """Where the innermost syntax error is; tree-sitter recovers, so this is a range, not a point."""
    node = root
    while True:
        inner = next((c for c in node.children if c.type == "ERROR" or c.is_missing or c.has_error), None)
        if inner is None:
            break
        node = inner
    end_row = node.end_point[0] - (1 if node.end_point[1] == 0 else 0)
    first, last = node.start_point[0] + 1, max(end_row, node.start_point[0]) + 1
    return f"at line {first}" if first == last else f"between lines {first} and {last}"


def _migration_class(root):
    """The first class whose superclass looks like a migration (ActiveRecord's or an app's own base class)."""
    stack = [root]
    first_class = None
    while stack:
        node = stack.pop(0)
        if node.type == "class":
            first_class = first_class or node
            superclass = node.child_by_field_name("superclass")
            if superclass is not None and "Migration" in _text(superclass):
                return node
        if node.type in ("program", "module", "body_statement", "class"):
            stack.extend(node.named_children)
    return first_class


def _superclass(klass) -> tuple[str, str | None]:
    node = klass.child_by_field_name("superclass")
    if node is None:
        return "", None
    text = _text(node).lstrip("<").strip()
    ref = next((c for c in node.named_children), None)
    if ref is not None and ref.type == "element_reference" and text.startswith("ActiveRecord::Migration"):
        items = [c for c in ref.named_children if c.type in ("float", "integer", "string")]
        if items:
            return text, _text(items[0]).strip("'\"")
    return text, None


def _version_tuple(version: str | None) -> tuple[int, int] | None:
    if not version:
        return None
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
