"""Scrub secrets from anything shipit prints, logs or stores.

Two nets: known secret values (registered when configuration interpolates `${VAR}`, a client reads a token, or the
migration's Secret-backed env vars are read), and patterns that look like credentials in any syntax a failing
program prints: a password in a URL, a bearer or basic token, `password=`, `"password": "..."`, Ruby's
`{:password=>"..."}`, `"password"=>"..."`, `password: "..."`, and PEM private key blocks. Every output path (terminal,
logs, step summary, release records, annotations) goes through `redact`.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
# Shorter registered values are ignored: "shop", "3306", "true" match names, ports and words in unrelated output
# and would turn it into asterisks, while such a value is guessable anyway; the patterns still mask it in URLs and
# key=value syntaxes.
MIN_SECRET_LENGTH = 6
_lock = threading.Lock()
_secrets: set[str] = set()

# Key names whose value is a credential; a prefix or suffix is allowed (DB_PASSWORD, aws_secret_access_key).
_KEY_WORDS = r"password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?"
_KEY = rf"[A-Za-z0-9_.-]*?(?:{_KEY_WORDS})[A-Za-z0-9_]*"
# Structural field names that contain a key word but hold no secret (Kubernetes' secretKeyRef, secretName, ...).
_NOT_SECRET_KEY = re.compile(r"(?:ref|name|names|file|path|count|type|expires_at|expiry)$", re.IGNORECASE)
# `=`, `:`, Ruby's `=>`, with the key optionally quoted, a Ruby symbol, or JSON escaped inside a string.
_SEP = r"\\?[\"']?\s*(?:=>|=|:)\s*"

_HAS_KEY_WORD = re.compile(_KEY_WORDS, re.IGNORECASE).search

# Each pattern with a test its matches need: text failing the cheap scan cannot match the costly pattern.
_PATTERNS = (
    # PEM private key blocks, also when the output was cut before the END line
    (lambda text: "PRIVATE KEY-----" in text,
     re.compile(r"(?P<pre>-----BEGIN [A-Z ]*PRIVATE KEY-----)(?P<secret>.*?)(?P<post>-----END [A-Z ]*PRIVATE KEY-----|\Z)",
                re.DOTALL)),
    # scheme://user:password@host (the last @ before the path: an unencoded @ in the password stays masked)
    (lambda text: "://" in text,
     re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^\s/]+)(?P<post>@[^@\s/]*)")),
    (lambda text: "earer" in text or "asic" in text,
     re.compile(r"(?P<pre>\b(?:[Bb]earer|[Bb]asic)\s+)(?P<secret>[A-Za-z0-9._~+/=-]{8,})(?P<post>)")),
    # key: "value" (JSON, Ruby, YAML), also escaped JSON inside a string
    (_HAS_KEY_WORD,
     re.compile(rf"(?P<pre>(?P<key>{_KEY}){_SEP}\\?\")(?P<secret>(?:[^\"\\]|\\[^\"])*)(?P<post>\\?\")", re.IGNORECASE)),
    (_HAS_KEY_WORD, re.compile(rf"(?P<pre>(?P<key>{_KEY}){_SEP}')(?P<secret>(?:[^'\\]|\\.)*)(?P<post>')", re.IGNORECASE)),
    # key=value, key: value, :key=>value (unquoted); MySQL's "(using password: YES)" is not a secret
    (_HAS_KEY_WORD,
     re.compile(rf"(?P<pre>(?P<key>{_KEY}){_SEP})(?![>=])(?!(?:YES|NO)\))(?!(?:ENV|nil|null|None|true|false)\b)(?P<secret>[^\s\"'\\,;&}}\]\)]+)(?P<post>)",
                re.IGNORECASE)),
)


# A PEM block printed line by line (a log tail, a live view) is redacted one line at a time: each thread remembers
# that it is inside a block until the END line or a line that is not key material.
_pem_state = threading.local()
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")
_PEM_BODY = re.compile(r"^(?P<prefix>.*?)(?P<body>[A-Za-z0-9+/=]{8,}|[A-Za-z-]+: \S.*)\s*$")


def _mask_pem_lines(text: str) -> str:
    inside = getattr(_pem_state, "inside", False)
    if not inside and "PRIVATE KEY-----" not in text:
        return text
    out = []
    for line in text.split("\n"):
        if inside:
            body = _PEM_BODY.match(line)
            if _PEM_END.search(line):
                inside = False
                out.append(line)
            elif body is not None or not line.strip():
                out.append(f"{body.group('prefix')}{MASK}" if body is not None else line)
            else:
                inside = False
                out.append(line)
            continue
        begin = _PEM_BEGIN.search(line)
        if begin is not None and not _PEM_END.search(line, begin.end()):
            inside = True
            out.append(line[: begin.end()] + (f" {MASK}" if line[begin.end():].strip() else ""))
        else:
            out.append(line)
    _pem_state.inside = inside
    return "\n".join(out)


def register_secret(value: str | None) -> None:
    """Never print `value` for the rest of the process: raw, percent-encoded (path and form style), each line of a
    multi-line value (a PEM key printed line by line), and for a URL with credentials its password, encoded or not."""
    if not value:
        return
    found = {value, unquote(value), quote(value, safe=""), quote_plus(value)}
    found |= {line.strip() for line in value.splitlines() if not line.lstrip().startswith("-----")}
    try:
        password = urlsplit(value).password if "://" in value else None
    except ValueError:
        password = None
    if password:
        found |= {password, unquote(password), quote(unquote(password), safe="")}
    with _lock:
        _secrets.update(s for s in found if len(s) >= MIN_SECRET_LENGTH)


def _mask(m: re.Match[str]) -> str:
    key = m.groupdict().get("key")
    if key and _NOT_SECRET_KEY.search(key):
        return m.group(0)
    if m.group("secret") in ("", MASK):
        return m.group(0)
    return f"{m.group('pre')}{MASK}{m.group('post')}"


def redact(text: str) -> str:
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    for may_match, pattern in _PATTERNS:
        if may_match(text):
            text = pattern.sub(_mask, text)
    return _mask_pem_lines(text)


def redact_value(value: object) -> object:
    """Redact strings (keys and values) inside JSON-like structures, leaving their shape intact; a value under a
    credential-named key is masked whole."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out = {k: _redact_entry(k, v) for k, v in value.items()}
        name = value.get("name")
        if isinstance(name, str) and isinstance(value.get("value"), str) and _is_secret_key(name):
            out["value"] = MASK  # a container env var: {"name": "DB_PASSWORD", "value": "..."}
        return out
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


_KEY_ONLY = re.compile(rf"^{_KEY}$", re.IGNORECASE)


def _is_secret_key(key: str) -> bool:
    return bool(_KEY_ONLY.match(key)) and not _NOT_SECRET_KEY.search(key)


def _redact_entry(key: object, value: object) -> object:
    if isinstance(key, str) and isinstance(value, str) and value and _is_secret_key(key):
        return MASK
    return redact_value(value)
