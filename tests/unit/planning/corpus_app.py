"""The app the corpus migrations belong to: its models at --to, its schema at --from and its config/database.yml (a
queue and a cache database with their own migrations_paths), read as `build_plan` does."""

from __future__ import annotations

from pathlib import Path

from shipit.planning.facts import AppFacts, columns_from_schema, is_model_path, models_from_sources

APP = Path(__file__).parent / "corpus_app"


def corpus_facts() -> AppFacts:
    """Models as `build_plan` finds them: the app's and its engines' (engines/shipping)."""
    files = {str(p.relative_to(APP)): p for p in APP.rglob("*.rb")}
    models = {rel: p.read_text() for rel, p in files.items() if is_model_path(rel)}
    schema = APP / "db" / "schema.rb"
    return AppFacts(models_from_sources(models), columns_from_schema("db/schema.rb", schema.read_text()))
