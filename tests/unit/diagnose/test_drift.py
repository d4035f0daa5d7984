"""Schema drift and the release gate: pure comparisons of a schema model with live snapshots."""

from __future__ import annotations

import dataclasses

from shipit.db.drift import (DriftKind, DriftReport, ServerDrift, compare_schema, pending_versions, schema_gate)
from shipit.db.migration_state import SchemaSnapshot
from shipit.planning.schema_file import parse_schema_rb, rails_fk_name

MODEL = dataclasses.replace(parse_schema_rb('''\
ActiveRecord::Schema.define(version: 2024_02_01_000001) do
  create_table "orders", force: :cascade do |t|
    t.bigint "customer_id", null: false
    t.datetime "created_at", null: false
    t.index ["customer_id", "created_at"], name: "index_orders_on_customer_id_and_created_at"
  end
  create_table "payments", force: :cascade do |t|
    t.bigint "order_id", null: false
  end
  add_foreign_key "payments", "orders"
end
'''), migrations=("20240101000001", "20240201000001"))
FK = rails_fk_name("payments", "order_id")
IX = "index_orders_on_customer_id_and_created_at"


def snapshot(*, indexes=None, fks=None, columns=None, tables=("orders", "payments"), hidden=()) -> SchemaSnapshot:
    cols = columns if columns is not None else {("orders", "id"), ("orders", "customer_id"), ("orders", "created_at"),
                                                ("payments", "id"), ("payments", "order_id")}
    ix = {("orders", "primary"): (("id",), True), ("payments", "primary"): (("id",), True),
          ("orders", IX): (("customer_id", "created_at"), False), ("payments", FK): (("order_id",), False)}
    return SchemaSnapshot(frozenset(tables), frozenset(cols), indexes if indexes is not None else ix,
                          fks if fks is not None else {("payments", FK): ("order_id",)}, frozenset(hidden))


def kinds(drifts) -> list[tuple[DriftKind, str]]:
    return [(d.kind, d.name) for d in drifts]


def test_matching_schema_has_no_drift():
    assert compare_schema(MODEL, snapshot(), server="primary") == ()


def test_missing_index_foreign_key_column_and_table_are_drift_the_code_depends_on():
    live = snapshot(indexes={("orders", "primary"): (("id",), True)}, fks={},
                    columns={("orders", "id"), ("orders", "created_at")}, tables=("orders",))
    drifts = compare_schema(MODEL, live, server="replica1")
    assert kinds(drifts) == [(DriftKind.MISSING_COLUMN, "customer_id"), (DriftKind.MISSING_INDEX, IX),
                             (DriftKind.MISSING_TABLE, "payments")]
    assert all(d.depends and d.server == "replica1" for d in drifts)
    assert drifts[1].describe() == f"index {IX} on orders (customer_id, created_at) is missing"


def test_index_with_other_columns_hidden_or_renamed():
    differs = snapshot(indexes={("orders", IX): (("customer_id",), False)})
    assert kinds(compare_schema(MODEL, differs, server="p", tables=["orders"])) == [(DriftKind.INDEX_DIFFERS, IX)]
    hidden = snapshot(hidden={("orders", IX)})
    assert [d.depends for d in compare_schema(MODEL, hidden, server="p")] == [True]
    renamed = snapshot(indexes={("orders", "by_customer"): (("customer_id", "created_at"), False),
                                ("payments", FK): (("order_id",), False)})
    (d,) = compare_schema(MODEL, renamed, server="p")
    assert d.kind is DriftKind.INDEX_OTHER_NAME and d.found == ("by_customer",) and not d.depends


def test_extra_objects_are_reported_but_not_depended_on():
    live = snapshot()
    live.indexes[("orders", "index_orders_on_created_at")] = (("created_at",), False)
    live.foreign_keys[("orders", "fk_other")] = ("customer_id",)
    drifts = compare_schema(MODEL, live, server="p")
    assert kinds(drifts) == [(DriftKind.EXTRA_INDEX, "index_orders_on_created_at"), (DriftKind.EXTRA_FOREIGN_KEY, "fk_other")]
    assert not any(d.depends for d in drifts)


def test_foreign_key_found_by_columns_under_another_name():
    assert compare_schema(MODEL, snapshot(fks={("payments", "payments_order_fk"): ("order_id",)}), server="p") == ()


def test_pending_versions():
    drifts = pending_versions(MODEL, {"20240101000001", "20230101000000"}, server="primary")
    assert kinds(drifts) == [(DriftKind.PENDING_VERSION, "20240201000001")] and drifts[0].depends


def test_report_blocking_and_json():
    report = DriftReport("a" * 40, "db/schema.rb", (
        ServerDrift("primary", pending_versions(MODEL, set(), server="primary")[:1]), ServerDrift("replica1", error="down")))
    assert [d.name for d in report.blocking] == ["20240101000001"]
    j = report.to_json()
    assert j["ok"] is False and j["servers"][1] == {"name": "replica1", "error": "down", "drift": []}
    assert "replica1: cannot be read: down" in report.render_text()


def test_gate_passes_when_every_server_has_the_objects_of_the_touched_tables():
    v = schema_gate(MODEL, ["ORDERS"], {"primary": snapshot(), "replica1": snapshot()})
    assert v.ok and v.missing == () and "orders" in v.message


def test_gate_fails_naming_the_server_and_object_and_ignores_untouched_tables():
    no_index = snapshot(indexes={("orders", "primary"): (("id",), True)}, fks={})
    v = schema_gate(MODEL, ["orders"], {"primary": snapshot(), "replica1": no_index})
    assert not v.ok and [(d.server, d.name) for d in v.missing] == [("replica1", IX)]
    assert f"replica1: index {IX} on orders (customer_id, created_at) is missing" in v.message
    assert "Next:" in v.message
    assert schema_gate(MODEL, ["customers"], {"primary": no_index}).ok  # the release does not touch orders


def test_gate_ignores_extra_objects():
    live = snapshot()
    live.indexes[("orders", "extra")] = (("created_at",), False)
    assert schema_gate(MODEL, ["orders", "payments"], {"primary": live}).ok
