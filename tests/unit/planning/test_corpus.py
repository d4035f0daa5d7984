"""Every corpus migration gets the verdict a careful release engineer gives it, and parses to exactly the
operations and checks recorded for it.

Each corpus file ends with `# verdict: <phase>: <why>` (the engineer's judgement, written by hand) and may add
`# reason: <words>` that shipit's own reason must contain. The migrations belong to one app (`corpus_app/`: its
models at --to, its schema at --from), read as `build_plan` reads a repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shipit.planning.classify import checks_for, classify
from shipit.planning.rails import parse_migration
from tests.unit.planning.corpus_app import corpus_facts
from tests.unit.planning.corpus_expected import EXPECTED

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.rb"))
FACTS = corpus_facts()
_VERDICT = re.compile(r"^# verdict: (pre_deploy|post_deploy|manual): (.+)$", re.M)
_REASON = re.compile(r"^# reason: (.+)$", re.M)


def test_corpus_is_complete():
    assert len(FILES) >= 80
    assert sorted(EXPECTED) == FILES


@pytest.mark.parametrize("rel", FILES)
def test_corpus_file(rel):
    path = CORPUS / rel
    text = path.read_text()
    verdict = _VERDICT.search(text)
    assert verdict, f"{rel} has no `# verdict: <phase>: <why>` line"
    parsed = parse_migration(text, rel)
    phase, reason = classify(parsed, post_migrate_dir=path.parent.name == "post_migrate", facts=FACTS)
    assert phase.value == verdict.group(1), f"engineer: {verdict.group(2)}; shipit: {reason}"
    assert reason and "\n" not in reason
    for words in _REASON.findall(text):
        assert words in reason
    ops = []
    for op in parsed.operations:
        data = op.to_json()
        data.pop("source", None)
        ops.append(data)
    assert ops == EXPECTED[rel]["ops"]
    checks = [c.to_json() for c in checks_for(parsed)]
    assert all(c.pop("migration_version") == parsed.version for c in checks)
    assert checks == EXPECTED[rel]["checks"]
