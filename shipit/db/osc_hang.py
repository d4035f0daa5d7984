"""A gh-ost run that hangs while the migration Job runs.

A hung gh-ost keeps the Job running until the Job's timeout, possibly hours. Its heartbeat in the changelog is the
sign: a run seen alive during this Job whose heartbeat then stays stale on consecutive readings has hung or died,
and the migration is stopped at once with the run named. A run already stale at the first reading predates this Job
(a leftover of another run) and is not this Job's to judge. Pure: the readings come from the caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from shipit.db.osc import OscRun, RunState

HANG_CONFIRMATIONS = 2  # consecutive stale readings before the Job is stopped: one slow heartbeat write is no hang


@dataclasses.dataclass
class HangJudge:
    """Remembers which runs were alive during this Job and how many readings in a row each has been stale."""

    confirmations: int = HANG_CONFIRMATIONS
    alive: set[tuple[str, str, str, str]] = dataclasses.field(default_factory=set)
    stale: dict[tuple[str, str, str, str], int] = dataclasses.field(default_factory=dict)

    def judge(self, runs: Iterable[OscRun]) -> OscRun | None:
        """One reading of the runs; the run that hung, once it has been stale `confirmations` readings in a row."""
        for run in runs:
            key = (run.server, run.schema, run.tool.value, run.table)
            if run.state is RunState.STALE:
                if key in self.alive:
                    self.stale[key] = self.stale.get(key, 0) + 1
                    if self.stale[key] >= self.confirmations:
                        return run
                continue
            self.stale.pop(key, None)
            if run.heartbeat_age_s is not None and run.state in (RunState.COPYING, RunState.CUT_OVER_POSTPONED):
                self.alive.add(key)
        return None
