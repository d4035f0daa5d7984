"""The README's code strategy examples are whole configurations the config loader accepts, one per strategy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shipit.core.config import load
from shipit.core.config_code import CodeStrategy

README = Path(__file__).resolve().parents[3] / "README.md"
STRATEGY = re.compile(r"^(\s*strategy: )(\w+)( *# or (\w+))?", re.M)


def examples() -> dict[str, str]:
    """Strategy -> the ```yaml block of the README's `## Code strategies` section that configures it; a block whose
    strategy line says `# or OTHER` configures OTHER too."""
    text = README.read_text()
    start = text.index("\n## Code strategies\n")
    section = text[start:text.index("\n## ", start + 1)]
    out = {}
    for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.S):
        m = STRATEGY.search(block)
        assert m, f"a strategy example without code.strategy:\n{block}"
        assert m.group(2) not in out, f"two examples for {m.group(2)}"
        out[m.group(2)] = block
        if m.group(4):
            out[m.group(4)] = STRATEGY.sub(lambda x: x.group(1) + x.group(4), block, count=1)
    return out


@pytest.mark.parametrize("strategy, block", sorted(examples().items()), ids=sorted(examples()))
def test_each_strategy_example_is_a_whole_config_the_loader_accepts(strategy, block, tmp_path):
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "shipit.yaml"
    path.write_text(block)
    cfg = load(path, env={"SHIPIT_DB_PASSWORD": "secret"})
    assert cfg.code.strategy is CodeStrategy(strategy)
    assert cfg.app == "shop" and cfg.image.repository == "registry.example.com/shop" and cfg.repo == tmp_path
    assert cfg.migration.from_deployment == "web" and cfg.database.url and cfg.gates.http


def test_every_strategy_has_an_example():
    assert sorted(examples()) == sorted(s.value for s in CodeStrategy)
