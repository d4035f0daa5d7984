"""One registry of Rails migration methods: each handler turns a call into operations.

Top-level calls (`add_index :t, :c`) and table-block calls (`t.index :c` inside `change_table :t`) reach the same
handler; a block call arrives with the block's table as its first argument, so a method is handled in one place.
Handlers raise `UnparseableArguments` (or IndexError/KeyError) when an argument is not a literal: the walker then
records the statement as unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from shipit.planning.rails import naming
from shipit.planning.rails.naming import at_least
from shipit.planning.rails.operations import OpKind, Operation
from shipit.planning.rails.ruby import Args, Expr
from shipit.planning.rails.walker import Call, TableBlock, UnparseableArguments, Walk, block_param

Handler = Callable[[Walk, Call], None]
HANDLERS: dict[str, Handler] = {}
BLOCK_METHODS: dict[str, str] = {}  # `t.<method>` in a table block -> the registry key that handles it


def handles(*names: str, block: tuple[str, ...] = ()):
    """Register a handler under its Rails method names and its table-block method names."""

    def register(fn: Handler) -> Handler:
        for n in names:
            HANDLERS[n] = fn
        for b in block:
            BLOCK_METHODS[b] = names[0]
        return fn

    return register


# --- argument helpers -----------------------------------------------------------------------------------------


def name(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise UnparseableArguments


def columns_of(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise UnparseableArguments


def bool_opt(opts: dict, key: str) -> bool | None:
    if key not in opts:
        return None
    if isinstance(opts[key], bool):
        return opts[key]
    raise UnparseableArguments


def opt_name(opts: dict, key: str) -> str | None:
    return name(opts[key]) if key in opts else None


def default_of(value: Any) -> Any:
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, (list, dict)):
        return repr(value)
    return value


def type_of(value: Any) -> str | None:
    """A column type: a symbol, or the Ruby source of a variable (ActiveStorage's `foreign_key_type`)."""
    if value is None:
        return None
    return value.text if isinstance(value, Expr) else name(value)


def no_create(call: Call) -> None:
    """Methods a create_table block does not have: Rails raises NoMethodError, so shipit will not guess."""
    if call.creating:
        raise UnparseableArguments


# --- tables ---------------------------------------------------------------------------------------------------


def _create(w: Walk, call: Call, table: str, first_columns: list[str], idempotent: bool, **fields) -> None:
    index = len(w.ops)
    w.ops.append(None)  # placeholder keeps create_table ahead of the indexes and keys its block defines
    tb = TableBlock(table, _block_var(call.block), creating=True, columns=list(first_columns))
    w.table_body(tb, call.block)
    if call.args.options.get("&") == "timestamps":
        tb.columns += ["created_at", "updated_at"]
    columns = tuple(dict.fromkeys(tb.columns))  # both branches of an `if` may define the same column
    w.ops[index] = Operation(OpKind.CREATE_TABLE, table, columns=columns, idempotent=idempotent, line=call.line,
                             source=call.source, **fields)


def _block_var(block) -> str | None:
    return block_param(block) if block is not None else None


@handles("create_table")
def create_table(w: Walk, call: Call) -> None:
    a = call.args
    table = name(a.positional[0])
    if a.options.get("force"):
        w.warnings.append(f"line {call.line}: create_table {table} force: true drops the table first if it exists")
    id_opt = a.options.get("id", True)
    pk = a.options.get("primary_key")
    first = [] if id_opt is False else [pk if isinstance(pk, str) else "id"]
    _create(w, call, table, first, bool(a.options.get("if_not_exists")),
            primary_key=first[0] if first else None)


@handles("create_join_table")
def create_join_table(w: Walk, call: Call) -> None:
    a = call.args
    t1, t2 = name(a.positional[0]), name(a.positional[1])
    table = name(a.options["table_name"]) if "table_name" in a.options else naming.join_table_name(t1, t2)
    first = [f"{naming.singularize(t1)}_id", f"{naming.singularize(t2)}_id"]
    _create(w, call, table, first, False)


@handles("change_table")
def change_table(w: Walk, call: Call) -> None:
    table = name(call.args.positional[0])
    w.table_body(TableBlock(table, _block_var(call.block), creating=False), call.block)


@handles("drop_table", "drop_join_table")
def drop_table(w: Walk, call: Call) -> None:
    a = call.args
    tables = [name(t) for t in a.positional]
    if call.method == "drop_join_table":
        tables = [name(a.options["table_name"])] if "table_name" in a.options else \
            [naming.join_table_name(tables[0], tables[1])]
    for t in tables:
        w.add(OpKind.DROP_TABLE, t, call, idempotent=bool(a.options.get("if_exists")))


@handles("rename_table")
def rename_table(w: Walk, call: Call) -> None:
    w.add(OpKind.RENAME_TABLE, name(call.args.positional[0]), call, new_name=name(call.args.positional[1]))


@handles("change_table_comment", "change_column_comment")
def change_comment(w: Walk, call: Call) -> None:
    a = call.args
    column = name(a.positional[1]) if call.method == "change_column_comment" else None
    w.add(OpKind.CHANGE_COMMENT, name(a.positional[0]), call, columns=(column,) if column else (), column=column)


# --- columns --------------------------------------------------------------------------------------------------


@handles("add_column", block=("column",))
def add_column(w: Walk, call: Call) -> None:
    a = call.args
    table, column = name(a.positional[0]), name(a.positional[1])
    ctype = type_of(a.positional[2]) if len(a.positional) > 2 else None
    _column(w, call, table, column, ctype, a.options)


def column_type_call(w: Walk, ctype: str, call: Call) -> None:
    """`t.string :a, :b` in a table block: one column per name."""
    table = name(call.args.positional[0])
    for column in call.args.positional[1:]:
        _column(w, call, table, name(column), ctype, call.args.options)


def _column(w: Walk, call: Call, table: str, column: str, ctype: str | None, opts: dict) -> None:
    if call.creating:
        call.table_block.columns.append(column)
        return
    default = opts.get("default")
    w.add(OpKind.ADD_COLUMN, table, call, columns=(column,), column=column, column_type=ctype,
          null=bool_opt(opts, "null"), default=default_of(default),
          stored=ctype == "virtual" and bool(opts.get("stored")), idempotent=bool(opts.get("if_not_exists")))


@handles("add_column_with_default")
def add_column_with_default(w: Walk, call: Call) -> None:
    """Mastodon's and old GitLab's helper: add the column, backfill it in batches, then (allow_null: false) NOT NULL;
    what the running code sees is a column with a default."""
    a = call.args
    opts = dict(a.options)
    if "allow_null" in opts:
        allow_null = opts.pop("allow_null")
        if not isinstance(allow_null, bool):
            raise UnparseableArguments
        opts["null"] = allow_null
    add_column(w, replace(call, args=Args(a.positional, opts, a.unresolved, a.splat)))


@handles("add_timestamps", block=("timestamps",))
def add_timestamps(w: Walk, call: Call) -> None:
    table = name(call.args.positional[0])
    # Rails 4.2 made timestamps NULL unless told otherwise; 5.0 made them NOT NULL.
    null = {"null": False} if at_least(w.version, 5, 0) else {"null": True}
    for column in ("created_at", "updated_at"):
        _column(w, call, table, column, "datetime", {**null, **call.args.options})


@handles("remove_column", "remove_columns", block=("remove",))
def remove_columns(w: Walk, call: Call) -> None:
    no_create(call)
    a = call.args
    if a.splat:
        raise UnparseableArguments
    cols = tuple(name(c) for c in a.positional[1:])
    if call.method == "remove_column":
        cols = cols[:1]  # remove_column :t, :c, :type: the third argument is the type, for reversal
    if not cols:
        raise UnparseableArguments
    w.add(OpKind.REMOVE_COLUMN, name(a.positional[0]), call, columns=cols, column=cols[0] if len(cols) == 1 else None,
          idempotent=bool(a.options.get("if_exists")))


@handles("remove_timestamps", block=("remove_timestamps",))
def remove_timestamps(w: Walk, call: Call) -> None:
    no_create(call)
    w.add(OpKind.REMOVE_COLUMN, name(call.args.positional[0]), call, columns=("created_at", "updated_at"))


@handles("rename_column", block=("rename",))
def rename_column(w: Walk, call: Call) -> None:
    no_create(call)
    table, old, new = (name(p) for p in call.args.positional[:3])
    w.add(OpKind.RENAME_COLUMN, table, call, columns=(old,), column=old, new_name=new)


@handles("change_column", block=("change",))
def change_column(w: Walk, call: Call) -> None:
    no_create(call)
    a = call.args
    column = name(a.positional[1])
    w.add(OpKind.CHANGE_COLUMN, name(a.positional[0]), call, columns=(column,), column=column,
          column_type=type_of(a.positional[2]), null=bool_opt(a.options, "null"),
          default=default_of(a.options.get("default")), clears_default="default" in a.options and
          a.options["default"] is None)


@handles("change_column_null", block=("change_null",))
def change_column_null(w: Walk, call: Call) -> None:
    no_create(call)
    p = call.args.positional
    if len(p) < 3 or not isinstance(p[2], bool):
        raise UnparseableArguments
    column = name(p[1])
    w.add(OpKind.CHANGE_COLUMN_NULL, name(p[0]), call, columns=(column,), column=column, null=p[2],
          default=default_of(p[3]) if len(p) > 3 else None)


@handles("change_column_default", block=("change_default",))
def change_column_default(w: Walk, call: Call) -> None:
    no_create(call)
    a = call.args
    column = name(a.positional[1])
    if len(a.positional) > 2:
        default = a.positional[2]
    elif "to" in a.options:
        default = a.options["to"]
    else:
        raise UnparseableArguments
    w.add(OpKind.CHANGE_COLUMN_DEFAULT, name(a.positional[0]), call, columns=(column,), column=column,
          default=default_of(default), clears_default=default is None)
