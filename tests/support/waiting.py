"""Polling for end-to-end tests: the machine is shared and loaded, so waits are generous and say what they waited for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(predicate: Callable[[], Any], *, timeout: float = 60.0, what: str = "condition",
             interval: float = 0.2) -> Any:
    """Poll until `predicate()` is truthy and return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
