"""Privilege decisions over readings, and the GRANT statements suggested."""

from __future__ import annotations

from shipit.db.connection import Flavour, Role
from shipit.db.probe import Privilege, Readings, decide, grant_statements, quote_account


def _readings(**kw) -> Readings:
    base = dict(
        server="primary", role=Role.PRIMARY, flavour=Flavour.MYSQL, version=(8, 0, 36), version_text="8.0.36",
        database="shop", account="mon@%", held=frozenset(Privilege), performance_schema=True,
        lock_wait_timeout=10, statement_time_limit=0, sql_mode="STRICT_TRANS_TABLES", foreign_key_checks=True,
    )
    base.update(kw)
    return Readings(**base)


def test_mysql_decisions():
    assert decide(_readings()).warnings == ()
    r = _readings(role=Role.REPLICA, held=frozenset({Privilege.SELECT_SCHEMA}))
    p = decide(r)
    assert p.missing == (Privilege.PROCESS, Privilege.REPLICA_MONITOR, Privilege.SELECT_PERFORMANCE_SCHEMA)
    assert p.blocking_missing == (Privilege.PROCESS, Privilege.REPLICA_MONITOR)
    assert grant_statements(p.missing, Flavour.MYSQL, "mon@%", "shop") == (
        "GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'mon'@'%';",
        "GRANT SELECT ON performance_schema.* TO 'mon'@'%';",
    )
    # MySQL's max_execution_time only limits SELECTs: no migration warning; MariaDB's kills ALTERs
    assert decide(_readings(statement_time_limit=5)).warnings == ()
    maria = decide(_readings(flavour=Flavour.MARIADB, statement_time_limit=5, sql_mode="", foreign_key_checks=False))
    assert [w.split(":")[1].split("=")[0].strip() for w in maria.warnings[:1]] == ["max_statement_time"]
    assert any("not strict" in w for w in maria.warnings) and any("orphaned" in w for w in maria.warnings)


def test_quote_account():
    assert quote_account("mon@10.0.%") == "'mon'@'10.0.%'"
    assert quote_account("a@b@host") == "'a@b'@'host'"
