"""The unit tier refuses tests that need a service, at collection, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py").read_text()
FAKE_SERVICES = '''

@pytest.fixture
def fresh_db():
    raise AssertionError("a service fixture must never be set up in the unit tier")


@pytest.fixture
def kube(kubesim):
    return kubesim


@pytest.fixture
def kubesim():
    raise AssertionError("a service fixture must never be set up in the unit tier")
'''


@pytest.fixture
def unit_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST + FAKE_SERVICES)
    return pytester


def test_direct_and_indirect_service_fixtures_fail_collection_by_name(unit_dir):
    unit_dir.makepyfile(test_mixed="""
def test_pure():
    assert 1 + 1 == 2

def test_database(fresh_db):
    pass

def test_cluster(kube):
    pass
""")
    result = unit_dir.runpytest("-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*tests/unit runs without services*",
        "*test_mixed.py::test_database uses fresh_db",
        "*test_mixed.py::test_cluster uses kubesim",
    ])
    assert "test_pure uses" not in result.stderr.str()
    assert "passed" not in result.stdout.str()  # nothing ran, not even the pure test


def test_pure_tests_collect_and_run(unit_dir):
    unit_dir.makepyfile(test_pure="def test_sum(tmp_path):\n    assert (tmp_path / 'x').parent == tmp_path\n")
    result = unit_dir.runpytest("-q")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
