"""How big the affected tables are and how long each index or foreign-key build will take, replicas included.

Build time scales with the clustered index size (DATA_LENGTH), at a rate per operation and flavour; binlog replicas
replay the DDL serially after the primary commits it, so the schema is usable everywhere only after about twice the
primary build. The seed rates come from a 2-vCPU MariaDB lab and are labelled as such;
the ±50% band says how much to trust them until shipit has history for the cluster.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import Any

from shipit.db.connection import Flavour, Server


class BuildKind(str, enum.Enum):
    INDEX = "index"  # INPLACE secondary index build, concurrent DML allowed
    FOREIGN_KEY = "foreign_key"  # COPY rebuild of the child with foreign_key_checks on: writes blocked throughout


# Bytes of clustered index per second (lab: 27-55 MB/s for INPLACE index builds, 16 MB/s for COPY). The low
# ends are used: a late estimate costs a blocked deploy, an early one a surprised operator.
SEED_RATE = {BuildKind.INDEX: 27e6, BuildKind.FOREIGN_KEY: 16e6}
RATE_SOURCE = "seed rates from a 2-vCPU MariaDB 10.11 lab, not measured on this cluster"
BAND = 0.5


@dataclasses.dataclass(frozen=True)
class TableSize:
    table: str
    rows: int  # InnoDB's estimate (TABLE_ROWS), can be off by 40-50% before ANALYZE
    data_length: int  # clustered index bytes: the build's work
    index_length: int
    data_free: int

    def describe(self) -> str:
        return (f"{self.table}: ~{self.rows:,} rows, data {_size(self.data_length)}, "
                f"indexes {_size(self.index_length)}")

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class BuildEstimate:
    table: str
    name: str
    kind: BuildKind
    primary_s: float
    replica_s: float  # serial replay on binlog replicas after the primary commits; 0 on Aurora or without replicas
    blocks_writes: bool

    @property
    def total_s(self) -> float:
        return self.primary_s + self.replica_s

    def describe(self) -> str:
        low, high = self.total_s * (1 - BAND), self.total_s * (1 + BAND)
        replay = f" + replica replay {_dur(self.replica_s)}" if self.replica_s else ""
        writes = "; blocks writes on the table throughout (COPY)" if self.blocks_writes else ""
        return (f"{self.kind.value.replace('_', ' ')} {self.name} on {self.table}: primary {_dur(self.primary_s)}"
                f"{replay} = {_dur(self.total_s)} ({_dur(low)}-{_dur(high)}){writes}")

    def to_json(self) -> dict:
        return {
            "table": self.table, "name": self.name, "kind": self.kind.value, "primary_s": round(self.primary_s, 1),
            "replica_s": round(self.replica_s, 1), "total_s": round(self.total_s, 1),
            "blocks_writes": self.blocks_writes,
        }


def estimate_build(size: TableSize, name: str, kind: BuildKind, flavour: Flavour, replicas: int) -> BuildEstimate:
    primary = size.data_length / SEED_RATE[kind]
    replay = primary if replicas and flavour is not Flavour.AURORA else 0.0
    return BuildEstimate(size.table, name, kind, primary, replay, blocks_writes=kind is BuildKind.FOREIGN_KEY)


def builds_for(expected: Iterable[Any]) -> tuple[tuple[str, str, BuildKind], ...]:
    """(table, name, kind) for each expected index or foreign key; columns and tables are instant or empty."""
    out = []
    for e in expected:
        kind = str(getattr(e.kind, "value", e.kind)).lower()
        if kind == "index":
            out.append((e.table, e.name, BuildKind.INDEX))
        elif kind == "foreign_key":
            out.append((e.table, e.name, BuildKind.FOREIGN_KEY))
    return tuple(out)


def read_sizes(server: Server, tables: Iterable[str]) -> dict[str, TableSize]:
    """Sizes of the tables that exist, by lowercase name (a table the release creates is absent: nothing to build)."""
    names = sorted({t.lower() for t in tables})
    if not names:
        return {}
    if server.flavour is not Flavour.MARIADB:
        server.execute("SET SESSION information_schema_stats_expiry = 0")  # MySQL caches these for 24 h
    marks = ", ".join(["%s"] * len(names))
    rows = server.query(
        "SELECT TABLE_NAME AS t, TABLE_ROWS AS r, DATA_LENGTH AS d, INDEX_LENGTH AS i, DATA_FREE AS f "
        f"FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND LOWER(TABLE_NAME) IN ({marks})",
        names,
    )
    return {
        r["t"].lower(): TableSize(r["t"], int(r["r"] or 0), int(r["d"] or 0), int(r["i"] or 0), int(r["f"] or 0))
        for r in rows
    }


def estimate(server: Server, expected: Iterable[Any], replicas: int) -> tuple[tuple[TableSize, ...],
                                                                              tuple[BuildEstimate, ...]]:
    builds = builds_for(expected)
    sizes = read_sizes(server, {t for t, _, _ in builds})
    estimates = tuple(
        estimate_build(sizes[t.lower()], name, kind, server.flavour, replicas)
        for t, name, kind in builds if t.lower() in sizes
    )
    return tuple(sizes[k] for k in sorted(sizes)), estimates


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def _dur(s: float) -> str:
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{s / 60:.1f}min"
    return f"{s / 3600:.1f}h"
