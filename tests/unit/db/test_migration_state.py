"""Names Rails and the online schema tools give their locks and leftover tables."""

from __future__ import annotations

from shipit.db.migration_state import (
    MigratorKind,
    classify_artefact_table,
    rails_lock_name,
)


def test_rails_lock_name_matches_rails():
    # Ruby: 2053462845 * Zlib.crc32("c1_scratch"), as logged by a real `rails db:migrate`
    assert rails_lock_name("c1_scratch") == "3350317725355578075"


def test_artefact_names():
    assert classify_artefact_table("_users_gho") == (MigratorKind.GH_OST, "users")
    assert classify_artefact_table("_order_items_ghc") == (MigratorKind.GH_OST, "order_items")
    assert classify_artefact_table("_order_items_ghk") == (MigratorKind.GH_OST, "order_items")
    assert classify_artefact_table("__users_old") == (MigratorKind.PT_OSC, "users")
    assert classify_artefact_table("lhmn_users") == (MigratorKind.LHM, "users")
    assert classify_artefact_table("users_new") is None
    assert classify_artefact_table("schema_migrations") is None
