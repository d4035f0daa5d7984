"""The primary's index build while the migration Job runs: `rails db:migrate` prints nothing for the ten minutes an
ALTER takes, so a poller reads the running DDL's progress once a second and hands it to the live view (bars on a
terminal; a line when the percentage moves, or every few seconds, elsewhere)."""

from __future__ import annotations

import threading
import time

from shipit.core.errors import ShipitError

DDL_POLL = 1.0  # at most two queries per server per poll, only while DDL runs
QUIET_REPEAT = 5.0


class DdlProgressWatch:
    def __init__(self, servers, view, interval: float = DDL_POLL):
        self.servers, self.view, self.interval = servers, view, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shipit-ddl-progress", daemon=True)

    def __enter__(self) -> DdlProgressWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        from shipit.db.ddl_watch import DdlWatcher

        watcher = DdlWatcher(self.servers)  # one watcher: its samples give the ETA
        shown, shown_at = None, 0.0
        while not self._stop.wait(self.interval):
            try:
                items = watcher.poll()
            except ShipitError:  # a monitoring hiccup must not fail the migration it watches
                continue
            if not items:
                continue
            key = tuple((p.ddl.server, p.ddl.table, None if p.pct is None else int(p.pct)) for p in items)
            now = time.monotonic()
            if key != shown or now - shown_at >= QUIET_REPEAT:
                shown, shown_at = key, now
                self.view.ddl_progress(items)
