"""A minimal real Rails 6.1 app (Debian's rails + mysql2, no Bundler) for tests and demos that need `rails db:migrate`.

    app = make_rails_app(tmp_path / "app")
    app.add_migration("20240101000001", "add_index_to_users", "def change\\n  add_index :users, :email\\nend")
    result = app.migrate(fresh_db.url)          # subprocess.CompletedProcess; output in .stdout (stderr merged)
    assert result.returncode == 0, result.stdout

Only Active Record is loaded, so a migrate takes about a second. `DATABASE_URL` may be given as mysql:// (shipit's
form); it is rewritten to mysql2:// for Rails. Schema dumps are off, so the app directory stays as written.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

RAILS_VERSION = "6.1"

_FILES = {
    "config/application.rb": """\
require "rails"
require "active_record/railtie"

module ShipitFixtureApp
  class Application < Rails::Application
    config.load_defaults 6.1
    config.root = File.expand_path("..", __dir__)
    config.eager_load = false
    config.active_record.dump_schema_after_migration = false
    config.log_level = :warn
  end
end
""",
    "config/environment.rb": """\
require_relative "application"
Rails.application.initialize!
""",
    "config/database.yml": """\
default: &default
  adapter: mysql2
  encoding: utf8mb4
  url: <%= ENV["DATABASE_URL"] %>

development:
  <<: *default

production:
  <<: *default
""",
    "Rakefile": """\
require_relative "config/application"
Rails.application.load_tasks
""",
    "bin/rails": """\
#!/usr/bin/env ruby
APP_PATH = File.expand_path("../config/application", __dir__)
require "rails/commands"
""",
    "db/migrate/.keep": "",
}


@dataclasses.dataclass(frozen=True)
class RailsApp:
    path: Path

    @property
    def migrations_dir(self) -> Path:
        return self.path / "db" / "migrate"

    def add_migration(self, version: str, name: str, body: str) -> Path:
        """Write `db/migrate/<version>_<name>.rb`. `body` is the class body (e.g. a `def change ... end`), or a whole
        file when it already contains `class`. `name` is snake_case; the class name is its CamelCase."""
        if not re.fullmatch(r"\d{14}", version):
            raise ValueError(f"migration version must be 14 digits (YYYYMMDDHHMMSS), got {version!r}")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"migration name must be snake_case, got {name!r}")
        if re.search(r"^\s*class\s", body, re.MULTILINE):
            text = body
        else:
            klass = "".join(part.capitalize() for part in name.split("_"))
            indented = "\n".join(("    " + line) if line.strip() else "" for line in body.strip("\n").splitlines())
            text = f"class {klass} < ActiveRecord::Migration[{RAILS_VERSION}]\n{indented}\nend\n"
        target = self.migrations_dir / f"{version}_{name}.rb"
        target.write_text(text)
        return target

    def rails(
        self, *args: str, database_url: str, env: Mapping[str, str] | None = None, timeout: float = 180.0
    ) -> subprocess.CompletedProcess:
        """Run `bin/rails <args>` against `database_url`; stderr is merged into stdout."""
        full_env = {**os.environ, "RAILS_ENV": "development", **(env or {}), "DATABASE_URL": rails_url(database_url)}
        full_env.pop("BUNDLE_GEMFILE", None)
        return subprocess.run(
            ["ruby", "bin/rails", *args], cwd=self.path, env=full_env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
        )

    def migrate(self, database_url: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
        return self.rails("db:migrate", database_url=database_url, env=env)


def rails_url(url: str) -> str:
    """Rails picks the adapter from the scheme: mysql2://."""
    return re.sub(r"^(mysql|mariadb)://", "mysql2://", url)


def make_rails_app(path: Path | str) -> RailsApp:
    """Write the app into `path` (created if needed) and return it."""
    root = Path(path)
    for rel, content in _FILES.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    (root / "bin" / "rails").chmod(0o755)
    return RailsApp(root)
