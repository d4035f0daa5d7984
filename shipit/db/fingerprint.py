"""Normalised query fingerprints, so "many threads stuck on one query" shows up as one group with a count.

A port of pt-query-digest's fingerprint (`percona-toolkit:lib/QueryRewriter.pm`): literals become `?`, comments and
whitespace fold, IN/VALUES lists collapse, numbers inside identifiers are abstracted (`users_2009` = `users_2010`).
Done in Python because MariaDB has no STATEMENT_DIGEST_TEXT() and MySQL's errors on truncated processlist text.
A fingerprint carries no literal values, so it is also the safe way to show a statement.
"""

from __future__ import annotations

import re

_MYSQLDUMP = re.compile(r"\ASELECT /\*!40001 SQL_NO_CACHE \*/ \* FROM `")
_PERCONA = re.compile(r"/\*\w+\.\w+:[0-9]/[0-9]\*/")
_CALL = re.compile(r"\A\s*(call\s+\S+)\(", re.IGNORECASE)
_MULTI_INSERT = re.compile(r"\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(", re.IGNORECASE | re.DOTALL)
_ML_COMMENT = re.compile(r"/\*[^!].*?\*/", re.DOTALL)
_OL_COMMENT = re.compile(r"(?:--|#)[^'\"\r\n]*(?=[\r\n]|\Z)")
_USE = re.compile(r"\Ause \S+\Z", re.IGNORECASE)
_ESCAPED_QUOTE = re.compile(r"\\[\"']")
_DQ_STRING = re.compile(r'".*?"', re.DOTALL)
_SQ_STRING = re.compile(r"'.*?'", re.DOTALL)
_BOOL = re.compile(r"\bfalse\b|\btrue\b", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9+-][0-9a-f.xb+-]*")
_LEFTOVER = re.compile(r"[xb.+-]\?")
_SPACE = re.compile(r"[ \n\t\r\f]+")
_NULL = re.compile(r"\bnull\b")
_IN_LIST = re.compile(r"\b(in|values?)(?:[\s,]*\([\s?,]*\))+")
_UNION = re.compile(r"\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+")
_LIMIT = re.compile(r"\blimit \?(?:, ?\?| offset \?)?")
_ORDER_BY = re.compile(r"\border by ", re.IGNORECASE)
_ASC = re.compile(r"\s+asc\b", re.IGNORECASE)


def fingerprint(sql: str) -> str:
    """The statement's shape with every literal replaced by `?`, lowercased and whitespace-folded."""
    q = sql or ""
    if _MYSQLDUMP.match(q):
        return "mysqldump"
    if _PERCONA.search(q):
        return "percona-toolkit"
    if q.startswith("administrator command: "):
        return q
    m = _CALL.match(q)
    if m:
        return m.group(1).lower()
    m = _MULTI_INSERT.match(q)
    if m:
        q = m.group(1)
    q = _ML_COMMENT.sub("", q)
    q = _OL_COMMENT.sub("", q)
    if _USE.match(q.strip()):
        return "use ?"
    q = _ESCAPED_QUOTE.sub("", q)
    q = _DQ_STRING.sub("?", q)
    q = _SQ_STRING.sub("?", q)
    q = _BOOL.sub("?", q)
    q = _NUMBER.sub("?", q)
    q = _LEFTOVER.sub("?", q)
    q = _SPACE.sub(" ", q.strip()).lower()
    q = _NULL.sub("?", q)
    q = _IN_LIST.sub(lambda m: f"{m.group(1)}(?+)", q)
    q = _UNION.sub(lambda m: f"{m.group(1)} /*repeat{m.group(2)}*/", q)
    q = _LIMIT.sub("limit ?", q, count=1)
    m = _ORDER_BY.search(q)
    if m:
        q = q[: m.end()] + _ASC.sub("", q[m.end():])
    return q
