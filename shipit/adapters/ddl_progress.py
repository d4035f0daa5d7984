"""The primary's index build while the migration Job runs: `rails db:migrate` prints nothing for the ten minutes an
ALTER takes, so a poller reads the running DDL's progress once a second and hands it to the live view (bars on a
terminal; a line when the percentage moves, or every few seconds, elsewhere)."""

from __future__ import annotations

import time

from shipit.adapters.polling import BackgroundPoll
from shipit.core.errors import ShipitError

DDL_POLL = 1.0  # at most two queries per server per poll, only while DDL runs
QUIET_REPEAT = 5.0


class DdlProgressWatch(BackgroundPoll):
    name = "shipit-ddl-progress"

    def __init__(self, servers, view, interval: float = DDL_POLL):
        super().__init__(interval)
        from shipit.db.ddl_watch import DdlWatcher

        self.view = view
        self.watcher = DdlWatcher(servers)  # one watcher: its samples give the ETA
        self._shown, self._shown_at = None, 0.0

    def tick(self) -> bool:
        try:
            items = self.watcher.poll()
        except ShipitError:  # a monitoring hiccup must not fail the migration it watches
            return False
        if items:
            key = tuple((p.ddl.server, p.ddl.table, None if p.pct is None else int(p.pct)) for p in items)
            now = time.monotonic()
            if key != self._shown or now - self._shown_at >= QUIET_REPEAT:
                self._shown, self._shown_at = key, now
                self.view.ddl_progress(items)
        return False
