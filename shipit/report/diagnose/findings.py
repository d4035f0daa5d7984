"""The vocabulary every diagnose section reports in: findings (what is wrong, with evidence) and section results.

A finding carries the facts the likely-cause ranking correlates across sections (the table a full scan reads and the
table an index is missing on, the Job that failed and the version that is pending), so the ranking stays a pure
function over findings and never re-reads a source.
"""

from __future__ import annotations

import dataclasses
import enum


class Section(str, enum.Enum):
    RELEASE = "release"
    KUBERNETES = "kubernetes"
    DATABASE = "database"
    DRIFT = "schema_drift"
    HTTP = "http"
    ERRORS = "error_tracker"


class Kind(str, enum.Enum):
    RELEASE_FAILED = "release_failed"  # shipit's last release record ended badly
    ROLLOUT_FAILING = "rollout_failing"
    POD_FAILING = "pod_failing"  # crash-looping, unready, pending, image pull, OOM
    JOB_FAILED = "job_failed"  # a migration Job
    FULL_SCAN = "full_scan"  # a piling query shape whose plan reads the whole table
    PILEUP = "pileup"  # many threads on one query shape (plan not a full scan, or not explained)
    THREADS_RUNNING = "threads_running"
    MDL_WAIT = "mdl_wait"
    LONG_TRANSACTION = "long_transaction"
    REPLICA_LAG = "replica_lag"
    SERVER_UNREADABLE = "server_unreadable"  # one database server could not be read while others could
    MISSING_SCHEMA = "missing_schema"  # an object the deployed commit's schema file declares is missing
    PENDING_MIGRATION = "pending_migration"
    HTTP_FAILING = "http_failing"
    ERROR_RATE = "error_rate"  # the error tracker's rate since the release is above the gate's threshold and ratio


@dataclasses.dataclass(frozen=True)
class Finding:
    kind: Kind
    summary: str  # one line, no literal values from queries
    evidence: tuple[str, ...] = ()
    table: str = ""  # the table it is about, when there is one
    subject: str = ""  # index, version, Job, pod, fingerprint, server: what the ranking matches and names
    columns: tuple[str, ...] = ()  # a full scan's filtered columns, a missing index's columns
    server: str = ""
    count: int = 0  # threads, rows examined, restarts: the size that ranks it

    def to_json(self) -> dict:
        return {"kind": self.kind.value, "summary": self.summary, "evidence": list(self.evidence),
                "table": self.table or None, "subject": self.subject or None, "columns": list(self.columns),
                "server": self.server or None, "count": self.count}


class State(str, enum.Enum):
    OK = "ok"
    PROBLEMS = "problems"
    SKIPPED = "skipped"  # its source could not be read in time


@dataclasses.dataclass(frozen=True)
class SectionResult:
    section: Section
    state: State
    lines: tuple[str, ...] = ()  # what was seen, for people
    findings: tuple[Finding, ...] = ()
    data: dict = dataclasses.field(default_factory=dict)  # what was seen, for machines
    note: str = ""  # why it was skipped, or what it could not read

    @classmethod
    def of(cls, section: Section, lines: list[str], findings: list[Finding], data: dict, note: str = "") -> SectionResult:
        return cls(section, State.PROBLEMS if findings else State.OK, tuple(lines), tuple(findings), data, note)

    @classmethod
    def skipped(cls, section: Section, why: str) -> SectionResult:
        return cls(section, State.SKIPPED, note=why)

    def to_json(self) -> dict:
        return {"state": self.state.value, "note": self.note or None, "lines": list(self.lines),
                "findings": [f.to_json() for f in self.findings], **self.data}
