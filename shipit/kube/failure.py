"""One failure, explained: the unit of shipit's one-screen diagnosis.

A release tool that says "Job failed: BackoffLimitExceeded" sends people to kubectl for ten minutes. A Failure carries
everything needed to act: which pod and container, its state and exit code, the last log lines, the pod's events, and
what to do next.
"""

from __future__ import annotations

import dataclasses

from shipit.core.redact import redact


@dataclasses.dataclass(frozen=True)
class Failure:
    what: str  # "migration Job shipit-shop-r0007 failed", "Deployment web: pod web-abc crash-looping"
    why: str  # the cause in the cluster's words: reason + message
    pod: str | None = None
    container: str | None = None
    state: str | None = None  # PodState value
    exit_code: int | None = None
    log_tail: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    hint: str = ""

    def evidence(self) -> tuple[str, ...]:
        """The lines under the headline: where it failed, the log tail, the events and the hint (redacted)."""
        lines = []
        where = []
        if self.pod:
            where.append(f"pod {self.pod}")
        if self.container:
            where.append(f"container {self.container}")
        if self.state:
            where.append(f"state {self.state}")
        if self.exit_code is not None:
            where.append(f"exit code {self.exit_code}")
        if where:
            lines.append("  " + ", ".join(where))
        if self.log_tail:
            lines.append(f"  last {len(self.log_tail)} log lines:")
            lines.extend(f"    | {line}" for line in self.log_tail)
        if self.events:
            lines.append("  events:")
            lines.extend(f"    {e}" for e in self.events)
        if self.hint:
            lines.append(f"  next: {self.hint}")
        return tuple(redact(line) for line in lines)

    def render(self) -> str:
        return "\n".join((redact(f"{self.what}: {self.why}"), *self.evidence()))
