"""Fixtures shared across the suite: each area adds its own module under tests/support and lists it here."""

pytest_plugins = [
    "tests.support.mariadb",
    "tests.support.replica",
    "tests.support.httpapp",
    "tests.kubesim.fixture",
    "tests.cluster.fixture",
    "tests.support.sandbox",
]
