"""Exit codes and the errors that carry them.

The exit codes are a contract with CI scripts and with later phases of a release, so they live in one place.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED_SAFELY = 1  # nothing changed, or reverted cleanly
    NEEDS_PERSON = 2  # revert failed, migration partly applied
    BAD_INPUT = 3  # bad arguments or configuration
    LOCKED = 4  # another release holds the lock


class ShipitError(Exception):
    """An error the CLI reports as one clear message and a distinct exit code."""

    exit_code: ExitCode = ExitCode.FAILED_SAFELY

    def __init__(self, message: str, *, exit_code: ExitCode | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class BadInput(ShipitError):
    """The user's arguments or files are wrong; nothing was touched."""

    exit_code = ExitCode.BAD_INPUT


class ConfigError(BadInput):
    """The configuration file is invalid; the message names the key and line."""
