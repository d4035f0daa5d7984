"""Scrub secrets from anything shipit prints or logs.

Two nets: known secret values (registered when configuration interpolates `${VAR}` or a client reads a token), and
patterns that look like credentials (a password in a URL, a bearer token, `password=`/`token=` pairs). Every output
path goes through `redact`, so a secret that reaches an exception message still does not reach the terminal.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()

_PATTERNS = (
    # scheme://user:password@host
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s/]+)(?P<post>@)"), MASK),
    (re.compile(r"(?P<pre>\b[Bb]earer\s+)(?P<secret>[A-Za-z0-9._~+/=-]{8,})(?P<post>)"), MASK),
    (
        re.compile(
            r"(?P<pre>\b(?:password|passwd|pwd|token|secret|api[_-]?key)[\"']?\s*[=:]\s*[\"']?)"
            r"(?P<secret>[^\s\"',;&}]+)(?P<post>)",
            re.IGNORECASE,
        ),
        MASK,
    ),
)


def register_secret(value: str | None) -> None:
    """Never print `value`. Very short values are ignored: masking `a` everywhere would garble output."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    for pattern, mask in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group('pre')}{mask}{m.group('post')}", text)
    return text


def redact_value(value: object) -> object:
    """Redact strings inside JSON-like structures, leaving their shape intact."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value
