"""A real git repository per test, built with GitPython, shaped like a Rails app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import git
import pytest


@dataclass
class AppRepo:
    path: Path
    repo: git.Repo

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Write (or delete, for None) files and commit them; returns the new sha."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                self.repo.index.remove([rel], working_tree=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.repo.index.add([rel])
        author = git.Actor("Dev", "dev@example.com")
        return self.repo.index.commit(message, author=author, committer=author).hexsha


def migration(class_name: str, body: str, version: str = "7.1") -> str:
    indented = "\n".join("    " + line if line else "" for line in body.strip("\n").splitlines())
    return f"class {class_name} < ActiveRecord::Migration[{version}]\n  def change\n{indented}\n  end\nend\n"


@pytest.fixture
def app_repo(tmp_path) -> AppRepo:
    path = tmp_path / "app"
    path.mkdir()
    app = AppRepo(path, git.Repo.init(path, initial_branch="main"))
    app.commit(
        {
            "app/models/user.rb": "class User < ApplicationRecord\nend\n",
            "db/migrate/20230101000000_create_users.rb": migration(
                "CreateUsers", "create_table :users do |t|\n  t.string :email\nend"
            ),
            "db/schema.rb": "ActiveRecord::Schema.define(version: 2023_01_01_000000) do\nend\n",
        },
        "initial",
    )
    return app
