"""Read a Rails migration file into a `ParsedMigration`, without running Ruby.

The parse is syntactic (tree-sitter-ruby), so shipit can plan a release before anything touches a server.
Statements in the class body run when Rails loads the file, before `change`/`up`, so they are operations too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from shipit.planning.rails import keys as _keys  # noqa: F401  (registers its handlers)
from shipit.planning.rails import osc as _osc  # noqa: F401  (registers its handlers)
from shipit.planning.rails.naming import LEGACY, camelize
from shipit.planning.rails.operations import Direction, ParsedMigration
from shipit.planning.rails.ruby import Source, parser, text
from shipit.planning.rails.walker import Walk, runs_command

_FILENAME = re.compile(r"^(\d+)_([a-z0-9_]+?)(?:\.[a-z0-9_]+)?\.rb$")
# Class-body statements that only configure the migration.
_CLASS_SETTINGS = frozenset({"disable_ddl_transaction!"})
_MIGRATING = frozenset({"change", "up", "down"})


def parse_migration(source: bytes | str, path: str = "", acronyms: Iterable[str] = ()) -> ParsedMigration:
    data = source.encode() if isinstance(source, str) else source
    tree = parser().parse(data)
    src = Source(tree.root_node)
    warnings: list[str] = []
    error = None
    if tree.root_node.has_error:
        error = f"Ruby syntax error {_error_span(tree.root_node)}: Rails cannot load this file"

    match = _FILENAME.match(os.path.basename(path))
    version = match.group(1) if match else ""
    expected_class = camelize(match.group(2), acronyms) if match else None

    klass = _migration_class(tree.root_node)
    if klass is None:
        return ParsedMigration(version, expected_class or "", path, None, (), Direction.NONE.value, False, False,
                               tuple(warnings), error or "no migration class (a subclass of ActiveRecord::Migration) "
                                                          "in the file")
    name = text(klass.child_by_field_name("name")).split("::")[-1]
    superclass_text, superclass_version = _superclass(klass)
    if expected_class and name != expected_class and error is None:
        if name.lower() == expected_class.lower():  # an acronym defined somewhere shipit did not read
            warnings.append(f"class {name} differs from the file name only in case: Rails expects {expected_class} "
                            f"unless an inflection acronym (config/initializers/inflections.rb) makes it {name}")
        else:
            error = f"class {name} does not match the file name: Rails expects {expected_class} and fails with NameError"
    versionless = superclass_text.startswith("ActiveRecord::Migration") and superclass_version is None

    methods: dict[str, Any] = {}
    disable_tx = False
    walk = Walk(src, LEGACY if versionless else _version_tuple(superclass_version))
    body = klass.child_by_field_name("body")
    for stmt in body.named_children if body is not None else ():
        if stmt.type == "method":
            methods[text(stmt.child_by_field_name("name"))] = stmt
        elif stmt.type == "singleton_method":  # Rails 3 style `def self.up`
            methods.setdefault(text(stmt.child_by_field_name("name")), stmt)
        elif stmt.type == "call" and stmt.child_by_field_name("receiver") is None and \
                text(stmt.child_by_field_name("method")) in _CLASS_SETTINGS:
            disable_tx = True
        elif stmt.type == "assignment":  # a constant: later arguments may name it
            walk.assignment(stmt)
        elif stmt.type not in ("class", "module"):  # model classes load, change nothing
            walk.statement(stmt)

    walk.helpers = {n: m for n, m in methods.items() if n not in _MIGRATING and runs_command(m)}
    direction = Direction.CHANGE if "change" in methods else (Direction.UP if "up" in methods else Direction.NONE)
    if direction is Direction.NONE and not walk.ops:
        warnings.append("no `change` or `up` method: the migration does nothing")
    elif direction is not Direction.NONE:
        walk.body(methods[direction.value].child_by_field_name("body"))
    return ParsedMigration(
        version=version,
        name=name,
        path=path,
        superclass_version=superclass_version,
        operations=tuple(walk.ops),
        direction=direction.value,
        has_down="down" in methods,
        disable_ddl_transaction=disable_tx,
        warnings=tuple(warnings + walk.warnings),
        error=error,
        versionless=versionless,
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
            if superclass is not None and "Migration" in text(superclass):
                return node
        if node.type in ("program", "module", "body_statement", "class"):
            stack.extend(node.named_children)
    return first_class


def _superclass(klass) -> tuple[str, str | None]:
    node = klass.child_by_field_name("superclass")
    if node is None:
        return "", None
    sup = text(node).lstrip("<").strip()
    ref = next((c for c in node.named_children), None)
    if ref is not None and ref.type == "element_reference" and sup.startswith("ActiveRecord::Migration"):
        items = [c for c in ref.named_children if c.type in ("float", "integer", "string")]
        if items:
            return sup, text(items[0]).strip("'\"")
    return sup, None


def _version_tuple(version: str | None) -> tuple[int, int] | None:
    if not version:
        return None
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
