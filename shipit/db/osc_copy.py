"""How far an online schema change tool's row copy has got, from the copy statement in the processlist.

gh-ost, pt-online-schema-change and LHM copy the original table into the shadow table in ranges of its primary key
(`INSERT ... SELECT ... WHERE id >= a AND id <= b`), in key order. So the range's upper bound set against the
table's lowest and highest key is the share copied, without the tool's log. Pure: the statement parser and the
arithmetic; the one MIN/MAX read per poll is the DDL watcher's.
"""

from __future__ import annotations

import dataclasses
import re

_NAME = r"`((?:[^`]|``)+)`|([A-Za-z_$][\w$]*)"
_QNAME = rf"(?:(?:{_NAME})\s*\.\s*)?(?:{_NAME})"
_INSERT_SELECT = re.compile(r"\A\s*(?:/\*.*?\*/\s*)*INSERT\b.*?\bSELECT\b", re.IGNORECASE | re.DOTALL)
_FROM = re.compile(rf"\bFROM\s+{_QNAME}", re.IGNORECASE)
_WHERE = re.compile(r"\bWHERE\b", re.IGNORECASE)
# a literal as the tools send it: gh-ost's driver interpolates raw bytes as _binary'41000'
_VALUE = r"((?:_\w+\s*)?'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\?)"
# a key column (qualified or not) compared with a value, or the BETWEEN of LHM's chunks
_COMPARE = re.compile(rf"(?:(?:`(?:[^`]|``)+`|[\w$]+)\s*\.\s*)?`((?:[^`]|``)+)`\s*(<=|>=|<|>|=)\s*{_VALUE}")
_BETWEEN = re.compile(rf"(?:(?:`(?:[^`]|``)+`|[\w$]+)\s*\.\s*)?`((?:[^`]|``)+)`\s+BETWEEN\s+{_VALUE}\s+AND\s+{_VALUE}",
                      re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class CopyChunk:
    """One copy statement's range: the original table, its key column and the range's upper bound."""

    schema: str | None  # None when the statement does not name it (LHM): the connection's database
    table: str
    column: str
    upper: int

    def bounds_sql(self, schema: str) -> str:
        """The table's lowest and highest key: two index dives, whatever the table's size."""
        def q(name: str) -> str:
            return "`" + name.replace("`", "``") + "`"
        return (f"SELECT MIN({q(self.column)}) AS lo, MAX({q(self.column)}) AS hi "
                f"FROM {q(schema)}.{q(self.table)}")


def _name(quoted: str | None, bare: str | None) -> str | None:
    if quoted is not None:
        return quoted.replace("``", "`")
    return bare


def _integer(value: str) -> int | None:
    text = value[value.index("'") + 1:-1] if value.endswith("'") else value
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def parse_copy_chunk(statement: str) -> CopyChunk | None:
    """The range of a tool's `INSERT ... SELECT ... FROM <table> WHERE <key range>` copy statement, or None when it is
    not one, when the key has more than one column, or when the bounds are not integers."""
    if not statement or not _INSERT_SELECT.match(statement):
        return None
    source = _FROM.search(statement)
    if source is None:
        return None
    schema, table = _name(source.group(1), source.group(2)), _name(source.group(3), source.group(4))
    where = _WHERE.search(statement, source.end())
    if where is None or table is None:
        return None
    clause = statement[where.end():]
    columns: set[str] = set()
    uppers: list[int | None] = []
    for m in _BETWEEN.finditer(clause):
        columns.add(m.group(1))
        uppers.append(_integer(m.group(3)))
    clause = _BETWEEN.sub(" ", clause)
    for m in _COMPARE.finditer(clause):
        columns.add(m.group(1))
        if m.group(2) in ("<", "<="):
            uppers.append(_integer(m.group(3)))
        elif _integer(m.group(3)) is None:
            return None  # a string or unsubstituted key: no arithmetic on it
    if len(columns) != 1 or not uppers or any(u is None for u in uppers):
        return None
    return CopyChunk(schema, table, columns.pop().replace("``", "`"), max(u for u in uppers if u is not None))


def copied_pct(chunk: CopyChunk, low: int | None, high: int | None) -> float | None:
    """The share of the key range copied once this chunk is in, 0-100; None for an empty or one-row table."""
    if low is None or high is None or high <= low:
        return None
    return max(0.0, min(100.0, 100.0 * (chunk.upper - low) / (high - low)))
