"""The app's git history as shipit needs it: two commits, whether one leads to the other, and what changed between.

One `git diff` of the two trees answers "what changed"; the history in between is never walked, so planning stays
fast on repositories with years of commits. GitPython is imported only when a repository is opened.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from shipit.core.errors import BadInput


class ChangeStatus(str, enum.Enum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"


@dataclass(frozen=True)
class FileChange:
    path: str
    status: ChangeStatus


@dataclass(frozen=True)
class Range:
    from_sha: str
    to_sha: str
    changes: tuple[FileChange, ...]


class GitRepo:
    """A repository opened for reading; every failure is a `BadInput` naming the path or ref."""

    def __init__(self, path: str | Path):
        import git

        p = Path(path)
        if not p.exists():
            raise BadInput(f"{p}: no such directory")
        try:
            self._repo = git.Repo(p, search_parent_directories=False)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise BadInput(f"{p}: not a git repository") from None
        self.path = p
        self._git = git

    def resolve(self, ref: str) -> str:
        """The commit sha a ref names (branch, tag, sha, `HEAD~3`)."""
        if not ref or ref.startswith("-"):
            raise BadInput(f"{ref!r} is not a git ref")
        try:
            out = self._repo.git.rev_parse("--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        except self._git.GitCommandError:
            raise BadInput(f"unknown git ref {ref!r} in {self.path}") from None
        return out.strip()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self._repo.is_ancestor(ancestor, descendant)

    def diff(self, from_sha: str, to_sha: str) -> tuple[FileChange, ...]:
        """Files that differ between two commits (renames reported as delete + add: Rails keys migrations by version)."""
        out = self._repo.git.diff("--name-status", "--no-renames", "-z", from_sha, to_sha, "--")
        fields = out.split("\0")
        changes = []
        status_map = {"A": ChangeStatus.ADDED, "M": ChangeStatus.MODIFIED, "D": ChangeStatus.DELETED,
                      "T": ChangeStatus.MODIFIED}
        for i in range(0, len(fields) - 1, 2):
            code, path = fields[i], fields[i + 1]
            if code:
                changes.append(FileChange(path, status_map.get(code[0], ChangeStatus.MODIFIED)))
        return tuple(changes)

    def read(self, sha: str, path: str) -> bytes:
        """A file's bytes at a commit, asked of GitPython's persistent `cat-file --batch` as `<sha>:<path>`: walking
        GitPython's tree objects instead re-parses every directory on the way (3,000 entries in a big db/migrate)."""
        return self._repo.git.get_object_data(f"{sha}:{path}")[3]

    def names(self, sha: str, folder: str) -> tuple[str, ...]:
        """Names of the entries directly in `folder` at a commit (empty when the folder does not exist there)."""
        out = self._repo.git.ls_tree("--name-only", sha, f"{folder.rstrip('/')}/")
        return tuple(line.rsplit("/", 1)[-1] for line in out.splitlines())

    def range(self, from_ref: str, to_ref: str) -> Range:
        from_sha, to_sha = self.resolve(from_ref), self.resolve(to_ref)
        if from_sha != to_sha and not self.is_ancestor(from_sha, to_sha):
            raise BadInput(
                f"--from {from_ref} ({from_sha[:12]}) is not an ancestor of --to {to_ref} ({to_sha[:12]}): "
                f"a release moves forward from what is deployed"
            )
        return Range(from_sha, to_sha, self.diff(from_sha, to_sha) if from_sha != to_sha else ())
