"""Value checks for the configuration file: each converts one YAML value or raises ValueError saying what is
expected. The loader adds the key and line. Checks mirror what the commands using a value would reject, so `validate`
and `release` agree."""

from __future__ import annotations

import re
import shlex
from typing import Any, Callable
from urllib.parse import urlsplit

from shipit.core import redact
from shipit.core.errors import BadInput

# A Kubernetes label value: app names label every object shipit creates.
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")


def text(v: Any) -> str:
    if isinstance(v, (dict, list)) or isinstance(v, bool):
        raise ValueError(f"expected a string, got {v!r}")
    s = str(v)
    if not s:
        raise ValueError("must not be empty")
    return s


def whole_number(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"expected a whole number, got {v!r}")
    if v < 0:
        raise ValueError(f"must not be negative, got {v}")
    return v


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def command(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        parts = tuple(shlex.split(v))
    elif isinstance(v, list) and all(isinstance(p, (str, int)) for p in v):
        parts = tuple(str(p) for p in v)
    else:
        raise ValueError(f"expected a command as a string or a list of strings, got {v!r}")
    if not parts:
        raise ValueError("must not be empty")
    return parts


def names(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list) and all(isinstance(p, str) and p for p in v):
        return tuple(v)
    raise ValueError(f"expected a list of names, got {v!r}")


def mysql_url(v: Any) -> str:
    """The checks `release` makes when it connects, so `validate` agrees with it. Messages never quote the URL: it
    may hold a password, and a wrongly split one leaks in fragments."""
    from shipit.db.connection import DatabaseURL

    s = text(v)
    form = "expected mysql://user:password@host:port/database"
    try:
        parts = urlsplit(s)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"the port is not a number or the host is malformed ({form}; percent-encode @ : / in the "
                         "password)") from None
    if parts.password:
        redact.register_secret(parts.password)
    try:
        DatabaseURL.parse(s)
    except BadInput as e:
        raise ValueError(redact.redact(str(e))) from None
    return s


def http_url(v: Any) -> str:
    s = text(v)
    if any(c.isspace() or not c.isprintable() for c in s):
        raise ValueError("expected an http:// or https:// URL without spaces or control characters "
                         "(percent-encode them, e.g. %20)")
    try:
        parts = urlsplit(s)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError("expected an http:// or https:// URL with a valid host and port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL such as https://shop.example/healthz, got {redact.redact(s)!r}")
    return s


def positive(conv: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        value = conv(v)
        if value <= 0:
            raise ValueError(f"must be more than 0, got {v!r}")
        return value

    return check


def label_value(v: Any) -> str:
    s = text(v)
    if not _LABEL_VALUE.match(s):
        raise ValueError(f"{s!r} is not a valid Kubernetes label value (at most 63 letters, digits, '-', '_' or '.', "
                         "starting and ending with a letter or digit)")
    return s


def status_code(v: Any) -> int:
    code = whole_number(v)
    if not 100 <= code <= 599:
        raise ValueError(f"expected an HTTP status code (100-599), got {code}")
    return code


def image_tag(v: Any) -> str:
    s = text(v)
    try:
        s.format(sha="0" * 40, short_sha="0" * 7)
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"tag template may use only {{sha}} and {{short_sha}} ({e})") from None
    if "{sha}" not in s and "{short_sha}" not in s:
        raise ValueError(f"{s!r} names the same image for every commit: include {{sha}} or {{short_sha}} (e.g. "
                         "\"{sha}\" or \"v-{short_sha}\") so each release runs the image built from its commit and "
                         "can be rolled back")
    return s
