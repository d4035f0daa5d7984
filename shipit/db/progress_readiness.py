"""Can this server report index-build progress? performance_schema, its ALTER stage instruments and the
`events_stages_current` consumer, checked on every server, with the exact fix when something is off.

MySQL 8 has the `stage/innodb/alter%` instruments on by default but the consumer off; RDS turns performance_schema
itself off unless Performance Insights manages it; Aurora manages it through its parameter group, where a change needs
a reboot; MariaDB turns performance_schema off by default. Without them shipit still sees that an ALTER runs and for
how long, but not how far it is, so the wait shows no percentage and no ETA. A release notes it in preflight and
runs anyway: progress is what a person watches, not what makes the change safe.
"""

from __future__ import annotations

import dataclasses

from shipit.db.connection import Flavour, QueryError, Server
from shipit.db.health import MONITOR_TIMEOUT
from shipit.planning.rails.operations import OpKind

CONSUMER = "events_stages_current"
INSTRUMENT_PREFIX = "stage/innodb/alter"
ENABLE_CONSUMER = f"UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME = '{CONSUMER}';"
ENABLE_INSTRUMENTS = ("UPDATE performance_schema.setup_instruments SET ENABLED = 'YES', TIMED = 'YES' "
                      "WHERE NAME LIKE 'stage/innodb/alter%';")
PERSIST = ("to keep it after a restart, add to the server's configuration: "
           "performance-schema-consumer-events-stages-current=ON and "
           "performance-schema-instrument='stage/innodb/alter%=ON'")


@dataclasses.dataclass(frozen=True)
class ProgressReadiness:
    server: str
    ready: bool
    missing: tuple[str, ...]  # what is off
    fix: tuple[str, ...]  # statements or parameter-group settings, in order
    without: str  # what shipit can still see meanwhile

    def preflight_note(self) -> str | None:
        """A release's preflight note when this server cannot show index-build progress, else None."""
        if self.ready:
            return None
        return (f"index build progress will not be shown on {self.server}: {', '.join(self.missing)} off; "
                f"to enable it: {' '.join(self.fix)}; meanwhile {self.without}")

    def describe(self) -> str:
        if self.ready:
            return f"{self.server}: index-build progress is readable (performance_schema ALTER stages)"
        fix = "; ".join(self.fix)
        return f"{self.server}: no index-build progress: {', '.join(self.missing)} off. Fix: {fix}. Meanwhile: {self.without}"


def _without(flavour: Flavour) -> str:
    if flavour is Flavour.MARIADB:
        return ("table copies show progress in the processlist, and one online index build at a time through "
                "Innodb_onlineddl_pct_progress; otherwise only that the ALTER runs and for how long")
    return "only that the ALTER runs and for how long: no percentage and no ETA"


def decide(server: str, flavour: Flavour, *, performance_schema: bool, consumers: dict[str, bool],
           instruments: dict[str, bool], rds: bool = False, readable: bool = True) -> ProgressReadiness:
    """The verdict over what the server reported; `instruments` maps each `stage/innodb/alter%` name to
    enabled-and-timed; `readable` is False when shipit's user may not read performance_schema's setup tables."""
    without = _without(flavour)
    if performance_schema and not readable:
        return ProgressReadiness(server, False, ("SELECT on performance_schema for shipit's database user",),
                                 ("GRANT SELECT ON performance_schema.* TO <shipit's user>",), without)
    if not performance_schema:
        if flavour is Flavour.AURORA:
            fix = ("set performance_schema = 1 in the DB cluster parameter group and reboot the instances "
                   "(Aurora manages performance_schema through the parameter group)",
                   "set performance_schema_consumer_events_stages_current = 1 in the same parameter group")
        elif rds:
            fix = ("set performance_schema = 1 in the DB parameter group and reboot (it is static; RDS leaves it "
                   "off unless Performance Insights manages it)",
                   "set performance_schema_consumer_events_stages_current = 1 in the same parameter group")
        else:
            fix = ("start the server with performance_schema=ON (it cannot be turned on while running)", PERSIST)
        return ProgressReadiness(server, False, ("performance_schema",), fix, without)
    missing: list[str] = []
    fix: list[str] = []
    if not consumers.get(CONSUMER, False):
        missing.append(f"the {CONSUMER} consumer")
        fix.append(ENABLE_CONSUMER)
    off = sorted(name for name, on in instruments.items() if not on)
    if not instruments or off:
        missing.append("the stage/innodb/alter% instruments" if not instruments or len(off) == len(instruments)
                       else f"{len(off)} of the stage/innodb/alter% instruments")
        fix.append(ENABLE_INSTRUMENTS)
    if missing:
        if flavour is Flavour.AURORA or rds:
            fix.append("or persist it in the parameter group: performance_schema_consumer_events_stages_current = 1")
        else:
            fix.append(PERSIST)
    return ProgressReadiness(server, not missing, tuple(missing), tuple(fix), without)


# Operations that run no ALTER TABLE: nothing whose progress the stage instruments would show.
NO_ALTER = frozenset({OpKind.CREATE_TABLE, OpKind.DROP_TABLE, OpKind.RENAME_TABLE, OpKind.DATA})


def alters_tables(kinds) -> bool:
    """Pure: whether operations of these kinds build an index or alter a table (raw SQL and unknown ones may)."""
    return any(kind not in NO_ALTER for kind in kinds)


def read_progress_readiness(server: Server) -> ProgressReadiness:
    """At most three small catalogue reads."""
    row = server.query_one("SELECT @@performance_schema AS ps, @@basedir AS basedir", timeout=MONITOR_TIMEOUT) or {}
    on = str(row.get("ps", "0")) in ("1", "ON")
    rds = str(row.get("basedir") or "").startswith("/rdsdbbin")
    consumers: dict[str, bool] = {}
    instruments: dict[str, bool] = {}
    readable = True
    if on:
        try:
            for r in server.query("SELECT NAME, ENABLED FROM performance_schema.setup_consumers WHERE NAME = %s",
                                  (CONSUMER,), timeout=MONITOR_TIMEOUT):
                consumers[r["NAME"]] = r["ENABLED"] == "YES"
            for r in server.query("SELECT NAME, ENABLED, TIMED FROM performance_schema.setup_instruments "
                                  "WHERE NAME LIKE %s", (INSTRUMENT_PREFIX + "%",), timeout=MONITOR_TIMEOUT):
                instruments[r["NAME"]] = r["ENABLED"] == "YES" and r["TIMED"] == "YES"
        except QueryError:
            readable = False
    return decide(server.name, server.flavour, performance_schema=on, consumers=consumers, instruments=instruments,
                  rds=rds, readable=readable)
