"""Values `release` would reject (or misuse) are rejected at load, with the key and line, and never echo a password."""

import pytest

from shipit.core import config
from shipit.core.errors import ConfigError, ExitCode
from tests.unit.core.configs import BASE
from tests.unit.core.configs import ENV as OK_ENV



def parse(text, env=OK_ENV):
    return config.parse(text, env=dict(env))


def rejected(text, env=OK_ENV) -> str:
    with pytest.raises(ConfigError) as e:
        parse(text, env)
    assert e.value.exit_code is ExitCode.BAD_INPUT
    return str(e.value)


def test_base_is_valid():
    assert parse(BASE).database.url == "mysql://shop:plain-pass-123@db:3306/shop"


@pytest.mark.parametrize("password", ["p@ss-word-1", "pa:ss-word-2", "pa/ss-word-3", "pa?ss-word#4", "pa ss-word 5"])
def test_unencoded_password_characters_are_named_without_the_password(password):
    message = rejected(BASE, {"DB_PW": password})
    assert message.startswith("database.url (line 10): ") and "percent-encoded" in message and "${DB_PW}" in message
    for fragment in (password, *password.replace("@", " ").replace(":", " ").replace("/", " ").split()):
        if len(fragment) >= 3:
            assert fragment not in message, message


def test_percent_encoded_password_is_accepted():
    assert parse(BASE, {"DB_PW": "p%40ss%3Aword%2F"}).database.url.endswith("p%40ss%3Aword%2F@db:3306/shop")


def test_a_var_in_the_host_part_is_not_a_password():
    text = BASE.replace("shop:${DB_PW}@db", "shop:pw@${DB_HOST}")
    assert parse(text, {"DB_HOST": "db.internal"}).database.url == "mysql://shop:pw@db.internal:3306/shop"


@pytest.mark.parametrize(
    "edit, key, words",
    [
        (("@db:3306/shop", "@db:33o6/shop"), "database.url (line 10)", "port is not a number"),
        (("@db:3306/shop", "@db:3306/"), "database.url (line 10)", "must name one database"),
        (("@db:3306/shop", "@db:3306"), "database.url (line 10)", "must name one database"),
        (("mysql://", "postgres://"), "database.url (line 10)", "scheme must be mysql://"),
        (("@db:3306/shop", "@db:3306/shop?pool=5"), "database.url (line 10)", "unknown option 'pool'"),
        (("app: shop", "app: Shop Store"), "app (line 1)", "not a valid Kubernetes label value"),
        (("app: shop", "app: -shop"), "app (line 1)", "not a valid Kubernetes label value"),
        (("app: shop", "app: " + "s" * 64), "app (line 1)", "not a valid Kubernetes label value"),
        (("  repository: reg/shop", "  repository: reg/shop\n  tag: latest"), "image.tag (line 4)", "include {sha} or {short_sha}"),
        (("  repository: reg/shop", "  repository: reg/shop\n  tag: '{branch}'"), "image.tag (line 4)", "may use only {sha}"),
        (("app: shop", "app: shop\nrollout:\n  timeout: 0"), "rollout.timeout (line 3)", "must be more than 0"),
        (("app: shop", "app: shop\nrollout:\n  ready_grace: 0s"), "rollout.ready_grace (line 3)", "must be more than 0"),
        (("app: shop", "app: shop\nrecords:\n  keep: 0"), "records.keep (line 3)", "must be more than 0"),
        (("app: shop", "app: shop\nrecords:\n  keep: -2"), "records.keep (line 3)", "must not be negative"),
        (("app: shop", "app: shop\nlock:\n  duration: 0"), "lock.duration (line 3)", "must be more than 0"),
        (("app: shop", "app: shop\ngates:\n  ddl_timeout: 0s"), "gates.ddl_timeout (line 3)", "must be more than 0"),
        (("app: shop", "app: shop\ngates:\n  http:\n    - url: shop.example/healthz"), "gates.http[0].url (line 4)", "http:// or https://"),
        (("app: shop", "app: shop\ngates:\n  http:\n    - url: ftp://shop.example/"), "gates.http[0].url (line 4)", "http:// or https://"),
        (("app: shop", "app: shop\ngates:\n  http:\n    - url: 'http://'"), "gates.http[0].url (line 4)", "http:// or https://"),
        (("app: shop", "app: shop\ngates:\n  http:\n    - url: http://h:port/"), "gates.http[0].url (line 4)", "valid host and port"),
        (("app: shop", "app: shop\ngates:\n  http:\n    - url: http://h/\n      expect_status: 999"), "gates.http[0].expect_status (line 5)", "100-599"),
        (("app: shop", "app: shop\ngates:\n  http:\n    - url: http://h/\n      consecutive: 0"), "gates.http[0].consecutive (line 5)", "more than 0"),
        (("app: shop", "app: shop\npreflight:\n  chunk_time: 0"), "preflight.chunk_time (line 3)", "more than 0"),
        (("  container: web", "  container: web\n  timeout: 0"), "migration.timeout (line 9)", "more than 0"),
        (("app: shop", "app: !!python/object:os.system shop"), "line 1", "unsupported YAML value"),
        (("app: shop", "app: shop\ndatabase2: {}"), "database2 (line 2)", "unknown key"),
    ],
)
def test_bad_values_name_key_line_and_fix(edit, key, words):
    text = BASE.replace(*edit)
    assert text != BASE
    message = rejected(text)
    assert key in message and words in message, message
    assert "plain-pass-123" not in message


def test_replica_given_as_a_bare_string_is_checked_too():
    text = BASE + "  replicas:\n    - mysql://r@replica:x/shop\n"
    assert "database.replicas[0] (line 12)" in rejected(text)


def test_non_utf8_file_names_the_line(tmp_path):
    path = tmp_path / "shipit.yaml"
    path.write_bytes(BASE.encode().replace(b"reg/shop", b"reg/sh\xffop"))
    with pytest.raises(ConfigError) as e:
        config.load(path, env=OK_ENV)
    assert "line 3: not UTF-8" in str(e.value) and "0xff" in str(e.value)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError) as e:
        config.load(tmp_path, env=OK_ENV)
    assert "cannot read" in str(e.value)
