"""Online schema change tools run from a migration: LHM's `Lhm.change_table` block, and gh-ost or
pt-online-schema-change started as a shell command. Each becomes the operations its ALTER applies (registered in
`handlers`), marked with the tool, so it stages and is checked like the same change made by Rails.

The tool copies the table into a shadow table and swaps it in: the objects appear at the swap, under the names
the tool's SQL gives them (LHM names an index `index_<table>_on_<a>_and_<b>` and never shortens it).
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from shipit.planning.rails import alter
from shipit.planning.rails.alter import Spec, UnreadableSql
from shipit.planning.rails.handlers import handles, name
from shipit.planning.rails.naming import MYSQL_INDEX_NAME_LIMIT
from shipit.planning.rails.operations import OpKind, Tool
from shipit.planning.rails.ruby import HOLE, Expr
from shipit.planning.rails.walker import Call, TableBlock, UnparseableArguments, Walk, block_param

# --- LHM ------------------------------------------------------------------------------------------------------

LHM_METHODS: dict[str, Any] = {}


def lhm(*names: str):
    def register(fn):
        for n in names:
            LHM_METHODS[n] = fn
        return fn

    return register


def shadow(table: str) -> str:
    """The table LHM alters before the swap; `m.name` in the block returns it."""
    return f"lhmn_{table}"


@handles("Lhm.change_table")
def lhm_change_table(w: Walk, call: Call) -> None:
    table = name(call.args.positional[0])
    var = block_param(call.block) if call.block is not None else None
    saved = dict(w.src.locals)
    if var:
        w.src.locals[f"{var}.name"] = shadow(table)
    try:
        w.table_body(TableBlock(table, var, creating=False, handlers=LHM_METHODS), call.block)
    finally:
        w.src.locals = saved


@handles("Lhm.setup", "Lhm.cleanup", "Departure.configure")
def tool_settings(w: Walk, call: Call) -> None:
    """Connection setup, a tool's own options and dropping LHM's leftover tables change no table the app uses."""


def _add(w: Walk, call: Call, table: str, spec: Spec, tool: Tool, failure: str | None = None) -> None:
    w.add(spec.kind, table, call, tool=tool, failure=failure, **spec.fields)


def _lhm_index_columns(value: Any) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    """LHM takes `:a`, `[:a, :b]` or `"comment(10)"` (a prefix length); its index name drops the length."""
    parts = [value] if isinstance(value, str) else value
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        raise UnparseableArguments
    try:
        return alter.index_columns(alter.tokens(", ".join(parts)))
    except UnreadableSql as e:
        raise UnparseableArguments(f"LHM index columns: {e}") from None


def lhm_index_name(table: str, columns: tuple[str, ...]) -> str:
    return f"index_{table}_on_{'_and_'.join(columns)}"


@lhm("add_index", "add_unique_index")
def lhm_add_index(w: Walk, call: Call) -> None:
    table, p = call.args.positional[0], call.args.positional
    columns, lengths = _lhm_index_columns(p[1])
    given = name(p[2]) if len(p) > 2 else None
    index = given or lhm_index_name(table, columns)
    failure = None if len(index) <= MYSQL_INDEX_NAME_LIMIT else (
        f"LHM's index name '{index}' is {len(index)} characters, over MySQL's {MYSQL_INDEX_NAME_LIMIT} (ERROR 1059): "
        f"LHM does not shorten it; pass a shorter name as the second argument")
    w.add(OpKind.ADD_INDEX, table, call, columns=columns, unique=call.method == "add_unique_index", name=index,
          lengths=lengths, tool=Tool.LHM, failure=failure)


@lhm("remove_index")
def lhm_remove_index(w: Walk, call: Call) -> None:
    table, p = call.args.positional[0], call.args.positional
    columns, _ = _lhm_index_columns(p[1])
    # LHM drops the table's index over exactly these columns whatever its name; the generated name is its fallback
    given = name(p[2]) if len(p) > 2 else None
    w.add(OpKind.REMOVE_INDEX, table, call, columns=columns, name=given or lhm_index_name(table, columns),
          tool=Tool.LHM)


def _definition(call: Call) -> alter.ColumnDef:
    try:
        return alter.column_definition(name(call.args.positional[2]))
    except UnreadableSql as e:
        raise UnparseableArguments(f"LHM column definition: {e}") from None


@lhm("add_column")
def lhm_add_column(w: Walk, call: Call) -> None:
    table, column = call.args.positional[0], name(call.args.positional[1])
    d = _definition(call)
    w.add(OpKind.ADD_COLUMN, table, call, columns=(column,), column=column, column_type=d.type, null=d.null,
          default=d.default, stored=d.stored, tool=Tool.LHM)


@lhm("change_column")
def lhm_change_column(w: Walk, call: Call) -> None:
    table, column = call.args.positional[0], name(call.args.positional[1])
    definition = name(call.args.positional[2])
    words = definition.split()
    if [x.upper() for x in words[:2]] in (["SET", "DEFAULT"], ["DROP", "DEFAULT"]):
        try:
            spec = alter.alter_clause(table, f"ALTER COLUMN `{column}` {definition}")[0]
        except UnreadableSql as e:
            raise UnparseableArguments(f"LHM change_column: {e}") from None
        _add(w, call, table, spec, Tool.LHM)
        return
    d = _definition(call)
    w.add(OpKind.CHANGE_COLUMN, table, call, columns=(column,), column=column, column_type=d.type, null=d.null,
          default=d.default, tool=Tool.LHM)


@lhm("remove_column")
def lhm_remove_column(w: Walk, call: Call) -> None:
    table, column = call.args.positional[0], name(call.args.positional[1])
    w.add(OpKind.REMOVE_COLUMN, table, call, columns=(column,), column=column, tool=Tool.LHM)


@lhm("rename_column")
def lhm_rename_column(w: Walk, call: Call) -> None:
    table, old, new = call.args.positional[0], name(call.args.positional[1]), name(call.args.positional[2])
    w.add(OpKind.RENAME_COLUMN, table, call, columns=(old,), column=old, new_name=new, tool=Tool.LHM)


@lhm("ddl")
def lhm_ddl(w: Walk, call: Call) -> None:
    table = call.args.positional[0]
    sql = call.args.positional[1]
    if not isinstance(sql, str):
        raise UnparseableArguments(f"LHM's m.ddl statement is built at run time: shipit cannot read what it changes "
                                   f"on {table}")
    try:
        target, specs = alter.statement(sql)
    except UnreadableSql as e:
        raise UnparseableArguments(f"LHM's m.ddl statement is not one shipit reads: {e}") from None
    if target != shadow(table):
        raise UnparseableArguments(
            f"LHM's m.ddl alters `{target}`, not the copy LHM swaps in ({shadow(table)}, `m.name`): on {table} it "
            f"runs as blocking DDL and the swap discards it; write the statement against m.name")
    for spec in specs:
        _add(w, call, table, spec, Tool.LHM)


@lhm("filter")
def lhm_filter(w: Walk, call: Call) -> None:
    raise UnparseableArguments("LHM's m.filter copies only the rows it selects: the swap deletes every other row "
                               "of the table")


# --- gh-ost and pt-online-schema-change started as a command ---------------------------------------------------

_TOOLS = {"pt-online-schema-change": Tool.PT_OSC, "gh-ost": Tool.GH_OST}
_UNIQUE_CHECK_OFF = ("no-check-unique-key-change", "nocheck-unique-key-change")


def _template(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Expr) and value.template is not None:
        return value.template
    return None


def command_words(positional: list[Any]) -> list[str]:
    """The command's words: one string goes through the shell, several are the argv (an env hash is skipped);
    a word built at run time holds `HOLE`."""
    values = [v for v in positional if not isinstance(v, dict)]
    if len(values) == 1:
        line = _template(values[0])
        if line is None:
            return [HOLE]
        try:
            return shlex.split(line.replace("\\\n", " "))
        except ValueError:
            return [HOLE]
    return [t if (t := _template(v)) is not None else HOLE for v in values]


def _flags(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """`--alter=X`, `--alter X`, `-alter X` (gh-ost takes one dash too) and bare words."""
    flags: dict[str, str] = {}
    bare: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-"):
            key, eq, value = word.lstrip("-").partition("=")
            if not eq and key in ("alter", "table", "database") and i + 1 < len(words):
                value, i = words[i + 1], i + 1
            flags[key] = value if (eq or key in ("alter", "table", "database")) else "true"
        else:
            bare.append(word)
        i += 1
    return flags, bare


def _dsn_table(bare: list[str]) -> str | None:
    """pt-osc's DSN `h=host,D=db,t=table`: single-letter keys."""
    for word in bare:
        pairs = [p.partition("=") for p in word.split(",")]
        if all(eq and len(k) == 1 for k, eq, _ in pairs):
            found = [v for k, _, v in pairs if k == "t"]
            if found:
                return found[0]
    return None


@handles("system", "spawn", "Kernel.system", "Kernel.spawn", "Open3.capture2", "Open3.capture2e", "Open3.capture3",
         "`")
def shell_command(w: Walk, call: Call) -> None:
    words = command_words(call.args.positional)
    at = next((i for i, word in enumerate(words) if os.path.basename(word) in _TOOLS), None)
    if at is None:
        what = "built at run time" if any(HOLE in word for word in words[:1]) else f"`{' '.join(words[:2])}`"
        raise UnparseableArguments(f"runs a shell command ({what}) that is not gh-ost or pt-online-schema-change: "
                                   f"shipit cannot tell what it changes")
    tool = _TOOLS[os.path.basename(words[at])]
    flags, bare = _flags(words[at + 1:])
    table = flags.get("table") if tool is Tool.GH_OST else _dsn_table(bare)
    clause = flags.get("alter")
    unread = f"could not read this {tool.value} call"
    if clause is None or HOLE in clause:
        state = "missing" if clause is None else "built at run time"
        raise UnparseableArguments(f"{unread}: its --alter clause is {state}")
    if table is None or HOLE in table:
        where = "--table" if tool is Tool.GH_OST else "the DSN's t="
        raise UnparseableArguments(f"{unread}: {where} is {'missing' if table is None else 'built at run time'}")
    if flags.get("execute") != "true":
        raise UnparseableArguments(f"runs {tool.value} without --execute: it alters nothing (a dry run at most), so "
                                   f"the objects its --alter describes never appear; add --execute or remove the call")
    try:
        specs = alter.alter_clause(table, clause)
    except UnreadableSql as e:
        raise UnparseableArguments(f"{unread}: its --alter has {e}") from None
    for spec in specs:
        _add(w, call, table, spec, tool, _refusal(tool, spec, flags))


def _refusal(tool: Tool, spec: Spec, flags: dict[str, str]) -> str | None:
    """What the tool itself refuses before it copies anything."""
    if tool is Tool.PT_OSC and spec.kind is OpKind.ADD_INDEX and spec.fields.get("unique") and \
            not any(k in flags for k in _UNIQUE_CHECK_OFF):
        return ("pt-online-schema-change refuses an --alter that adds a unique index unless given "
                "--no-check-unique-key-change (it copies rows with INSERT IGNORE, so duplicates would vanish)")
    if tool is Tool.PT_OSC and spec.kind is OpKind.ADD_COLUMN and spec.fields.get("null") is False and \
            spec.fields.get("default") is None:
        return ("pt-online-schema-change fails on a NOT NULL column without a default (it does not guess one); "
                "give it one")
    if tool is Tool.GH_OST and spec.kind is OpKind.ADD_FOREIGN_KEY:
        return "gh-ost does not support foreign keys"
    return None
