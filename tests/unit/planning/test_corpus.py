"""Every corpus migration gets the verdict a careful release engineer gives it, and parses to exactly the
operations and checks recorded for it.

Each corpus file ends with `# verdict: <phase>: <why>` (the engineer's judgement, written by hand) and may add
`# reason: <words>` that shipit's own reason must contain, and `# database: <name>` when it migrates a database other
than the primary. The migrations belong to one app (`corpus_app/`: its models at --to, its schema at --from, its
config/database.yml), read as `build_plan` reads a repository. A file's place in the app is its place in corpus/:
top-level files are in db/migrate, post_migrate/ is db/post_migrate, and db/... or engines/... are that path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shipit.planning.classify import checks_for, classify
from shipit.planning.layout import PRIMARY, layout_for
from shipit.planning.rails import parse_migration
from tests.unit.planning.corpus_app import APP, corpus_facts
from tests.unit.planning.corpus_expected import EXPECTED

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.rb"))
FACTS = corpus_facts()
_VERDICT = re.compile(r"^# verdict: (pre_deploy|post_deploy|manual): (.+)$", re.M)
_REASON = re.compile(r"^# reason: (.+)$", re.M)
_DATABASE = re.compile(r"^# database: (\w+)$", re.M)


def in_app(rel: str) -> str:
    """Where the corpus file sits in the app's repository."""
    if rel.startswith(("db/", "engines/")):
        return rel
    return f"db/{rel}" if rel.startswith("post_migrate/") else f"db/migrate/{rel}"


LAYOUT = layout_for(tuple(in_app(rel) for rel in FILES), (APP / "config" / "database.yml").read_text())


def test_corpus_is_complete():
    assert len(FILES) >= 80
    assert sorted(EXPECTED) == FILES
    # every way a migration reaches an app: its own directories, an engine's, and other databases' paths
    located = [LAYOUT.locate(in_app(rel)) for rel in FILES]
    assert {(d.path, d.database) for d in located} == {
        ("db/migrate", PRIMARY), ("db/post_migrate", PRIMARY), ("engines/shipping/db/migrate", PRIMARY),
        ("db/queue_migrate", "queue"), ("db/cache_migrate", "cache"),
    }


@pytest.mark.parametrize("rel", FILES)
def test_corpus_file(rel):
    path = CORPUS / rel
    text = path.read_text()
    verdict = _VERDICT.search(text)
    assert verdict, f"{rel} has no `# verdict: <phase>: <why>` line"
    where = LAYOUT.locate(in_app(rel))
    assert where is not None, f"{in_app(rel)} is not where the app's Rails loads migrations from"
    declared = _DATABASE.search(text)
    assert where.database == (declared.group(1) if declared else PRIMARY)
    parsed = parse_migration(text, in_app(rel))
    phase, reason = classify(parsed, post_migrate_dir=where.after_code, facts=FACTS)
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
