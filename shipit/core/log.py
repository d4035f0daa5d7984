"""structlog set up once: readable lines on a terminal, JSON lines in CI or with `--log-format json`.

Logs go to stderr so stdout stays clean for `--output json`. Every event passes through the redactor last.
"""

from __future__ import annotations

import enum
import logging
import os
import sys

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


def configure(fmt: LogFormat = LogFormat.AUTO, *, level: int = logging.INFO, stream=None) -> LogFormat:
    import structlog  # here, not at the top: `shipit --help` never configures logging

    global _configured
    stream = stream or _CurrentStderr()
    fmt = resolve_format(fmt, stream=stream)
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
    _configured = fmt
    return fmt


def current_format() -> LogFormat:
    """The format configure() resolved, so output that is not a log event (the live view) can follow it."""
    return _configured


def get_logger(name: str | None = None):
    import structlog

    return structlog.get_logger(name) if name else structlog.get_logger()
