"""Pruning keeps what `--from` and `shipit rollback` need, whatever `records.keep` says."""

import json

from shipit.kube.records import StoredRecord, records_to_prune, sequence_of, stored_record


def rec(seq, status):
    return StoredRecord(f"r{seq}", seq, status)


def test_failed_retries_never_prune_the_last_two_successes():
    stored = [rec(9, "failed"), rec(8, "failed"), rec(7, "failed"), rec(6, "succeeded"), rec(5, "succeeded"),
              rec(4, "succeeded"), rec(3, "running")]
    assert records_to_prune(stored, 2) == ("r7", "r4")


def test_keep_counts_newest_first_and_spares_the_new_record():
    stored = [rec(s, "failed") for s in range(1, 6)]
    assert set(records_to_prune(stored, 3, keep_name="r1")) == {"r2"}


def test_unknown_sequence_is_never_pruned():
    stored = [StoredRecord("odd", None, "failed")] + [rec(s, "failed") for s in range(1, 4)]
    assert "odd" not in records_to_prune(stored, 1)


def test_keep_zero_behaves_as_one():
    assert records_to_prune([rec(2, "failed"), rec(1, "failed")], 0) == ("r1",)


def cm(label, data_seq=None, status="failed"):
    data = {"release.json": json.dumps({"sequence": data_seq})} if data_seq is not None else {}
    return {"metadata": {"name": "x", "labels": {"shipit.dev/sequence": label, "shipit.dev/status": status}}, "data": data}


def test_sequence_falls_back_to_the_record_json_and_never_raises():
    assert sequence_of(cm("12")) == 12
    assert sequence_of(cm("twelve", 12)) == 12
    assert sequence_of(cm("twelve")) is None
    assert sequence_of({"metadata": {}, "data": {"release.json": "{not json"}}) is None
    assert stored_record(cm("-1")).sequence is None
