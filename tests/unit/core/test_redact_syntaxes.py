"""Credentials in every syntax a failing migration, a Ruby exception or a config dump prints are masked."""

import pytest

from shipit.core.redact import MASK, redact, redact_value, register_secret

SECRET = "S3cr-et.v4lue"

CASES = [
    ("ruby symbol hash", f'{{:password=>"{SECRET}", :host=>"db"}}'),
    ("ruby symbol hash spaced", f"{{:password => '{SECRET}'}}"),
    ("ruby string hash", f'{{"password"=>"{SECRET}"}}'),
    ("ruby 3.4 inspect", f'{{password: "{SECRET}", host: "db"}}'),
    ("yaml bare", f"password: {SECRET}"),
    ("env assignment", f"DB_PASSWORD={SECRET} bin/rails db:migrate"),
    ("json", f'{{"api_key": "{SECRET}"}}'),
    ("escaped json inside a string", f'"{{\\"secret\\": \\"{SECRET}\\"}}"'),
    ("passwd", f"passwd={SECRET}"),
    ("token", f"token: {SECRET}"),
    ("access key", f"aws_secret_access_key = {SECRET}"),
    ("access_key", f"access_key: '{SECRET}'"),
    ("quoted with spaces", f'password: "{SECRET} and more"'),
    ("url", f"mysql2://shop:{SECRET}@db:3306/shop"),
    ("url with unencoded @", f"mysql://shop:{SECRET}@x@db:3306/shop"),
    ("url user-less", f"redis://:{SECRET}@cache:6379/0"),
    ("bearer", f"Authorization: Bearer {SECRET}abcdef"),
    ("basic", f"Authorization: Basic {SECRET}abcdef"),
    ("private key", f"-----BEGIN RSA PRIVATE KEY-----\nMIIE{SECRET}\n-----END RSA PRIVATE KEY-----"),
    ("private key cut", f"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl{SECRET}"),
    ("upper case key", f"PASSWORD: {SECRET}"),
]


@pytest.mark.parametrize("text", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_credential_syntax_is_masked(text):
    out = redact(text)
    assert SECRET not in out and MASK in out, out


def test_surrounding_text_is_kept():
    assert redact('{:password=>"x1y2z3", :host=>"db"}') == '{:password=>"***", :host=>"db"}'
    assert redact("Access denied for user 'shop'@'10.0.0.1' (using password: YES)").endswith("(using password: YES)")


@pytest.mark.parametrize("text", ["secretKeyRef: shop-db", "secret_name=shop-db", "tokens are fine", "no secrets here"])
def test_structural_names_are_not_masked(text):
    assert redact(text) == text


def test_redaction_is_idempotent():
    once = redact(f'password: "{SECRET}"')
    assert redact(once) == once


def test_url_secret_registers_its_password_in_every_form():
    register_secret("mysql2://shop:p%40ss-w0rd-xyz@db/shop")
    assert redact("Access denied: p@ss-w0rd-xyz") == f"Access denied: {MASK}"
    assert redact("p%40ss-w0rd-xyz") == MASK


def test_structures_mask_values_under_credential_keys_and_env_vars():
    data = {"password": "plain", "nested": [{"name": "DB_PASSWORD", "value": "hunter22"}],
            "name": "shop", "secretName": "shop-db", "n": 3}
    out = redact_value(data)
    assert out == {"password": MASK, "nested": [{"name": "DB_PASSWORD", "value": MASK}],
                   "name": "shop", "secretName": "shop-db", "n": 3}


def test_private_key_printed_line_by_line_is_masked_until_its_end():
    body = ["MIIEowIBAAKCAQEAzq8V7bq0sW1Ygv0Yz+Qf3k9a", "Proc-Type: 4,ENCRYPTED", "Zq9/long+base64=="]
    lines = ["12:00:01     [migrate] -----BEGIN RSA PRIVATE KEY-----"] + [f"12:00:01     [migrate] {b}" for b in body] + [
        "12:00:01     [migrate] -----END RSA PRIVATE KEY-----", "12:00:02     [migrate] rails aborted!"]
    out = [redact(line) for line in lines]
    assert not any(b in "\n".join(out) for b in body), out
    assert out[-1] == lines[-1] and out[-2] == lines[-2]


def test_a_begin_line_without_key_material_after_it_stops_masking():
    assert redact("-----BEGIN PRIVATE KEY-----") == "-----BEGIN PRIVATE KEY-----"
    assert redact("rails aborted! see log/production.log") == "rails aborted! see log/production.log"


@pytest.mark.parametrize("code", ['token = ENV.fetch("SHOP_API_TOKEN")', "password: nil", "secret = ENV['X']"])
def test_code_that_reads_a_secret_is_shown(code):
    assert redact(code) == code
