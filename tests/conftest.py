"""Fixtures shared across the suite, and one marker per tier set from the test's directory.

Tiers: `unit` (tests/unit: no MariaDB, kubectl, cluster or network), `integration` (tests/integration: real MariaDB,
kubesim and kubectl), `badinput` (bad input and faults through the CLI, also
`integration`), `kubesim` (the simulator's own tests), `e2e` (whole releases; also `slow`). Select with `-m`.
"""

from pathlib import Path

import pytest

pytest_plugins = [
    "pytester",
    "tests.support.mariadb",
    "tests.support.replica",
    "tests.support.httpapp",
    "tests.kubesim.fixture",
    "tests.cluster.fixture",
    "tests.support.sandbox_fixtures",
]

TESTS = Path(__file__).resolve().parent
TIERS = {
    "unit": ("unit",),
    "integration": ("integration",),
    "badinput": ("integration", "badinput"),
    "kubesim": ("kubesim",),
    "e2e": ("e2e", "slow"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            top = Path(item.path).resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        for marker in TIERS.get(top, ()):
            item.add_marker(marker)


@pytest.fixture(autouse=True)
def _fresh_secret_registry():
    """Values one test registers as secrets (a config's password) must not mask words in the next test's output."""
    from shipit.core import redact

    kept = set(redact._secrets)
    yield
    redact._secrets.clear()
    redact._secrets.update(kept)
