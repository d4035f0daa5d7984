"""`shipit diagnose`'s error tracker section against a local server answering as Rollbar's and Sentry's REST APIs do:
the rate since the release against the hour before, and an unreachable or hanging tracker given up within its
timeout (one try) so the section is skipped with the reason."""

from __future__ import annotations

import time

import pytest

from shipit.core.errors import ShipitError
from shipit.report.diagnose import errors
from shipit.report.diagnose.findings import Kind, State
from tests.integration.integrations.states import load


def tracker(services, provider: str):
    fields = {"rollbar": "token: '${ROLLBAR_READ}', environment: production",
              "sentry": "token: '${SENTRY_TOKEN}', organization: acme, project: shop"}[provider]
    return load(f"gates:\n  errors: {{provider: {provider}, {fields}, api_url: '{services.url}', threshold: 2, "
                f"ratio: 3}}\n").gates.errors


def test_each_tracker_gives_the_rate_since_the_release_against_the_hour_before(services):
    started = time.time() - 600
    services.error_times.extend(started - 3600 + i * 60 for i in range(60))  # 1/min the hour before
    for provider in ("rollbar", "sentry"):
        quiet = errors.verdict(errors.probe(tracker(services, provider), since=started, since_what="release r0007",
                                            timeout=2.0))
        assert quiet.state is State.OK and f"{provider}: 0.00 errors/min since the release" in quiet.lines[0], quiet
    services.error_times.extend(started + 1 + i for i in range(300))  # 300 since: 30/min
    for provider in ("rollbar", "sentry"):
        loud = errors.verdict(errors.probe(tracker(services, provider), since=started, since_what="release r0007",
                                           timeout=2.0))
        [f] = loud.findings
        assert f.kind is Kind.ERROR_RATE and "> 2.00/min" in f.summary and "since release r0007" in f.summary, f
        assert loud.data["observed"]["value"] > 25


def test_a_tracker_that_hangs_or_refuses_is_given_up_after_one_try(services):
    services.fail("/api/0/projects/", 5.0)  # the hour before hangs past the timeout
    with pytest.raises(ShipitError, match="sentry: "):
        errors.probe(tracker(services, "sentry"), since=time.time() - 60, since_what="x", timeout=0.5)
    services.fail("/api/1/reports/", 503)
    with pytest.raises(ShipitError, match="rollbar: .*503"):
        errors.probe(tracker(services, "rollbar"), since=time.time() - 60, since_what="x", timeout=1.0)
    assert len(services.calls("/api/1/reports/")) == 1  # one try: no retry eats the diagnose budget
