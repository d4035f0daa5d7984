"""Scaled time for kubesim: every delay a real cluster measures in seconds (back-offs, deadlines, TTLs, start delays)
passes `speed` times faster, so tests can exercise a 10 s back-off in 0.1 s while timestamps stay real wall time."""

from __future__ import annotations

import datetime as dt
import time


class Clock:
    """Object timestamps are real UTC; durations are cluster seconds, converted to real seconds by `speed`."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed

    def now(self) -> float:
        return time.time()

    def real(self, cluster_seconds: float) -> float:
        """Real seconds that `cluster_seconds` of cluster time take."""
        return cluster_seconds / self.speed

    def elapsed(self, since: float) -> float:
        """Cluster seconds between the real instant `since` and now."""
        return (time.time() - since) * self.speed

    def deadline(self, cluster_seconds: float, *, start: float | None = None) -> float:
        """Real instant at which `cluster_seconds` of cluster time after `start` (default now) have passed."""
        return (time.time() if start is None else start) + cluster_seconds / self.speed


def rfc3339(at: float) -> str:
    """metav1.Time: whole seconds, UTC, `Z`."""
    return dt.datetime.fromtimestamp(int(at), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(at: float) -> str:
    """Log line timestamps (`timestamps=true`)."""
    whole = int(at)
    nanos = int(round((at - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, 0
    return dt.datetime.fromtimestamp(whole, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def micro_time(at: float) -> str:
    """metav1.MicroTime: exactly six fractional digits."""
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
