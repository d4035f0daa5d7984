"""`database.databases`: the app's other Rails databases, each with its own URL and replicas, checked at load with
the key and line."""

import pytest

from shipit.core import config
from shipit.core.config import OtherDatabaseConfig, ReplicaConfig
from shipit.core.errors import ConfigError, ExitCode
from tests.unit.core.configs import BASE, ENV



def parse(extra: str):
    return config.parse(BASE + extra, env=dict(ENV))


def rejected(extra: str) -> str:
    with pytest.raises(ConfigError) as e:
        parse(extra)
    assert e.value.exit_code is ExitCode.BAD_INPUT
    assert "plain-pass-123" not in str(e.value)
    return str(e.value)


def test_without_databases_only_the_primary_is_configured():
    cfg = parse("")
    assert cfg.database.databases == () and cfg.database.names == ("primary",)


def test_other_databases_are_read_by_name_with_their_own_replicas():
    cfg = parse(
        "  databases:\n"
        "    queue:\n"
        "      url: mysql://shop:${DB_PW}@db:3306/shop_queue\n"
        "      replicas:\n"
        "        - mysql://shop:${DB_PW}@db-r1:3306/shop_queue\n"
        "        - {name: reader, url: 'mysql://shop@db-r2:3306/shop_queue'}\n"
        "    cache:\n"
        "      url: mysql://shop@cache-db:3306/shop_cache\n"
    )
    assert cfg.database.names == ("primary", "queue", "cache")
    queue, cache = cfg.database.databases
    assert queue == OtherDatabaseConfig("queue", "mysql://shop:plain-pass-123@db:3306/shop_queue", (
        ReplicaConfig("replica1", "mysql://shop:plain-pass-123@db-r1:3306/shop_queue"),
        ReplicaConfig("reader", "mysql://shop@db-r2:3306/shop_queue"),
    ))
    assert cache == OtherDatabaseConfig("cache", "mysql://shop@cache-db:3306/shop_cache")


@pytest.mark.parametrize(("extra", "key", "words"), [
    ("  databases:\n    queue:\n      replicas: []\n", "database.databases.queue.url", "required key is missing"),
    ("  databases:\n    queue:\n      url: http://db/q\n", "database.databases.queue.url (line 13)", "mysql://"),
    ("  databases:\n    queue:\n      url: mysql://db/q\n      replica: []\n",
     "database.databases.queue.replica (line 14)", "unknown key"),
    ("  databases:\n    queue:\n      url: mysql://db/q\n      replicas:\n        - mysql://db:x/q\n",
     "database.databases.queue.replicas[0] (line 15)", "port"),
    ("  databases:\n    primary:\n      url: mysql://db/q\n", "database.databases.primary (line 13)",
     "database.url itself"),
    ("  databases:\n    queue: mysql://db/q\n", "database.databases.queue (line 12)", "expected a mapping"),
    ("  databases:\n    - queue\n", "database.databases (line 12)", "expected a mapping of database names"),
    ("  databases:\n    my-queue:\n      url: mysql://db/q\n", "database.databases.my-queue (line 13)",
     "database name"),
    ("  databases:\n    queue:\n      url: mysql://other@DB:3306/shop\n", "database.databases.queue.url (line 13)",
     "the same database as database.url"),
    ("  databases:\n    queue:\n      url: mysql://db/q\n    cache:\n      url: mysql://db/q\n",
     "database.databases.cache.url (line 15)", "the same database as database.databases.queue.url"),
    ("  databases:\n    queue:\n      url: mysql://db/q\n      replicas: [mysql://r/q, {name: replica1, url: "
     "'mysql://s/q'}]\n", "database.databases.queue.replicas", "names must be unique"),
])
def test_bad_databases_name_key_line_and_fix(extra, key, words):
    message = rejected(extra)
    assert key in message and words in message, message


def test_an_empty_databases_key_is_the_primary_alone():
    assert parse("  databases:\n").database.databases == ()
