"""Changes and removals of a failed migration against snapshots; "complete" only when every statement is verified."""

import pytest

from shipit.db.migration_state import PartialState, SchemaSnapshot, compare, unplanned_versions
from shipit.db.operation_state import ChangeState, check_changes
from shipit.planning.classify import expected_objects
from shipit.planning.rails import parse_migration


def snap(columns=None, indexes=None, tables=("users",), fks=None):
    columns = columns or {}
    return SchemaSnapshot(frozenset(tables), frozenset(columns), indexes or {}, fks or {}, frozenset(),
                          {k: v for k, v in columns.items() if v})


def parsed(body: str):
    return parse_migration(f"class M < ActiveRecord::Migration[6.1]\n  def change\n{body}\n  end\nend\n".encode(),
                           "db/migrate/20240501000001_m.rb")


@pytest.mark.parametrize("body, after, state, evidence", [
    ("    change_column :users, :name, :text", {("users", "name"): ("varchar(255)", True)}, ChangeState.NOT_APPLIED, "still varchar(255)"),
    ("    change_column :users, :name, :text", {("users", "name"): ("mediumtext", True)}, ChangeState.APPLIED, "mediumtext"),
    ("    change_column :users, :name, :geometry", {("users", "name"): ("varchar(255)", True)}, ChangeState.UNSURE, "cannot map"),
    ("    change_column_null :users, :name, false", {("users", "name"): ("varchar(255)", True)}, ChangeState.NOT_APPLIED, "is NULL"),
    ("    change_column_null :users, :name, false", {("users", "name"): ("varchar(255)", False)}, ChangeState.APPLIED, "NOT NULL"),
    ("    remove_column :users, :name", {("users", "name"): ("varchar(255)", True)}, ChangeState.NOT_APPLIED, "still has name"),
    ("    remove_column :users, :name", {("users", "id"): ("bigint", False)}, ChangeState.APPLIED, "gone"),
    ("    rename_column :users, :name, :full_name", {("users", "full_name"): ("varchar(255)", True)}, ChangeState.APPLIED, "full_name exists"),
    ("    rename_column :users, :name, :full_name", {("users", "name"): ("varchar(255)", True)}, ChangeState.NOT_APPLIED, "name still exists"),
    ("    change_column_default :users, :name, 'x'", {("users", "name"): ("varchar(255)", True)}, ChangeState.UNSURE, "defaults"),
    ('    execute "UPDATE users SET name = 1"', {}, ChangeState.UNSURE, "raw SQL"),
    ("    backfill_names!", {}, ChangeState.UNSURE, "cannot check"),
])
def test_each_change_kind(body, after, state, evidence):
    (result,) = check_changes(parsed(body).operations, None, snap(after))
    assert result.state is state and evidence in result.evidence, result


def test_type_change_seen_between_before_and_after_is_applied():
    before = snap({("users", "n"): ("int(11)", True)})
    after = snap({("users", "n"): ("bigint(20)", True)})
    (r,) = check_changes(parsed("    change_column :users, :n, :bigint").operations, before, after)
    assert r.state is ChangeState.APPLIED and "int(11) to bigint(20)" in r.evidence


def test_remove_index_by_name_and_drop_table():
    ops = parsed('    remove_index :users, name: "idx_old"\n    drop_table :legacy').operations
    results = check_changes(ops, None, snap({}, {("users", "idx_old"): (("a",), False)}, tables=("users",)))
    assert [r.state for r in results] == [ChangeState.NOT_APPLIED, ChangeState.APPLIED]



def test_a_removal_of_what_was_never_there_is_not_applied_though_it_is_gone():
    """The Job failed on `remove_index` of a missing index: "gone" afterwards does not mean this run removed it."""
    ops = parsed('    remove_column :users, :name\n    remove_index :users, name: "idx_missing"\n    drop_table :legacy'
                 ).operations
    before = snap({("users", "name"): ("varchar(255)", True)}, tables=("users",))
    after = snap({("users", "id"): ("bigint", False)}, tables=("users",))
    results = check_changes(ops, before, after)
    assert [r.state for r in results] == [ChangeState.APPLIED, ChangeState.NOT_APPLIED, ChangeState.NOT_APPLIED]
    assert "was not there before" in results[1].evidence and "nothing to drop" in results[2].evidence
    pm = parsed('    remove_column :users, :name\n    remove_index :users, name: "idx_missing"')
    state = PartialState(pm.version, False, compare(expected_objects(pm), after), check_changes(pm.operations, before, after))
    assert state.is_partial and "made all its changes" not in state.render(), state.render()

def _state(body, after):
    pm = parsed(body)
    return PartialState(pm.version, False, compare(expected_objects(pm), after), check_changes(pm.operations, None, after))


def test_all_created_but_a_change_missing_is_part_way_not_complete():
    after = snap({("users", "code"): ("varchar(255)", True), ("users", "name"): ("varchar(255)", True)})
    text = _state("    add_column :users, :code, :string\n    change_column :users, :name, :text", after).render()
    assert "failed part-way" in text and "made all its changes" not in text
    assert "not applied  change_column :users, :name, :text (type is still varchar(255), not :text)  (line 4)" in text


def test_unique_index_found_non_unique_is_a_conflict():
    after = snap({("users", "email"): ("varchar(100)", True)}, {("users", "index_users_on_email"): (("email",), False)})
    state = _state("    add_index :users, :email, unique: true", after)
    assert "but not unique" in state.render() and "made all its changes" not in state.render()


def test_complete_only_when_every_statement_is_verified():
    after = snap({("users", "code"): ("varchar(255)", True), ("users", "name"): ("text", True)})
    body = "    add_column :users, :code, :string\n    change_column :users, :name, :text"
    assert "made all its changes but is NOT recorded" in _state(body, after).render()
    assert "cannot tell whether it completed" in _state(body + "\n    backfill!", after).render()


def test_nothing_applied_with_an_uncheckable_statement_says_so():
    text = _state("    add_column :users, :code, :string\n    backfill!", snap({("users", "id"): ("bigint", False)})).render()
    assert "none of the changes shipit can check exist" in text and "1 statement(s) cannot be checked" in text


def test_unplanned_versions_name_the_extra_ones():
    u = unplanned_versions({"1"}, {"1", "2", "3", "9"}, ("2", "3"), to_sha="c0ffee" * 7)
    assert u.versions == ("9",) and "9" in u.what() and "does not match commit c0ffeec0ffee" in u.why()
    assert unplanned_versions({"1"}, {"1", "2"}, ("2",), to_sha="x") is None
