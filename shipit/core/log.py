"""structlog set up once: compact lines in the phase lines' style for people, JSON lines in CI or with
`--log-format json`.

Logs go to stderr so stdout stays clean for `--output json`. Every event passes through the redactor last. For people
the phase lines and the live panel tell the story, so the console shows warnings and errors only, and every event
with `--verbose`; while the live panel is up, events print above it (route_console) instead of through it.
structlog is imported at the first log event: most commands log nothing, and the import costs each a tenth of a second.
"""

from __future__ import annotations

import enum
import logging
import os
import sys
import threading
import time
from typing import Callable

from shipit.core.redact import redact, redact_value


class LogFormat(str, enum.Enum):
    AUTO = "auto"
    CONSOLE = "console"
    JSON = "json"


def resolve_format(fmt: LogFormat, *, stream=None) -> LogFormat:
    if fmt is not LogFormat.AUTO:
        return fmt
    if os.environ.get("CI", "").lower() == "true":
        return LogFormat.JSON
    return LogFormat.CONSOLE


def _redact_processor(_logger, _name, event_dict):
    return {k: redact_value(v) for k, v in event_dict.items()}


class _RedactingJSONRenderer:
    def __init__(self):
        import structlog

        self._inner = structlog.processors.JSONRenderer(sort_keys=False)

    def __call__(self, logger, name, event_dict):
        return redact(self._inner(logger, name, event_dict))


_MARKS = {"warning": "!", "error": "✘", "critical": "✘", "exception": "✘"}


def compact(_logger, _name, event_dict) -> str:
    """One event as one short line: a mark for warnings and errors, the event, its fields as key=value."""
    event_dict = dict(event_dict)
    level = event_dict.pop("level", "info")
    event = str(event_dict.pop("event", ""))
    event_dict.pop("timestamp", None)
    exc = event_dict.pop("exception", None)
    fields = " ".join(f"{k}={v}" for k, v in event_dict.items())
    line = f"{_MARKS.get(level, '·')} {event}" + (f"  {fields}" if fields else "")
    return redact(line + (f"\n{exc}" if exc else ""))


_sink: Callable[[str], None] | None = None


def route_console(sink: Callable[[str], None] | None) -> None:
    """While set, console events go to `sink` (the live panel prints them above itself) instead of stderr."""
    global _sink
    _sink = sink


class _ConsoleLogger:
    """Writes each compact line to the live panel's sink when one is set, else to the current sys.stderr (looked up
    on every write, so a swapped stderr never leaves a closed file behind), timestamped like the plain view's lines."""

    def __init__(self, stream=None):
        self._stream = stream

    def msg(self, message: str) -> None:
        if _sink is not None:
            _sink(message)
            return
        stream = self._stream or sys.stderr
        stream.write(f"{time.strftime('%H:%M:%S')}     {message}\n")
        stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class _JsonLogger(_ConsoleLogger):
    def msg(self, message: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(message + "\n")
        stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


_configured = LogFormat.CONSOLE
_pending: tuple | None = None  # (format, level, stream) from configure(), not yet handed to structlog
_threshold: int | None = None  # the lowest level configure() lets through; None: not configured, everything goes
_apply_lock = threading.Lock()


def configure(fmt: LogFormat = LogFormat.AUTO, *, level: int = logging.INFO, stream=None) -> LogFormat:
    """`level` DEBUG is `--verbose`. JSON logs from `level` up; the console shows warnings and errors, and every
    event only at DEBUG, so a person reads one voice (the phase lines) and the details on request. The format is
    resolved now; structlog is set up at the first log event."""
    global _configured, _pending, _threshold
    fmt = resolve_format(fmt, stream=stream)
    _configured, _pending = fmt, (fmt, level, stream)
    _threshold = _console_level(level) if fmt is LogFormat.CONSOLE else level
    if "structlog" in sys.modules:
        _apply()
    return fmt


def _apply() -> None:
    global _pending
    import structlog

    with _apply_lock:
        if _pending is None:
            return
        fmt, level, stream = _pending
        _pending = None
        processors: list = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level]
        if fmt is LogFormat.JSON:
            processors += [structlog.processors.TimeStamper(fmt="iso", utc=True), _redact_processor,
                           structlog.processors.format_exc_info, _RedactingJSONRenderer()]
            factory = _JsonLogger
        else:
            processors += [_redact_processor, structlog.processors.format_exc_info, compact]
            factory = _ConsoleLogger
            level = _console_level(level)
        structlog.configure(
            processors=processors,
            wrapper_class=structlog.make_filtering_bound_logger(level),
            logger_factory=lambda *_args: factory(stream),
            cache_logger_on_first_use=False,
        )


def _console_level(level: int) -> int:
    return level if level <= logging.DEBUG else max(level, logging.WARNING)


_METHOD_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
                  "error": logging.ERROR, "exception": logging.ERROR, "critical": logging.CRITICAL}


def _drop(*_args, **_kw) -> None:
    return None


def current_format() -> LogFormat:
    """The format configure() resolved, so output that is not a log event (the live view) can follow it."""
    return _configured


class _Logger:
    """A structlog logger looked up at each use, after any configuration still pending is applied."""

    def __init__(self, name: str | None) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        level = _METHOD_LEVELS.get(attr)
        if level is not None and _threshold is not None and level < _threshold:
            return _drop  # filtered out anyway: no structlog import for an event nobody sees
        import structlog

        _apply()
        return getattr(structlog.get_logger(self._name) if self._name else structlog.get_logger(), attr)


def get_logger(name: str | None = None):
    return _Logger(name)
