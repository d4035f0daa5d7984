"""The release lock's pure parts: Lease MicroTime, reading the holder, the CI link."""

from datetime import datetime, timedelta, timezone

import pytest

from shipit.kube.lock import ci_url, holder_from_lease, lease_name, micro_time
from tests.support.kube_snapshots import NOW


def test_micro_time_always_six_digits():
    assert micro_time(datetime(2026, 1, 1, tzinfo=timezone.utc)) == "2026-01-01T00:00:00.000000Z"
    plus2 = timezone(timedelta(hours=2))
    assert micro_time(datetime(2026, 1, 1, 2, 0, 0, 5, tzinfo=plus2)) == "2026-01-01T00:00:00.000005Z"
    with pytest.raises(ValueError):
        micro_time(datetime(2026, 1, 1))


def test_holder_from_lease():
    lease = {
        "metadata": {"name": "shipit-shop", "annotations": {"shipit.dev/user": "alice", "shipit.dev/host": "ci-1",
                                                             "shipit.dev/ci-url": "https://ci/1", "shipit.dev/release": "r0003"}},
        "spec": {"holderIdentity": "alice@ci-1/abc", "leaseDurationSeconds": 60, "acquireTime": "2026-01-01T11:59:00.000000Z",
                 "renewTime": "2026-01-01T11:59:30.123456Z"},
    }
    h = holder_from_lease(lease)
    assert (h.user, h.host, h.ci_url, h.release_id) == ("alice", "ci-1", "https://ci/1", "r0003")
    assert h.expires == datetime(2026, 1, 1, 12, 0, 30, 123456, tzinfo=timezone.utc)
    assert "expires in 30s" in h.describe(NOW)
    assert holder_from_lease({"metadata": {"name": "x"}, "spec": {"leaseDurationSeconds": 60}}) is None


def test_ci_url_sources():
    gh = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "42"}
    assert ci_url(gh) == "https://github.com/acme/shop/actions/runs/42"
    assert ci_url({"CI_JOB_URL": "https://gitlab/j/1"}) == "https://gitlab/j/1"
    assert ci_url({}) is None


def test_an_expired_holder_says_how_long_ago():
    lease = {"metadata": {"name": "shipit-shop", "annotations": {}},
             "spec": {"holderIdentity": "bob@ci/1", "leaseDurationSeconds": 30,
                      "renewTime": "2026-01-01T11:58:00.000000Z"}}
    h = holder_from_lease(lease)
    assert h.user == "bob@ci/1" and h.acquired == h.renewed  # no annotations: the identity, acquired = renewed
    assert h.describe(NOW).endswith("(120s ago), expired 90s ago")


def test_ci_url_prefers_github_then_the_first_job_url_found():
    env = {"BUILDKITE_BUILD_URL": "https://buildkite/b/1", "BUILD_URL": "https://jenkins/j/1"}
    assert ci_url(env) == "https://buildkite/b/1"
    assert ci_url({"BUILD_URL": "https://jenkins/j/1"}) == "https://jenkins/j/1"
    assert ci_url({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop"}) is None  # no run id


def test_lease_names_are_dns_labels():
    assert lease_name("Shop_App") == "shipit-shop-app"
    assert len(lease_name("x" * 100)) == 63
