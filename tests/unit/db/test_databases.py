"""The app's databases: migrations grouped by the database they carry, servers named by it, a database without a
URL named with the fix, and server-wide readings taken once per server."""

from __future__ import annotations

import dataclasses

from shipit.core import config
from shipit.db.databases import (
    by_database,
    databases_from_config,
    distinct_endpoints,
    unconfigured,
    unconfigured_message,
)
from shipit.db.health import LagSource, ReplicaLag
from shipit.db.schema_ready import Readiness, merge_readiness


@dataclasses.dataclass(frozen=True)
class Migration:
    version: str
    path: str = ""
    database: str = "primary"


CONFIG = """\
app: shop
image: {repository: reg/shop}
deployments: [{name: web}]
migration: {from_deployment: web, container: web}
database:
  url: mysql://shop@db:3306/shop
  replicas: [mysql://shop@db-r1:3306/shop]
  databases:
    queue:
      url: mysql://shop@db:3306/shop_queue
      replicas: [{name: reader, url: "mysql://shop@db-r1:3306/shop_queue"}]
    cache:
      url: mysql://shop@cache:3306/shop_cache
"""


def test_migrations_group_by_database_primary_first_in_plan_order():
    ms = [Migration("3", database="queue"), Migration("1"), Migration("4", database="cache"), Migration("2"),
          Migration("5", database="queue")]
    assert [(name, [m.version for m in group]) for name, group in by_database(ms)] == [
        ("primary", ["1", "2"]), ("queue", ["3", "5"]), ("cache", ["4"])]
    assert [name for name, _ in by_database([Migration("3", database="queue")])] == ["queue"]
    assert by_database([]) == ()


def test_each_databases_servers_are_named_by_it():
    dbs = databases_from_config(config.parse(CONFIG, env={}).database)
    assert dbs.names == ("primary", "queue", "cache")
    assert [s.name for s in dbs.all_servers()] == ["primary", "replica1", "queue:primary", "queue:reader",
                                                   "cache:primary"]
    assert dbs.get("queue").primary.url.database == "shop_queue" and dbs.get("jobs") is None
    assert dbs.primary.primary.url.database == "shop"


def test_server_wide_readings_come_once_from_a_server_holding_several_databases():
    dbs = databases_from_config(config.parse(CONFIG, env={}).database)
    assert [s.name for s in distinct_endpoints(dbs.all_servers())] == ["primary", "replica1", "cache:primary"]


def test_a_database_without_configuration_is_named_with_its_migrations_and_the_fix():
    ms = [Migration("1", "db/migrate/1_a.rb"), Migration("2", "db/queue_migrate/2_b.rb", "queue"),
          Migration("3", "db/queue_migrate/3_c.rb", "queue"), Migration("4", "db/queue_migrate/4_d.rb", "queue"),
          Migration("5", "db/cache_migrate/5_e.rb", "cache")]
    missing = unconfigured(ms, ("primary", "cache"))
    assert missing == (("queue", ("db/queue_migrate/2_b.rb", "db/queue_migrate/3_c.rb", "db/queue_migrate/4_d.rb")),)
    message = unconfigured_message(missing)
    assert message.startswith("the release migrates database queue (db/queue_migrate/2_b.rb, "
                              "db/queue_migrate/3_c.rb and 1 more) that the configuration does not reach")
    assert "Add database.databases.queue.url" in message
    assert unconfigured(ms, ("primary", "queue", "cache")) == ()
    two = unconfigured_message(unconfigured(ms, ("primary",)))
    assert "databases queue (" in two and "; cache (db/cache_migrate/5_e.rb)" in two
    assert two.endswith("Add database.databases.queue.url (the database of config/database.yml's `queue`), "
                        "and likewise for cache")


def test_several_databases_are_ready_only_when_each_is():
    lag = ReplicaLag("queue:replica1", 2.0, True, True, LagSource.REPLICA_STATUS)
    ready = Readiness(True, (), lags=(lag,))
    waiting = Readiness(False, ("queue:primary: index i on jobs (batch_id) missing",))
    merged = merge_readiness([ready, waiting])
    assert not merged.ready and merged.waiting_for == waiting.waiting_for and merged.lags == (lag,)
    assert merge_readiness([ready, ready]).ready


def test_a_database_yml_database_without_a_url_is_said_once():
    from shipit.db.databases import unreached_note

    assert unreached_note(("primary", "queue"), ("primary", "queue")) == ""
    assert unreached_note(("primary", "queue"), ("primary",)) == (
        "database queue of config/database.yml has no database.databases entry: shipit reads neither its "
        "schema_migrations nor its health")
    assert unreached_note(("primary", "queue", "cache"), ("primary",)).startswith(
        "databases queue, cache of config/database.yml have no database.databases entry: shipit reads neither their")
