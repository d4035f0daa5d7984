"""Handlers for indexes, references, foreign keys, check constraints and raw SQL (registered in `handlers`).

Names are predicted with the migration's own version (`naming`), so the schema-ready gate looks for the objects
this Rails will really create, and a name Rails refuses becomes the statement's `failure`.
"""

from __future__ import annotations

import re
from typing import Any

from shipit.planning.rails import alter, naming
from shipit.planning.rails.alter import UnreadableSql
from shipit.planning.rails.handlers import bool_opt, columns_of, handles, name, no_create, opt_name, type_of
from shipit.planning.rails.naming import at_least
from shipit.planning.rails.operations import OpKind
from shipit.planning.rails.ruby import Expr
from shipit.planning.rails.walker import Call, UnparseableArguments, Walk

_INDEX_TYPES = ("fulltext", "spatial")


def _lengths(opts: dict, columns: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """`length: 10` (every column) or `length: {col: 10}`: a prefix index compares only that many characters."""
    length = opts.get("length")
    if length is None:
        return ()
    if isinstance(length, int):
        return tuple((c, length) for c in columns)
    if isinstance(length, dict) and all(isinstance(v, int) for v in length.values()):
        return tuple((c, length[c]) for c in columns if c in length)
    raise UnparseableArguments


def _index_name(w: Walk, table: str, columns: tuple[str, ...], given: Any) -> tuple[str, str | None]:
    if given is not None and not isinstance(given, str):
        raise UnparseableArguments
    if given is None and len(columns) == 1 and not columns[0].replace("_", "").isalnum():
        # an expression index: Rails names it from the words in the expression (7.0) or refuses (7.1+ needs name:)
        columns = ("_".join(re.findall(r"\w+", columns[0])),)
    chosen = given or naming.index_name(table, columns, w.version)
    failure = None if (given is None and at_least(w.version, 7, 1)) else naming.index_name_failure(chosen, table)
    return chosen, failure


@handles("add_index", block=("index",))
def add_index(w: Walk, call: Call) -> None:
    a = call.args
    table = name(a.positional[0])
    columns = columns_of(a.positional[1])
    opts = a.options
    index_name, failure = _index_name(w, table, columns, opts.get("name"))
    algorithm = opt_name(opts, "algorithm")
    if algorithm == "concurrently":
        failure = ("`algorithm: :concurrently` is PostgreSQL-only: the MySQL adapter raises ArgumentError "
                   "(\"Algorithm must be one of: default, copy, inplace, instant\")")
    index_type = opt_name(opts, "type")
    w.add(OpKind.ADD_INDEX, table, call, columns=columns, unique=bool(opts.get("unique")), name=index_name,
          algorithm=algorithm, index_type=index_type if index_type in _INDEX_TYPES else None,
          lengths=_lengths(opts, columns), idempotent=bool(opts.get("if_not_exists")), failure=failure)


@handles("remove_index", block=("remove_index",))
def remove_index(w: Walk, call: Call) -> None:
    no_create(call)
    a = call.args
    table = name(a.positional[0])
    opts = a.options
    given = a.positional[1] if len(a.positional) > 1 else opts.get("column")
    columns = columns_of(given) if given is not None else ()
    index_name = opts.get("name")
    if index_name is not None and not isinstance(index_name, str):
        raise UnparseableArguments
    if not columns and index_name is None:
        raise UnparseableArguments
    algorithm = opt_name(opts, "algorithm")
    failure = ("`algorithm: :concurrently` is PostgreSQL-only: the MySQL adapter raises ArgumentError"
               if algorithm == "concurrently" else None)
    w.add(OpKind.REMOVE_INDEX, table, call, columns=columns,
          name=index_name or naming.index_name(table, columns, w.version), algorithm=algorithm,
          idempotent=bool(opts.get("if_exists")), failure=failure)


@handles("rename_index", block=("rename_index",))
def rename_index(w: Walk, call: Call) -> None:
    no_create(call)
    table, old, new = (name(p) for p in call.args.positional[:3])
    w.add(OpKind.RENAME_INDEX, table, call, name=old, new_name=new,
          failure=naming.index_name_failure(new, table))


@handles("add_reference", "add_belongs_to", block=("references", "belongs_to"))
def add_reference(w: Walk, call: Call) -> None:
    a = call.args
    table = name(a.positional[0])
    for ref in a.positional[1:]:
        columns = _reference(w, call, table, name(ref), a.options)
        if call.creating:
            call.table_block.columns.extend(columns)


def _reference(w: Walk, call: Call, table: str, ref: str, opts: dict) -> tuple[str, ...]:
    polymorphic = bool(opts.get("polymorphic"))
    column = f"{ref}_id"
    columns = (f"{ref}_type", column) if polymorphic else (column,)
    # Rails 4.2 references have no index unless asked; 5.0 made the index the default.
    index_opt = opts.get("index", at_least(w.version, 5, 0))
    indexed = index_opt is not False and index_opt is not None
    unique = isinstance(index_opt, dict) and bool(index_opt.get("unique"))
    given = index_opt.get("name") if isinstance(index_opt, dict) else None
    index_name, failure = None, None
    if indexed:
        if given is not None:
            index_name, failure = _index_name(w, table, columns, given)
        else:
            index_name = naming.reference_index_name(table, ref, columns, w.version)
            if not at_least(w.version, 7, 1):
                failure = naming.index_name_failure(index_name, table)
    fk = opts.get("foreign_key", False)
    to_table = primary_key = None
    if fk:
        if isinstance(fk, dict):
            to_table = name(fk["to_table"]) if "to_table" in fk else naming.pluralize(ref)
            primary_key = name(fk["primary_key"]) if "primary_key" in fk else None
        elif fk is True:
            to_table = naming.pluralize(ref)
        else:
            raise UnparseableArguments
        if polymorphic:
            failure = "Rails raises: a polymorphic reference cannot have a foreign key"
    w.add(OpKind.ADD_REFERENCE, table, call, columns=columns, column=column, name=index_name,
          unique=unique or None, index=indexed, foreign_key=bool(fk), to_table=to_table,
          primary_key=primary_key or ("id" if fk else None), null=bool_opt(opts, "null"),
          column_type=type_of(opts.get("type")), idempotent=bool(opts.get("if_not_exists")), failure=failure)
    return columns


@handles("remove_reference", "remove_belongs_to", block=("remove_references", "remove_belongs_to"))
def remove_reference(w: Walk, call: Call) -> None:
    no_create(call)
    a = call.args
    table = name(a.positional[0])
    for ref in (name(r) for r in a.positional[1:]):
        columns = (f"{ref}_type", f"{ref}_id") if a.options.get("polymorphic") else (f"{ref}_id",)
        fk = a.options.get("foreign_key")
        if fk:
            to_table = name(fk["to_table"]) if isinstance(fk, dict) and "to_table" in fk else naming.pluralize(ref)
            w.add(OpKind.REMOVE_FOREIGN_KEY, table, call, columns=(f"{ref}_id",), column=f"{ref}_id",
                  to_table=to_table, name=naming.foreign_key_name(table, f"{ref}_id"))
        w.add(OpKind.REMOVE_COLUMN, table, call, columns=columns, column=f"{ref}_id")


@handles("add_foreign_key", block=("foreign_key",))
def add_foreign_key(w: Walk, call: Call) -> None:
    a = call.args
    from_table = name(a.positional[0])
    to_table = name(a.positional[1])
    opts = a.options
    primary_key = name(opts["primary_key"]) if "primary_key" in opts else "id"
    if "column" in opts:
        column = name(opts["column"])
    elif at_least(w.version, 7, 1):
        column = f"{naming.singularize(to_table)}_{primary_key}"
    else:
        column = f"{naming.singularize(to_table)}_id"
    given = opts.get("name")
    if given is not None and not isinstance(given, str):
        raise UnparseableArguments
    w.add(OpKind.ADD_FOREIGN_KEY, from_table, call, columns=(column,), column=column, to_table=to_table,
          primary_key=primary_key, name=given or naming.foreign_key_name(from_table, column),
          idempotent=bool(opts.get("if_not_exists")))


@handles("remove_foreign_key", block=("remove_foreign_key",))
def remove_foreign_key(w: Walk, call: Call) -> None:
    no_create(call)
    a = call.args
    from_table = name(a.positional[0])
    opts = a.options
    to_table = name(a.positional[1]) if len(a.positional) > 1 else opt_name(opts, "to_table")
    column = name(opts["column"]) if "column" in opts else (f"{naming.singularize(to_table)}_id" if to_table else None)
    given = opts.get("name")
    if given is not None and not isinstance(given, str):
        raise UnparseableArguments
    if given is None and column is None:
        raise UnparseableArguments
    w.add(OpKind.REMOVE_FOREIGN_KEY, from_table, call, columns=(column,) if column else (), column=column,
          to_table=to_table, name=given or naming.foreign_key_name(from_table, column),
          idempotent=bool(opts.get("if_exists")))


@handles("add_check_constraint", block=("check_constraint",))
def add_check_constraint(w: Walk, call: Call) -> None:
    a = call.args
    table, expression = name(a.positional[0]), name(a.positional[1])
    given = opt_name(a.options, "name")
    validate = a.options.get("validate", True)
    w.add(OpKind.ADD_CHECK_CONSTRAINT, table, call, sql=expression,
          name=given or naming.check_constraint_name(table, expression), idempotent=bool(a.options.get("if_not_exists")),
          note=None if validate is not False else "validate: false")


@handles("remove_check_constraint", block=("remove_check_constraint",))
def remove_check_constraint(w: Walk, call: Call) -> None:
    no_create(call)
    a = call.args
    table = name(a.positional[0])
    expression = a.positional[1] if len(a.positional) > 1 else None
    given = opt_name(a.options, "name")
    if given is None and not isinstance(expression, str):
        raise UnparseableArguments
    w.add(OpKind.REMOVE_CHECK_CONSTRAINT, table, call, sql=expression if isinstance(expression, str) else None,
          name=given or naming.check_constraint_name(table, expression))


@handles("execute")
def execute(w: Walk, call: Call) -> None:
    """DDL that `alter` reads whole plans as the operations it applies; any other SQL stays raw."""
    sql = call.args.positional[0] if call.args.positional else None
    if isinstance(sql, str):
        try:
            table, specs = alter.statement(sql)
        except UnreadableSql:
            pass
        else:
            for spec in specs:
                w.add(spec.kind, table, call, **spec.fields)
            return
    text_sql = sql.text if isinstance(sql, Expr) else sql
    w.add(OpKind.EXECUTE, None, call, sql=text_sql)
