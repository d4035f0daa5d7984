"""The unit tier needs no services: a test here that asks, directly or through another fixture, for MariaDB, kubesim,
an HTTP app or a sandbox fails at collection, naming the test and the fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

SERVICE_FIXTURES = frozenset({
    "fresh_db", "replica_pair", "pair_db",  # MariaDB
    "kubesim", "kubesim_factory",  # the simulated cluster
    "httpapp",  # an HTTP server
    "sandbox", "replica_sandbox",  # whole releases
})
UNIT = Path(__file__).resolve().parent


def service_users(items: list[pytest.Item], root: Path = UNIT) -> list[str]:
    """'<test id> uses <fixtures>' for each test under `root` whose fixture closure includes a service."""
    found = []
    for item in items:
        if not Path(item.path).resolve().is_relative_to(root):
            continue
        used = SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if used:
            found.append(f"{item.nodeid} uses {', '.join(sorted(used))}")
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    found = service_users(items)
    if found:
        raise pytest.UsageError(
            "tests/unit runs without services (no MariaDB, kubesim, kubectl, HTTP servers or network); move these "
            "tests to tests/integration or give them plain values instead:\n  " + "\n  ".join(found)
        )
