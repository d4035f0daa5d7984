"""The primary's index build while the migration Job runs: `rails db:migrate` prints nothing for the ten minutes an
ALTER takes, so a poller reads the running DDL's progress once a second and hands it to the live view (bars on a
terminal; a line when the percentage moves, or every few seconds, elsewhere). Every few seconds it also reads gh-ost's
heartbeat on the primary: a run that hangs stops the Job (shipit.db.osc_hang) instead of waiting out its timeout."""

from __future__ import annotations

import threading
import time

from shipit.adapters.polling import BackgroundPoll
from shipit.core.errors import ShipitError
from shipit.release.diagnosis import Diagnosis

DDL_POLL = 1.0  # at most two queries per server per poll, only while DDL runs
QUIET_REPEAT = 5.0
OSC_POLL = 5.0  # gh-ost's heartbeat on the primary: two catalogue reads, one changelog read per run


def hang_diagnosis(run, job: str = "", log_tail: tuple[str, ...] = ()) -> Diagnosis:
    """The diagnosis after a schema change tool hung during the migration and shipit stopped its Job."""
    return Diagnosis(
        what=f"{run.tool.value} on {run.schema}.{run.table} hung during the migration; shipit stopped it",
        why=run.describe(),
        details=(*run.cleanup_sql(), *log_tail),
        did=(f"deleted the migration Job{' ' + job if job else ''} (its pod is stopped) instead of waiting out the "
             "Job's timeout; the tool's tables were left as they are"),
        next=("read the migration's log for why the tool stopped (a lost connection, a throttle that never ended, "
              "a full disk), drop what it left behind with the SQL above, then release again"),
    )


class DdlProgressWatch(BackgroundPoll):
    name = "shipit-ddl-progress"

    def __init__(self, servers, view, interval: float = DDL_POLL, osc_interval: float = OSC_POLL, *,
                 osc_servers=None):
        super().__init__(interval)
        from shipit.db.ddl_watch import DdlWatcher
        from shipit.db.osc_hang import HangJudge

        self.servers, self.view = servers, view
        # the tools' tables are a schema's: each migrated database's primary (default: the servers' primary)
        self.osc_servers = tuple(osc_servers) if osc_servers is not None else (servers.primary,)
        self.watcher = DdlWatcher(servers)  # one watcher: its samples give the ETA
        self._shown, self._shown_at = None, 0.0
        self.osc_interval, self._osc_at = osc_interval, 0.0
        self.judge = HangJudge()
        self.hung = None  # the OscRun that hung, once the watch asked for the Job to stop
        self.stop_job = threading.Event()

    def tick(self) -> bool:
        try:
            items = self.watcher.poll()
        except ShipitError:  # a monitoring hiccup must not fail the migration it watches
            items = ()
        if items:
            key = tuple((p.ddl.server, p.ddl.table, None if p.pct is None else int(p.pct)) for p in items)
            now = time.monotonic()
            if key != self._shown or now - self._shown_at >= QUIET_REPEAT:
                self._shown, self._shown_at = key, now
                self.view.ddl_progress(items)
        return self.check_hang()

    def check_hang(self) -> bool:
        """Every `osc_interval`: each migrated database's tool runs judged; a hung one sets `stop_job` and ends the
        watch."""
        from shipit.db.osc import assess, read_server_osc

        now = time.monotonic()
        if now - self._osc_at < self.osc_interval:
            return False
        self._osc_at = now
        runs = []
        for server in self.osc_servers:
            try:
                runs += assess(read_server_osc(server), migration_running=True)
            except ShipitError:  # a monitoring hiccup must not fail the migration it watches
                continue
        hung = self.judge.judge(runs)
        if hung is None:
            return False
        self.hung = hung
        self.view.progress(f"stopping the migration: {hung.describe()}")
        self.stop_job.set()
        return True
