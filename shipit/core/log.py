"""structlog set up once: readable lines on a terminal, JSON lines in CI or with `--log-format json`.

Logs go to stderr so stdout stays clean for `--output json`. Every event passes through the redactor last.
"""

from __future__ import annotations

import enum
import logging
import os
import sys
import threading

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


class _CurrentStderr:
    """Looks sys.stderr up on every write, so a swapped stderr (test runners, CliRunner) never leaves a closed file behind."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


_configured = LogFormat.CONSOLE
_pending: tuple | None = None  # (format, level, stream) from configure(), not yet handed to structlog
_apply_lock = threading.Lock()


def configure(fmt: LogFormat = LogFormat.AUTO, *, level: int = logging.INFO, stream=None) -> LogFormat:
    """Resolve the format now; structlog is imported and set up at the first log event, because most commands log
    nothing and importing structlog (with rich) costs each of them a tenth of a second."""
    global _configured, _pending
    stream = stream or _CurrentStderr()
    fmt = resolve_format(fmt, stream=stream)
    _configured, _pending = fmt, (fmt, level, stream)
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
        processors: list = [
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_processor,
        ]
        if fmt is LogFormat.JSON:
            processors += [structlog.processors.format_exc_info, _RedactingJSONRenderer()]
        else:
            processors += [structlog.dev.ConsoleRenderer(colors=stream.isatty())]
        structlog.configure(
            processors=processors,
            wrapper_class=structlog.make_filtering_bound_logger(level),
            logger_factory=structlog.PrintLoggerFactory(file=stream),
            cache_logger_on_first_use=False,
        )


def current_format() -> LogFormat:
    """The format configure() resolved, so output that is not a log event (the live view) can follow it."""
    return _configured


class _Logger:
    """A structlog logger looked up at each use, after any configuration still pending is applied."""

    def __init__(self, name: str | None) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        import structlog

        _apply()
        return getattr(structlog.get_logger(self._name) if self._name else structlog.get_logger(), attr)


def get_logger(name: str | None = None):
    return _Logger(name)
