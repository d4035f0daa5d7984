"""Database URLs, TLS options, statement time limits and version strings: parsed and decided without a server."""

from __future__ import annotations

import ssl

import pytest

from shipit.core import redact
from shipit.core.config import DatabaseConfig, ReplicaConfig
from shipit.core.errors import BadInput
from shipit.db.connection import (
    DatabaseURL,
    Flavour,
    Role,
    limit_statement,
    parse_version,
    servers_from_config,
)


def test_url_parses_parts_and_tls_options():
    url = DatabaseURL.parse("mysql2://app:s3cr%40tPW@db.internal:3307/shop?ssl-mode=verify_identity&ssl_ca=/etc/ca.pem")
    assert (url.host, url.port, url.user, url.password, url.database) == ("db.internal", 3307, "app", "s3cr@tPW", "shop")
    assert url.tls == (("ssl-ca", "/etc/ca.pem"), ("ssl-mode", "VERIFY_IDENTITY"))
    assert url.ssl_options() == {"check_hostname": True, "ca": "/etc/ca.pem"}
    assert DatabaseURL.parse("mysql://u@h/d").port == 3306


def test_url_password_never_shown():
    url = DatabaseURL.parse("mysql://app:Hunter2Secret@db:3306/shop")
    assert "Hunter2Secret" not in repr(url)
    assert url.display() == "mysql://app:***@db:3306/shop"
    assert redact.redact("login failed for Hunter2Secret") == "login failed for ***"


def test_ssl_modes_map_to_pymysql_options():
    assert DatabaseURL.parse("mysql://u@h/d").ssl_options() is None
    assert DatabaseURL.parse("mysql://u@h/d?ssl-mode=DISABLED").ssl_options() is None
    required = DatabaseURL.parse("mysql://u@h/d?ssl-mode=REQUIRED").ssl_options()
    assert required == {"check_hostname": False, "verify_mode": ssl.CERT_NONE}
    assert DatabaseURL.parse("mysql://u@h/d?ssl-ca=/ca.pem").ssl_options() == {"check_hostname": False, "ca": "/ca.pem"}


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgres://u@h/d", "scheme"),
        ("mysql://u@h/", "one database"),
        ("mysql://u@h:notaport/d", "not valid"),
        ("mysql://u:pw12345@h/d?sslmode=nope", "ssl-mode"),
        ("mysql://u@h/d?pool=5", "unknown option"),
        ("mysql:///d", "no host"),
    ],
)
def test_bad_urls_are_bad_input(url, message):
    with pytest.raises(BadInput, match=message) as e:
        DatabaseURL.parse(url)
    assert "pw12345" not in str(e.value)


def test_statement_limit_per_flavour():
    assert limit_statement("SELECT 1", Flavour.MARIADB, 2.5) == "SET STATEMENT max_statement_time=2.500 FOR SELECT 1"
    assert limit_statement("  select a from t", Flavour.MYSQL, 2.5) == "SELECT /*+ MAX_EXECUTION_TIME(2500) */ a from t"
    assert limit_statement("SHOW PROCESSLIST", Flavour.AURORA, 2.5) == "SHOW PROCESSLIST"
    assert limit_statement("SELECT 1", Flavour.MARIADB, None) == "SELECT 1"


def test_parse_version():
    assert parse_version("10.11.19-MariaDB-0+deb12u1-log") == (10, 11, 19)
    assert parse_version("5.5.5-10.6.12-MariaDB") == (10, 6, 12)
    assert parse_version("8.0.36") == (8, 0, 36)


def test_servers_from_config():
    servers = servers_from_config(DatabaseConfig(
        url="mysql://app@db:3306/shop", replicas=(ReplicaConfig("r1", "mysql://app@db-r1:3306/shop"),)
    ))
    assert [s.name for s in servers.all()] == ["primary", "r1"]
    assert servers.replicas[0].role is Role.REPLICA and servers.replicas[0].url.host == "db-r1"
