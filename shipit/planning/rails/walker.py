"""Walk a migration method's statements and hand each Rails call to its handler (`handlers.HANDLERS`).

Calls on a `create_table`/`change_table` block variable (`t.string`, `t.index`) go to the same registry as
top-level calls, with the table as first argument; whatever no handler claims becomes an `unknown` operation with
its line, because a plan that silently drops a statement would be worse than no plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipit.planning.rails import ruby
from shipit.planning.rails.naming import Version
from shipit.planning.rails.operations import OpKind, Operation
from shipit.planning.rails.ruby import Args, Expr, Source, text

# Blocks whose body runs as-is when migrating up.
TRANSPARENT_BLOCKS = frozenset(
    {"safety_assured", "say_with_time", "suppress_messages", "up_only", "with_lock_retries", "transaction"}
)
# Statements with no effect on the schema or data.
NO_EFFECT = frozenset(
    {"say", "puts", "print", "p", "pp", "disable_ddl_transaction!", "require", "require_relative", "include",
     "extend", "reset_column_information", "enable_lock_retries!", "milestone", "restrict_gitlab_migration",
     "raise_on_exception", "sleep", "private", "protected", "public", "uses_departure!", "disable_departure!"}
)
# Model or relation methods that change rows: a statement ending in one of these is data code.
DATA_METHODS = frozenset(
    {"update_all", "delete_all", "destroy_all", "find_each", "find_in_batches", "in_batches", "each", "update",
     "update!", "update_column", "update_columns", "insert_all", "insert_all!", "upsert_all", "create", "create!",
     "find_or_create_by", "find_or_create_by!", "save", "save!", "destroy", "destroy!", "delete", "each_slice",
     "touch_all", "map", "find_or_initialize_by"}
)
EXECUTE_METHODS = frozenset({"execute", "exec_update", "exec_delete", "exec_insert", "exec_query"})
# Calls that run a shell command (a subshell, `` `...` `` or `%x()`, is one too).
COMMAND_METHODS = frozenset({"system", "spawn", "capture2", "capture2e", "capture3"})
# A guard that fails the migration when its condition is false: `raise "..." unless system(...)`.
FAILS = frozenset({"raise", "fail", "abort"})
COLUMN_TYPES = frozenset(
    {
        "string", "text", "integer", "bigint", "float", "decimal", "numeric", "datetime", "time", "date", "binary",
        "blob", "boolean", "json", "timestamp", "virtual", "tinytext", "mediumtext", "longtext", "tinyblob",
        "mediumblob", "longblob", "unsigned_integer", "unsigned_bigint", "unsigned_float", "unsigned_decimal",
        "uuid", "enum", "set", "jsonb", "primary_key",
    }
)


class UnparseableArguments(Exception):
    """An operation's arguments are not literals: the caller records it as unknown."""


@dataclass
class TableBlock:
    """The table a `create_table`/`change_table` block works on; a create_table collects its column names."""

    table: str
    var: str | None
    creating: bool
    columns: list[str] = field(default_factory=list)
    handlers: dict | None = None  # a tool's own block methods (LHM's migrator); None: Rails' table methods


@dataclass
class Call:
    method: str
    args: Args
    block: Any
    line: int
    source: str
    table_block: TableBlock | None = None

    @property
    def creating(self) -> bool:
        return self.table_block is not None and self.table_block.creating


@dataclass
class Walk:
    src: Source
    version: Version
    ops: list[Operation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blocks: list[TableBlock] = field(default_factory=list)
    directions: list[str | None] = field(default_factory=list)  # `reversible do |dir|` variables in scope
    helpers: dict[str, Any] = field(default_factory=dict)  # the class's own methods that run a shell command
    inlining: set[str] = field(default_factory=set)
    command_results: set[str] = field(default_factory=set)  # locals holding a command's output or success

    # --- statements -----------------------------------------------------------------------------------------

    def body(self, node) -> None:
        if node is None:
            return
        for stmt in node.named_children:
            self.statement(stmt)

    def statement(self, node) -> None:
        t = node.type
        if t in ("comment", "heredoc_body", "empty_statement", "method", "singleton_method", "class", "module"):
            return
        if self.fail_guard(node) or self.no_effect_modifier(node):
            return
        if t in ("if_modifier", "unless_modifier", "if", "unless", "elsif"):
            cond = node.child_by_field_name("condition")
            self.warnings.append(
                f"line {node.start_point[0] + 1}: statements run only {'unless' if 'unless' in t else 'if'} "
                f"`{text(cond) if cond is not None else '?'}`; the plan assumes every branch runs"
            )
            if t.endswith("_modifier"):
                self.statement(node.child_by_field_name("body"))
                return
            self.body(node.child_by_field_name("consequence"))
            alternative = node.child_by_field_name("alternative")
            if alternative is not None:
                self.statement(alternative)
            return
        if t in ("then", "else", "begin", "parenthesized_statements", "body_statement", "block_body", "ensure"):
            self.body(node)
            return
        if t in ("assignment", "operator_assignment"):
            self.assignment(node)
            return
        if t in ("call", "identifier"):
            self.call(node)
            return
        if t == "subshell":
            self.dispatch(node, "`", None, node.start_point[0] + 1, statement_source(node), None)
            return
        self.unknown(node)

    def no_effect_modifier(self, node) -> bool:
        """`uses_departure! if Rails.env.production?`: a condition on a statement with no effect needs no warning."""
        if node.type not in ("if_modifier", "unless_modifier"):
            return False
        body = node.child_by_field_name("body")
        method = body if body is not None and body.type == "identifier" else \
            (body.child_by_field_name("method") if body is not None and body.type == "call" else None)
        receiver = body.child_by_field_name("receiver") if body is not None and body.type == "call" else None
        return method is not None and receiver is None and text(method) in NO_EFFECT

    def fail_guard(self, node) -> bool:
        """`raise ... unless system(cmd)` and `system(cmd) or raise ...` run the command; the raise only stops the
        migration when it fails, so the command is the statement."""
        if node.type in ("if_modifier", "unless_modifier"):
            guard, cond = node.child_by_field_name("body"), node.child_by_field_name("condition")
        elif node.type == "binary" and node.child_by_field_name("operator") is not None and \
                text(node.child_by_field_name("operator")) in ("or", "||", "and", "&&"):
            guard, cond = node.child_by_field_name("right"), node.child_by_field_name("left")
        else:
            return False
        if guard is None or cond is None or guard.type not in ("call", "identifier"):
            return False
        method = guard if guard.type == "identifier" else guard.child_by_field_name("method")
        if method is None or text(method) not in FAILS:
            return False
        if runs_command(cond):
            self.statement(cond.named_children[0] if cond.type == "unary" and cond.named_child_count else cond)
            return True
        # the exit status of a command already run: `$?`, `status.success?`, or a local the command's result went to
        return "$?" in text(cond) or ".success?" in text(cond) or bool(identifiers(cond) & self.command_results)

    def assignment(self, node) -> None:
        """`x = literal` binds a local later arguments may use; `x = Model.create!(...)` is data code."""
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is not None and right is not None and left.type in ("identifier", "constant"):
            bound = ruby.value(right, self.src)
            if not isinstance(bound, Expr):
                self.src.locals[text(left)] = bound
                return
        if left is not None and right is not None and runs_command(right):
            self.command_results |= identifiers(left)
        if right is not None and right.type == "subshell":
            self.statement(right)
        elif right is not None and right.type == "call":
            method = right.child_by_field_name("method")
            if method is not None and text(method) in DATA_METHODS | EXECUTE_METHODS | COMMAND_METHODS:
                self.call(right)

    def call(self, node) -> None:
        if node.type == "identifier":
            name, receiver, block = text(node), None, None
        else:
            method = node.child_by_field_name("method")
            name = text(method) if method is not None else ""
            receiver = node.child_by_field_name("receiver")
            block = node.child_by_field_name("block")
        line, source = node.start_point[0] + 1, statement_source(node)
        if receiver is not None:
            self.receiver_call(node, receiver, name, block, line, source)
            return
        if name in NO_EFFECT:
            return
        if name in TRANSPARENT_BLOCKS and block is not None:
            self.body(block.child_by_field_name("body"))
            return
        if name in self.helpers:
            self.inline(node, name)
            return
        if name == "reversible" and block is not None:
            self.directions.append(block_param(block))
            try:
                self.body(block.child_by_field_name("body"))
            finally:
                self.directions.pop()
            return
        self.dispatch(node, name, block, line, source, None)

    def receiver_call(self, node, receiver, name, block, line, source) -> None:
        from shipit.planning.rails.handlers import column_type_call

        rtext = text(receiver)
        if rtext in self.directions and name in ("up", "down"):
            if name == "up" and block is not None:
                self.body(block.child_by_field_name("body"))
            return
        table_block = next((b for b in reversed(self.blocks) if b.var is not None and b.var == rtext), None)
        if table_block is not None:
            if name in COLUMN_TYPES and table_block.handlers is None:
                self.guard(node, lambda: column_type_call(self, name, self.call_of(node, name, block, table_block)))
            else:
                self.dispatch(node, name, block, line, source, table_block)
            return
        if name in NO_EFFECT:
            return
        if rtext == "self" and name in self.helpers:
            self.inline(node, name)
            return
        if name in EXECUTE_METHODS and rtext.split(".")[-1] == "connection":
            self.dispatch(node, "execute", None, line, source, None)
            return
        if f"{rtext}.{name}" in _handlers():
            self.dispatch(node, f"{rtext}.{name}", block, line, source, None)
            return
        if name in DATA_METHODS:
            self.ops.append(Operation(OpKind.DATA, None, line=line, source=source))
            return
        self.unknown(node)

    def call_of(self, node, method: str, block, table_block: TableBlock | None) -> Call:
        if node.type == "subshell":
            a = Args([ruby.value(node, self.src)], {}, False)
        else:
            a = ruby.args(node, self.src) if node.type == "call" else Args([], {}, False)
        if a.unresolved:
            raise UnparseableArguments
        if table_block is not None:
            a = Args([table_block.table, *a.positional], a.options, a.unresolved, a.splat)
        return Call(method, a, block, node.start_point[0] + 1, statement_source(node), table_block)

    def dispatch(self, node, name: str, block, line: int, source: str, table_block: TableBlock | None) -> None:
        from shipit.planning.rails.handlers import BLOCK_METHODS, HANDLERS

        if table_block is not None and table_block.handlers is not None:
            handler = table_block.handlers.get(name)
        else:
            key = BLOCK_METHODS.get(name) if table_block is not None else name
            handler = HANDLERS.get(key) if key else None
        if handler is None:
            self.unknown(node)
            return
        self.guard(node, lambda: handler(self, self.call_of(node, name, block, table_block)))

    def guard(self, node, run) -> None:
        """Arguments that are not literals make the statement unknown, never a guess."""
        try:
            run()
        except UnparseableArguments as e:
            self.unknown(node, str(e) or None)
        except (IndexError, KeyError):
            self.unknown(node)

    def inline(self, node, name: str) -> None:
        """A helper of the migration class that runs a tool: its body runs with the call's literal arguments."""
        if name in self.inlining:
            self.unknown(node, f"the helper `{name}` calls itself")
            return
        method = self.helpers[name]
        a = ruby.args(node, self.src) if node.type == "call" else Args([], {}, False)
        saved = dict(self.src.locals)
        params = method.child_by_field_name("parameters")
        positional = list(a.positional)
        for p in params.named_children if params is not None else ():
            pname = p.child_by_field_name("name")
            if p.type == "identifier":
                self.src.locals[text(p)] = positional.pop(0) if positional else Expr(text(p))
            elif p.type == "optional_parameter" and pname is not None:
                self.src.locals[text(pname)] = positional.pop(0) if positional else \
                    ruby.value(p.child_by_field_name("value"), self.src)
            elif p.type == "keyword_parameter" and pname is not None:
                given, default = a.options.get(text(pname)), p.child_by_field_name("value")
                self.src.locals[text(pname)] = given if text(pname) in a.options else \
                    (ruby.value(default, self.src) if default is not None else Expr(text(pname)))
        self.inlining.add(name)
        try:
            self.body(method.child_by_field_name("body"))
        finally:
            self.inlining.discard(name)
            self.src.locals = saved

    def table_body(self, table_block: TableBlock, block) -> None:
        if block is None:
            return
        self.blocks.append(table_block)
        try:
            self.body(block.child_by_field_name("body"))
        finally:
            self.blocks.pop()

    def unknown(self, node, note: str | None = None) -> None:
        self.ops.append(Operation(OpKind.UNKNOWN, None, note=note, line=node.start_point[0] + 1,
                                  source=statement_source(node)))

    def add(self, kind: OpKind, table: str | None, call: Call, **fields) -> None:
        self.ops.append(Operation(kind, table, line=call.line, source=call.source, **fields))


def _handlers() -> dict:
    from shipit.planning.rails.handlers import HANDLERS

    return HANDLERS


def identifiers(node) -> set[str]:
    out, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            out.add(text(n))
        stack.extend(n.named_children)
    return out


def runs_command(node) -> bool:
    """Does this subtree run a shell command (a subshell, `system`, `Open3.capture*`)?"""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "subshell":
            return True
        if n.type == "call":
            method = n.child_by_field_name("method")
            if method is not None and text(method) in COMMAND_METHODS:
                return True
        stack.extend(n.named_children)
    return False


def block_param(block) -> str | None:
    params = block.child_by_field_name("parameters")
    if params is None:
        return None
    names = [c for c in params.named_children if c.type == "identifier"]
    return text(names[0]) if names else None


def statement_source(node) -> str:
    """The statement's first line: enough to find and recognise it."""
    first = text(node).splitlines()
    return first[0].strip() if first else ""
