"""The app the corpus migrations belong to: its models at --to, its schema at --from and its config/database.yml (a
queue and a cache database with their own migrations_paths), read as `build_plan` does."""

from __future__ import annotations

from pathlib import Path

from shipit.planning.facts import AppFacts, columns_from_schema, models_from_sources

APP = Path(__file__).parent / "corpus_app"


def corpus_facts() -> AppFacts:
    models = {str(p.relative_to(APP)): p.read_text() for p in (APP / "app" / "models").rglob("*.rb")}
    schema = APP / "db" / "schema.rb"
    return AppFacts(models_from_sources(models), columns_from_schema("db/schema.rb", schema.read_text()))
