"""The registry of known secret values: every registered value is masked with its common encodings, and values too
short to be told from ordinary text are not registered."""

from __future__ import annotations

from shipit.core.redact import MASK, MIN_SECRET_LENGTH, redact, register_secret


def test_a_registered_value_with_no_keyword_around_it_is_masked():
    register_secret("Zq8-unusual-value")
    assert redact("connecting with Zq8-unusual-value now") == f"connecting with {MASK} now"


def test_its_percent_encodings_are_masked_too():
    register_secret("p@ss/w rd+Kx7")
    assert redact("url=mysql://u:p%40ss%2Fw%20rd%2BKx7@db/app") .count("Kx7") == 0
    assert redact("form body pw2=p%40ss%2Fw+rd%2BKx7&x=1") == f"form body pw2={MASK}&x=1"


def test_a_url_value_masks_its_password_alone_and_encoded():
    register_secret("mysql2://shop:h%2Fq9-Reg-pw@db:3306/shop")
    assert redact("password h/q9-Reg-pw then h%2Fq9-Reg-pw") == f"password {MASK} then {MASK}"
    assert "shop" in redact("user shop on db"), "the user name is not the secret"


def test_each_line_of_a_multi_line_value_is_masked_when_printed_line_by_line():
    key = "-----BEGIN KEY-----\nQUJDREVGR0hJSktMTU5PUA\nUVJTVFVWV1hZWmFiY2Rl\n-----END KEY-----"
    register_secret(key)
    printed = [redact(line) for line in key.splitlines()]
    assert printed == ["-----BEGIN KEY-----", MASK, MASK, "-----END KEY-----"]


def test_values_shorter_than_the_minimum_are_not_registered():
    short = "x7Q" + "k" * (MIN_SECRET_LENGTH - 4)  # one character short
    register_secret(short)
    assert redact(f"port {short} open") == f"port {short} open"
    register_secret(short + "k")
    assert redact(f"port {short}k open") == f"port {MASK} open"


def test_empty_and_none_are_ignored():
    register_secret("")
    register_secret(None)
    assert redact("nothing to hide") == "nothing to hide"
