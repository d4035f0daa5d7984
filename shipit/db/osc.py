"""Online schema change tools (gh-ost, pt-online-schema-change, LHM): what each leaves in the schema while it runs,
how far it has got, and what a dead run leaves behind.

These tools copy a table into a shadow table while triggers (pt-osc, LHM) or the binlog (gh-ost) keep it current,
then swap the tables at cut-over: the new index or column exists only after the swap. Between two copy chunks the
processlist shows nothing, so a run is recognised by its artefacts (tables, triggers, gh-ost's changelog heartbeat)
and its progress read from the migration's log lines. Each tool knows its own names, log format and clean-up.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Sequence

from shipit.db.connection import Server
from shipit.db.health import MONITOR_TIMEOUT

HEARTBEAT_STALE_S = 10.0  # gh-ost writes its heartbeat every 100 ms: 10 s without one means the run is dead or hung

# gh-ost's changelog `state` hint, in the order it writes them: the last step it finished
GHOST_STATES = {
    "GhostTableMigrated": "ghost table altered",
    "ReadMigrationRangeValues": "copy range read",
    "AllEventsUpToLockProcessed": "cutting over",
    "Migrated": "migrated",
}


class OscTool(str, enum.Enum):
    GH_OST = "gh-ost"
    PT_OSC = "pt-online-schema-change"
    LHM = "lhm"


class Role(str, enum.Enum):
    SHADOW = "shadow"  # the copy being filled; swapped in at cut-over
    CHANGELOG = "changelog"  # gh-ost's heartbeat and state table
    CHECKPOINT = "checkpoint"  # gh-ost's resume checkpoints; kept with the old table unless --ok-to-drop-table
    OLD = "old"  # the original table kept after the swap
    TRIGGER = "trigger"  # copies every write of the original into the shadow


class RunState(str, enum.Enum):
    COPYING = "copying"
    CUT_OVER_POSTPONED = "cut-over postponed"
    STALE = "stale"  # gh-ost's heartbeat stopped: dead or hung
    LEFTOVER = "leftover"  # a shadow table or triggers with no live run: a failed or killed run
    UNSURE = "not copying now"  # artefacts, no copy statement at this instant, liveness unknown
    OLD_COPY_KEPT = "old copy kept"  # a finished run left the original table behind
    MIGRATED = "migrated"  # gh-ost's changelog says Migrated: swapped in, its own clean-up did not finish

    @property
    def is_failure(self) -> bool:
        return self in (RunState.STALE, RunState.LEFTOVER)

    @property
    def blocks_ready(self) -> bool:
        """The schema change has not swapped in yet (or never will): the code must not roll out."""
        return self not in (RunState.OLD_COPY_KEPT, RunState.MIGRATED)


@dataclasses.dataclass(frozen=True)
class Artifact:
    tool: OscTool
    role: Role
    name: str
    table: str  # the original table it belongs to


@dataclasses.dataclass(frozen=True)
class LogProgress:
    """One progress line of a tool's own output."""

    tool: OscTool
    pct: float | None
    eta_s: float | None = None
    state: str = ""  # gh-ost's State field: migrating, throttled, postponing cut-over

    @property
    def postponed(self) -> bool:
        return "postpon" in self.state.lower()

    def describe(self) -> str:
        if self.postponed:
            return (f"{self.tool.value}: copy done, cut-over postponed by its flag file: waiting for a person to "
                    "remove the flag file (or send `unpostpone`)")
        eta = f", ETA {self.eta_s:.0f}s" if self.eta_s is not None else ""
        state = f" ({self.state})" if self.state and self.state != "migrating" else ""
        return f"{self.tool.value}: {self.pct:.0f}% copied{eta}{state}"


def _duration(text: str) -> float | None:
    """gh-ost's Go durations (`1h2m3.5s`) and pt-osc's clock (`01:02:03`, `00:43`) in seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(:\d{2}){1,2}", text):
        total = 0.0
        for part in text.split(":"):
            total = total * 60 + int(part)
        return total
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def ghost_state(value: str) -> str:
    """The state's name in a changelog `state` value: gh-ost appends `:<detail>` to some (a time, coordinates)."""
    return value.split(":", 1)[0].strip()


@dataclasses.dataclass(frozen=True)
class ToolRule:
    """Everything shipit knows about one tool: its artefact names, its progress lines, and how to clean up."""

    tool: OscTool
    tables: tuple[tuple[re.Pattern[str], Role], ...]  # group 1 is the original table
    trigger: str | None  # a regex whose group 1 is the original table; `{schema}` stands for the schema's name
    progress: re.Pattern[str]
    live_hint: str  # how a person can tell whether it still runs

    def parse_progress(self, line: str) -> LogProgress | None:
        m = self.progress.search(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line)
        if not m:
            return None
        found = m.groupdict()
        eta = _duration(found["eta"]) if found.get("eta") else None
        return LogProgress(self.tool, float(found["pct"]), eta, (found.get("state") or "").strip())


RULES: dict[OscTool, ToolRule] = {
    OscTool.GH_OST: ToolRule(
        OscTool.GH_OST,
        ((re.compile(r"^_(.+)_gho$"), Role.SHADOW), (re.compile(r"^_(.+)_ghc$"), Role.CHANGELOG),
         (re.compile(r"^_(.+?)(?:_rev)?_del$"), Role.OLD), (re.compile(r"^_(.+)_ghk$"), Role.CHECKPOINT)),
        None,
        re.compile(r"Copy: \d+/\d+ (?P<pct>\d+(?:\.\d+)?)%;.*?State: (?P<state>[^;]+);\s*ETA: (?P<eta>[\w./]+)"),
        "its heartbeat in the changelog table",
    ),
    OscTool.PT_OSC: ToolRule(
        OscTool.PT_OSC,
        ((re.compile(r"^_+(.+)_new$"), Role.SHADOW), (re.compile(r"^_+(.+)_old$"), Role.OLD)),
        r"^pt_osc_{schema}_(.+)_(?:ins|upd|del)$",  # the schema's name is part of the trigger's
        re.compile(r"Copying `[^`]+`\.`[^`]+`:\s+(?P<pct>\d+(?:\.\d+)?)% (?P<eta>[\d:]+) remain"),
        "a pt-online-schema-change process (its copy queries carry the comment `pt-online-schema-change <pid> copy`)",
    ),
    OscTool.LHM: ToolRule(
        OscTool.LHM,
        ((re.compile(r"^lhmn_(.+)$"), Role.SHADOW), (re.compile(r"^lhma_\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}_(?:\d+_)?(.+)$"),
                                                    Role.OLD)),
        r"^lhmt_(?:ins|upd|del)_(.+)$",
        re.compile(r"(?P<pct>\d+(?:\.\d+)?)% \(\d+/\d+\) complete"),
        "the migration process running Lhm (its copy statements are `INSERT IGNORE INTO lhmn_<table>`)",
    ),
}


def recognise(schema: str, tables: Iterable[str], triggers: Iterable[str]) -> tuple[Artifact, ...]:
    """The tools' artefacts among a schema's table and trigger names (anything else is ignored)."""
    found: list[Artifact] = []
    for name in tables:
        for rule in RULES.values():
            hit = next(((m.group(1), role) for pattern, role in rule.tables if (m := pattern.match(name))), None)
            if hit:
                found.append(Artifact(rule.tool, hit[1], name, hit[0]))
                break
    for name in triggers:
        for rule in RULES.values():
            pattern = rule.trigger and re.compile(rule.trigger.replace("{schema}", re.escape(schema)))
            if pattern is not None and (m := pattern.match(name)):
                found.append(Artifact(rule.tool, Role.TRIGGER, name, m.group(1)))
                break
    return tuple(found)


def parse_progress(line: str) -> LogProgress | None:
    """A progress line of any known tool in the migration's log, or None."""
    for rule in RULES.values():
        progress = rule.parse_progress(line)
        if progress is not None:
            return progress
    return None


@dataclasses.dataclass(frozen=True)
class OscRun:
    """One tool's work on one table on one server, as far as it can be told from the outside."""

    server: str
    schema: str
    tool: OscTool
    table: str
    state: RunState
    artifacts: tuple[Artifact, ...]
    heartbeat_age_s: float | None = None
    progress: LogProgress | None = None
    ghost_state: str = ""  # gh-ost's last changelog state, "" when unknown

    def describe(self) -> str:
        names = ", ".join(a.name for a in self.artifacts)
        step = GHOST_STATES.get(self.ghost_state, self.ghost_state)
        where = f"{self.tool.value} on {self.schema}.{self.table} ({self.server})"
        if step and self.state is not RunState.MIGRATED:
            where += f" [last state: {step}]"
        pct = f" {self.progress.pct:.1f}%" if self.progress and self.progress.pct is not None else ""
        eta = f", ETA {self.progress.eta_s:.0f}s" if self.progress and self.progress.eta_s is not None else ""
        match self.state:
            case RunState.COPYING:
                return f"{where}: copying{pct}{eta}; the change appears at the cut-over"
            case RunState.CUT_OVER_POSTPONED:
                return (f"{where}: copy done{pct}, cut-over postponed by its flag file: waiting for a person "
                        "(delete the --postpone-cut-over-flag-file, or send `unpostpone` to its socket)")
            case RunState.STALE:
                return (f"{where}: no heartbeat for {self.heartbeat_age_s:.0f}s: the run died or hangs; "
                        f"left behind: {names}")
            case RunState.LEFTOVER:
                return f"{where}: left behind by a run that is not running: {names}"
            case RunState.UNSURE:
                return (f"{where}: {names} exist but no copy statement runs right now: between two chunks, or a dead "
                        f"run (unsure; a live run shows as {RULES[self.tool].live_hint})")
            case RunState.OLD_COPY_KEPT:
                return f"{where}: finished; the original table was kept as {names}"
            case RunState.MIGRATED:
                return (f"{where}: finished (its changelog says Migrated: the new table is in place); its clean-up "
                        f"did not finish: {names}")
        return where

    def cleanup_sql(self) -> tuple[str, ...]:
        """What a person runs to clean up after a dead run (triggers first: they slow every write to the table)."""
        def q(name: str) -> str:
            return f"`{self.schema}`.`{name}`"
        stmts = [f"DROP TRIGGER IF EXISTS {q(a.name)};" for a in self.artifacts if a.role is Role.TRIGGER]
        stmts += [f"DROP TABLE IF EXISTS {q(a.name)};" for a in self.artifacts
                  if a.role in (Role.SHADOW, Role.CHANGELOG, Role.CHECKPOINT)]
        stmts += [f"DROP TABLE IF EXISTS {q(a.name)};  -- the pre-change copy of {self.table}: drop it once the "
                  f"change is verified (dropping a big table takes a while)" for a in self.artifacts if a.role is Role.OLD]
        return tuple(stmts)


@dataclasses.dataclass(frozen=True)
class ServerOsc:
    """One server's reading: the tools' artefacts in its database and each gh-ost changelog's heartbeat age (s)
    and last `state` hint (its name, see ghost_state)."""

    server: str
    schema: str
    artifacts: tuple[Artifact, ...]
    heartbeats: dict[str, float] = dataclasses.field(default_factory=dict)
    states: dict[str, str] = dataclasses.field(default_factory=dict)


def assess(reading: ServerOsc, *, copying: Iterable[tuple[OscTool, str]] = (),
           progress: dict[tuple[OscTool, str], LogProgress] | None = None,
           migration_running: bool | None = False) -> tuple[OscRun, ...]:
    """Group a server's artefacts into runs and tell each run's state.

    `copying`: (tool, table) whose copy statement the processlist shows now. `progress`: the latest log progress per (tool, table) or per (tool, "") when
    the log does not name the table. `migration_running`: the migration process (the Job) still runs, so a triggers
    tool between two chunks is alive, not a leftover; None when nobody knows (`db status`), which makes such a run
    UNSURE rather than a leftover.
    """
    dead = RunState.LEFTOVER if migration_running is False else RunState.UNSURE
    server, schema, heartbeats = reading.server, reading.schema, reading.heartbeats
    progress = progress or {}
    live = set(copying)
    runs: list[OscRun] = []
    groups: dict[tuple[OscTool, str], list[Artifact]] = {}
    for a in reading.artifacts:
        groups.setdefault((a.tool, a.table), []).append(a)
    for (tool, table), found in sorted(groups.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
        roles = {a.role for a in found}
        seen = progress.get((tool, table)) or progress.get((tool, ""))
        age = next((heartbeats[a.name] for a in found if a.role is Role.CHANGELOG and a.name in heartbeats), None)
        step = next((reading.states[a.name] for a in found if a.role is Role.CHANGELOG and a.name in reading.states), "")
        if roles <= {Role.OLD, Role.CHECKPOINT}:
            state = RunState.OLD_COPY_KEPT
        elif tool is OscTool.GH_OST and Role.CHANGELOG in roles:
            if step == "Migrated":  # written after the swap: done whatever the heartbeat says
                state = RunState.MIGRATED
            elif age is None or age > HEARTBEAT_STALE_S:
                state = RunState.STALE if age is not None else (
                    RunState.COPYING if (tool, table) in live or migration_running else dead)
            else:
                state = RunState.CUT_OVER_POSTPONED if seen is not None and seen.postponed else RunState.COPYING
        elif (tool, table) in live or migration_running:
            state = RunState.CUT_OVER_POSTPONED if seen is not None and seen.postponed else RunState.COPYING
        else:
            state = dead
        runs.append(OscRun(server, schema, tool, table, state, tuple(found), age, seen, step))
    return tuple(runs)


# --- reading a server ------------------------------------------------------------------------------------------------

_TABLES_SQL = (
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
    "(TABLE_NAME REGEXP '^_.+_(gho|ghc|ghk|del|new|old)$' OR TABLE_NAME REGEXP '^lhm[an]_') LIMIT 500"
)
_TRIGGERS_SQL = (
    "SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND "
    "TRIGGER_NAME REGEXP '^(pt_osc_|lhmt_)' LIMIT 500"
)
MAX_CHANGELOGS = 5  # one heartbeat read per live gh-ost changelog, bounded


def read_server_osc(server: Server) -> ServerOsc:
    """The tools' artefacts in the server's database and each gh-ost changelog's heartbeat age: two catalogue
    queries, plus one indexed read per changelog (at most MAX_CHANGELOGS)."""
    schema_row = server.query_one("SELECT DATABASE() AS db", timeout=MONITOR_TIMEOUT) or {}
    schema = str(schema_row.get("db") or "")
    tables = [r["name"] for r in server.query(_TABLES_SQL, timeout=MONITOR_TIMEOUT)]
    triggers = [r["name"] for r in server.query(_TRIGGERS_SQL, timeout=MONITOR_TIMEOUT)]
    artifacts = recognise(schema, tables, triggers)
    heartbeats: dict[str, float] = {}
    states: dict[str, str] = {}
    for a in [a for a in artifacts if a.role is Role.CHANGELOG][:MAX_CHANGELOGS]:
        name = a.name.replace("`", "``")
        for row in server.query(  # hint is unique in the changelog: at most two rows
                f"SELECT hint, value, TIMESTAMPDIFF(MICROSECOND, last_update, NOW(6)) / 1e6 AS age FROM `{name}` "
                "WHERE hint IN ('heartbeat', 'state')", timeout=MONITOR_TIMEOUT):
            if row["hint"] == "heartbeat" and row.get("age") is not None:
                heartbeats[a.name] = float(row["age"])
            elif row["hint"] == "state" and row.get("value"):
                states[a.name] = ghost_state(str(row["value"]))
    return ServerOsc(server.name, schema, artifacts, heartbeats, states)


def leftover_report(runs: Sequence[OscRun]) -> tuple[str, ...]:
    """Lines for a failure diagnosis: each dead run and the SQL that cleans it up."""
    lines: list[str] = []
    for run in runs:
        if run.state.is_failure:
            lines.append(run.describe())
            lines += [f"  {s}" for s in run.cleanup_sql()]
    return tuple(lines)
