"""Every corpus migration parses to exactly the operations, phase and checks recorded for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipit.planning.classify import checks_for, classify
from shipit.planning.migrations import parse_migration
from tests.unit.planning.corpus_expected import EXPECTED

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.rb"))


def test_corpus_is_complete():
    assert len(FILES) >= 40
    assert sorted(EXPECTED) == FILES


@pytest.mark.parametrize("rel", FILES)
def test_corpus_file(rel):
    path = CORPUS / rel
    parsed = parse_migration(path.read_bytes(), rel)
    expected = EXPECTED[rel]
    ops = []
    for op in parsed.operations:
        data = op.to_json()
        data.pop("source", None)
        ops.append(data)
    assert ops == expected["ops"]
    phase, reason = classify(parsed, post_migrate_dir=path.parent.name == "post_migrate")
    assert phase.value == expected["phase"], reason
    assert reason and "\n" not in reason
    checks = [c.to_json() for c in checks_for(parsed)]
    assert all(c.pop("migration_version") == parsed.version for c in checks)
    assert checks == expected["checks"]
