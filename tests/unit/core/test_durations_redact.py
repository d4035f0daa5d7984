import pytest

from shipit.core.durations import format_duration, parse_duration
from shipit.core.redact import MASK, redact, redact_value, register_secret


@pytest.mark.parametrize(
    "text, seconds",
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1h30m", 5400), ("500ms", 0.5), ("45", 45), (12, 12), ("1.5s", 1.5)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "10x", "s10", "10m 5s", True, -3])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration():
    assert format_duration(0.25) == "250ms"
    assert format_duration(12.34) == "12.3s"
    assert format_duration(600) == "10m00s"
    assert format_duration(5400) == "1h30m"


@pytest.mark.parametrize(
    "text, leaked",
    [
        ("mysql://app:pa55word@db:3306/shop", "pa55word"),
        ("Authorization: Bearer abcdefgh12345678", "abcdefgh12345678"),
        ("password=topsecret next", "topsecret"),
        ('{"token": "tok-123456"}', "tok-123456"),
    ],
)
def test_patterns_are_masked(text, leaked):
    out = redact(text)
    assert leaked not in out and MASK in out


def test_registered_secret_masked_anywhere():
    register_secret("plain-value-42")
    assert redact("the value plain-value-42 leaked") == f"the value {MASK} leaked"
    assert redact_value({"a": ["x plain-value-42"], "n": 3}) == {"a": [f"x {MASK}"], "n": 3}


def test_short_values_are_not_registered():
    register_secret("ab")
    assert redact("abc") == "abc"


def test_url_without_password_is_untouched():
    assert redact("mysql://root@127.0.0.1:3306/db") == "mysql://root@127.0.0.1:3306/db"
