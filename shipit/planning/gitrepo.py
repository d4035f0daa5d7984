"""The app's git history as shipit needs it: two commits, whether one leads to the other, and what changed between.

One `git diff` of the two trees answers "what changed" and one `git ls-tree` per commit lists its migrations; the
history in between is never walked, so planning stays fast on repositories with years of commits and works on
shallow clones once the two commits are present. GitPython is imported only when a repository is opened.
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
        """The commit sha a ref names (branch, tag, sha, `HEAD~3`). A commit missing here is fetched from `origin`
        first: CI checkouts are shallow or single-branch, and the deployed commit may be older or elsewhere."""
        if not ref or ref.startswith("-"):
            raise BadInput(f"{ref!r} is not a git ref")
        found = self._rev_parse(ref)
        if found is None and self._has_origin():
            fetch_error = self._fetch(ref)
            found = self._rev_parse(ref)
            if found is None and self.shallow:
                raise BadInput(
                    f"{ref!r} is not in this shallow clone of {self.path} and fetching it from origin failed "
                    f"({fetch_error or 'not found upstream'}): clone the full history (actions/checkout: "
                    f"`fetch-depth: 0`; GitLab: GIT_DEPTH: 0) or run `git fetch --unshallow`"
                )
        if found is None:
            raise BadInput(f"unknown git ref {ref!r} in {self.path}")
        return found

    def _has_origin(self) -> bool:
        return any(r.name == "origin" for r in self._repo.remotes)

    def _rev_parse(self, ref: str) -> str | None:
        try:
            return self._repo.git.rev_parse("--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip()
        except self._git.GitCommandError:
            return None

    @property
    def shallow(self) -> bool:
        return (Path(self._repo.git_dir) / "shallow").exists()

    def _fetch(self, ref: str) -> str | None:
        """Fetch one commit (or branch/tag) from origin; a shallow clone stays shallow (the plan reads trees, never
        the history)."""
        depth = ("--depth=1",) if self.shallow else ()
        try:
            self._repo.git.fetch("--no-tags", *depth, "origin", ref)
            self._repo.git.update_ref(f"refs/shipit/fetched/{ref.replace('/', '_')}", "FETCH_HEAD")
            return None
        except self._git.GitCommandError as e:
            return " ".join(str(e.stderr or e).split())[-200:]

    def files(self, sha: str, under: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Every file path at a commit (optionally under some directories), from one `git ls-tree`."""
        out = self._repo.git.ls_tree("-r", "--name-only", "-z", "--full-tree", sha, "--", *under)
        return tuple(p for p in out.split("\0") if p)

    def read_text(self, sha: str, path: str) -> str | None:
        """A text file at a commit, or None when it does not exist there."""
        try:
            return self.read(sha, path).decode(errors="replace")
        except (ValueError, self._git.GitCommandError):
            return None

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
        """What differs between two commits' trees; they need not be related (a hotfix branch, a side tag)."""
        to_sha, from_sha = self.resolve(to_ref), self.resolve(from_ref)
        return Range(from_sha, to_sha, self.diff(from_sha, to_sha) if from_sha != to_sha else ())
