"""Edges of the duration syntax and of secret masking that the basic cases do not reach."""

import pytest

from shipit.core.durations import format_duration, parse_duration
from shipit.core.redact import MASK, redact, redact_value, register_secret


@pytest.mark.parametrize("text, seconds", [("1h30m15s", 5415), ("0.5h", 1800), (" 10m ", 600), ("250ms", 0.25),
                                           (2.5, 2.5), (0, 0)])
def test_units_combine_in_order_and_bare_numbers_are_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10M", "1d", "m10", "1h 30m", "-5s", "5s-"])
def test_unknown_units_spaces_and_signs_name_the_accepted_forms(text):
    with pytest.raises(ValueError, match=r"is not a duration \(use 30s, 10m, 2h\)"):
        parse_duration(text)


@pytest.mark.parametrize("seconds, text", [(0.0004, "0ms"), (0.999, "999ms"), (59.4, "59.4s"), (60, "1m00s"),
                                           (3599, "59m59s"), (3600, "1h00m"), (90061, "25h01m")])
def test_format_picks_the_unit_by_size(seconds, text):
    assert format_duration(seconds) == text


def test_formatted_durations_parse_back_for_whole_minutes_and_hours():
    for seconds in (60, 600, 5400, 7200):
        text = format_duration(seconds)
        assert parse_duration(text) == seconds, text


def test_the_longest_registered_secret_is_masked_whole():
    register_secret("k3y-prefix")
    register_secret("k3y-prefix-and-the-rest")
    assert redact("got k3y-prefix-and-the-rest here") == f"got {MASK} here"


@pytest.mark.parametrize("text, kept", [
    ("postgres://app:pw-99@db/x", "postgres://app:***@db/x"),
    ("API_KEY=abc123 next", "API_KEY=*** next"),
    ("api-key: 'xyz-987'", "api-key: '***'"),
    ("Bearer abc", "Bearer abc"),  # too short to be a token
    ("https://user@host/path", "https://user@host/path"),  # a user without a password
    ("", ""),
])
def test_credential_shapes_are_masked_and_look_alikes_are_not(text, kept):
    assert redact(text) == kept


def test_redact_value_masks_nested_strings_and_keeps_other_types():
    register_secret("s3cret-value")
    value = {"args": ("x s3cret-value", 3, None, True), "n": 1.5, "nested": [{"url": "mysql://u:pw1@h/d"}]}
    assert redact_value(value) == {"args": [f"x {MASK}", 3, None, True], "n": 1.5,
                                   "nested": [{"url": f"mysql://u:{MASK}@h/d"}]}
