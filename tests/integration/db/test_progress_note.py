"""Preflight through the database port on the real MariaDB: a server that cannot show index-build progress is a
note in the preflight report (never a problem), and only when the release alters a table."""

from __future__ import annotations

import dataclasses
import json
import types

from shipit.adapters.database import MysqlDatabase
from shipit.core import config
from shipit.planning.rails.operations import Operation, OpKind
from shipit.release.state import PlanFacts
from shipit.report.live import PlainView


@dataclasses.dataclass(frozen=True)
class Migration:  # the shape of shipit.planning.plan.Migration that preflight reads
    version: str
    operations: tuple = ()
    checks: tuple = ()
    expected: tuple = ()
    database: str = "primary"


def port(url: str) -> MysqlDatabase:
    cfg = config.parse("app: shop\nimage: {repository: reg/shop}\ndeployments: [{name: web}]\n"
                       "migration: {from_deployment: web, container: web}\n"
                       f"database: {{url: {json.dumps(url)}}}\n", env={})
    return MysqlDatabase(cfg, PlainView())


def facts(*ops: Operation) -> PlanFacts:
    m = Migration("20240301000000", operations=ops)
    return PlanFacts("a" * 40, "b" * 40, True, pre_deploy=(m.version,), plan=types.SimpleNamespace(migrations=(m,)))


ADD_INDEX = Operation(OpKind.ADD_INDEX, "orders", ("customer_id",), name="index_orders_on_customer_id")


def test_an_index_build_on_a_server_without_performance_schema_is_noted_not_stopped(fresh_db):
    db = port(fresh_db.url)  # this machine's MariaDB runs with performance_schema off
    try:
        report = db.preflight(facts(ADD_INDEX))
    finally:
        db.close()
    assert report.problems == (), report
    [note] = report.notes
    assert note.startswith("index build progress will not be shown on primary: performance_schema off"), note
    assert "performance_schema=ON" in note and "Innodb_onlineddl_pct_progress" in note


def test_a_release_that_alters_no_table_has_no_note(fresh_db):
    db = port(fresh_db.url)
    try:
        assert db.preflight(facts(Operation(OpKind.CREATE_TABLE, "refunds"))).notes == ()
    finally:
        db.close()


def test_a_server_with_the_alter_stages_on_has_no_note(pair_db):
    db = port(pair_db.primary_url)
    try:
        assert db.preflight(facts(ADD_INDEX)).notes == ()
    finally:
        db.close()
