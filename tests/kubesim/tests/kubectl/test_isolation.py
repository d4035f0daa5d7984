"""kubesim is test infrastructure: shipit's package never imports it ."""

from __future__ import annotations

import ast
from pathlib import Path

SHIPIT = Path(__file__).resolve().parents[4] / "shipit"


def test_shipit_never_imports_tests():
    offenders = []
    for path in sorted(SHIPIT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{path.relative_to(SHIPIT.parent)}:{node.lineno} {n}" for n in names
                          if n == "tests" or n.startswith("tests.")]
    assert list(SHIPIT.rglob("*.py")), "shipit package not found"
    assert offenders == []
