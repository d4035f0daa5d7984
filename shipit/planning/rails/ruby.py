"""Ruby values as Python, read from the tree-sitter syntax tree without running Ruby.

Literals become str (symbols and strings), list, dict, bool, None and numbers; anything computed becomes `Expr`
carrying its source, so a caller can tell "this is nil" from "this is something we cannot see".
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any

_PARSER = None


def parser():
    global _PARSER
    if _PARSER is None:
        import tree_sitter_ruby
        from tree_sitter import Language, Parser

        _PARSER = Parser(Language(tree_sitter_ruby.language()))
    return _PARSER


HOLE = "\x00"  # stands for an interpolation whose value is not a literal


@dataclass(frozen=True)
class Expr:
    """A Ruby expression the parser does not evaluate (a variable, a method call, interpolation). An interpolated
    string or command keeps its `template`: the literal parts, with `HOLE` where a value is not known."""

    text: str
    template: str | None = None


class Source:
    """Per-file state: heredoc bodies are siblings of their call in the tree, so pair them up front; local
    variables and class constants assigned a literal (`INDEX_NAME = "..."`) resolve to it."""

    def __init__(self, root):
        self.heredocs: dict[int, str] = {}
        self.locals: dict[str, Any] = {}
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
            body_text = text(body)
            end = body.children[-1] if body.children and body.children[-1].type == "heredoc_end" else None
            if end is not None:
                body_text = body_text[: end.start_byte - body.start_byte]
            body_text = re.sub(r"\n[ \t]*$", "", body_text.lstrip("\n"))  # the closing marker's indentation
            if text(begin).startswith("<<~"):
                body_text = textwrap.dedent(body_text)
            self.heredocs[begin.start_byte] = body_text.strip("\n")


def text(node) -> str:
    return node.text.decode()


def value(node, src: Source) -> Any:
    """A Ruby literal as Python: str for symbols and strings, list, dict, bool, None, numbers; else `Expr`."""
    t = node.type
    if t == "simple_symbol":
        return text(node)[1:]
    if t in ("string", "delimited_symbol", "bare_string", "bare_symbol", "subshell", "chained_string"):
        template = _template(node, src)
        return template if HOLE not in template and t != "subshell" else Expr(text(node), template)
    if t in ("array", "symbol_array", "string_array"):
        items = [value(c, src) for c in node.named_children]
        return Expr(text(node)) if any(isinstance(i, Expr) for i in items) else items
    if t == "hash":
        out = {}
        for pair in node.named_children:
            if pair.type != "pair":
                return Expr(text(node))
            k = key(pair.child_by_field_name("key"), src)
            if k is None:
                return Expr(text(node))
            out[k] = value(pair.child_by_field_name("value"), src)
        return out
    if t == "true":
        return True
    if t == "false":
        return False
    if t == "nil":
        return None
    if t == "integer":
        try:
            return int(text(node).replace("_", ""), 0)
        except ValueError:
            return Expr(text(node))
    if t == "float":
        return float(text(node).replace("_", ""))
    if t == "heredoc_beginning":
        return src.heredocs.get(node.start_byte, Expr(text(node)))
    if t == "parenthesized_statements" and node.named_child_count == 1:
        return value(node.named_children[0], src)
    if t in ("identifier", "constant") and text(node) in src.locals:
        return src.locals[text(node)]
    if t == "binary" and node.child_by_field_name("operator") is not None and \
            text(node.child_by_field_name("operator")) == "%":
        return _format(node, src)
    if t == "call" and text(node) in src.locals:  # `m.name` inside an LHM block
        return src.locals[text(node)]
    if t == "call":
        # `<<~SQL.squish`, "...".strip: string post-processing that does not change what the SQL means.
        method = node.child_by_field_name("method")
        receiver = node.child_by_field_name("receiver")
        if receiver is not None and method is not None and text(method) in ("squish", "strip", "strip_heredoc"):
            inner = value(receiver, src)
            if isinstance(inner, str):
                return " ".join(inner.split()) if text(method) == "squish" else inner.strip()
    return Expr(text(node))


def _template(node, src: Source) -> str:
    """A string's text, each interpolation replaced by its literal value or by `HOLE`."""
    parts = []
    for c in node.children:
        if c.type == "string":  # "a " "b": adjacent literals are one string
            parts.append(_template(c, src))
        elif c.type in ("string_content", "escape_sequence"):
            parts.append(_unescape(c))
        elif c.type == "interpolation":
            inner = value(c.named_children[0], src) if c.named_child_count == 1 else None
            parts.append(str(inner) if isinstance(inner, (str, int, float)) else HOLE)
    return "".join(parts)


def _format(node, src: Source) -> Any:
    """`"ALTER TABLE %s ..." % m.name`: Ruby's format with `%s` only."""
    fmt, arg = value(node.child_by_field_name("left"), src), value(node.child_by_field_name("right"), src)
    args = arg if isinstance(arg, list) else [arg]
    if isinstance(fmt, str) and all(isinstance(a, str) for a in args) and \
            re.fullmatch(r"(?:[^%]|%s|%%)*", fmt) and fmt.count("%s") == len(args):
        return fmt % tuple(args)
    return Expr(text(node))


def _unescape(node) -> str:
    raw = text(node)
    if node.type == "escape_sequence":
        return {"\\n": "\n", "\\t": "\t", '\\"': '"', "\\'": "'", "\\\\": "\\"}.get(raw, raw)
    return raw


def key(node, src: Source) -> str | None:
    if node.type == "hash_key_symbol":
        return text(node)
    v = value(node, src)
    return v if isinstance(v, str) else None


@dataclass
class Args:
    positional: list[Any]
    options: dict[str, Any]
    unresolved: bool  # a hash splat, block argument or computed option key we cannot see through
    splat: bool = False  # a `*list` positional: the count of values is unknown


def args(call, src: Source) -> Args:
    node = call.child_by_field_name("arguments")
    out = Args([], {}, False)
    if node is None:
        return out
    for child in node.named_children:
        if child.type == "pair":
            k = key(child.child_by_field_name("key"), src)
            if k is None:
                out.unresolved = True
                continue
            out.options[k] = value(child.child_by_field_name("value"), src)
        elif child.type == "splat_argument":
            inner = value(child.named_children[0], src) if child.named_children else None
            if isinstance(inner, list):  # `*%i[a b]` or a local bound to a literal list
                out.positional.extend(inner)
            else:
                out.splat = True
                out.positional.append(Expr(text(child)))
        elif child.type == "block_argument":
            out.options["&"] = value(child.named_children[0], src) if child.named_children else None
        elif child.type == "hash_splat_argument":
            out.unresolved = True
        elif child.type == "comment":
            continue
        else:
            out.positional.append(value(child, src))
    return out
