"""Git side of an automatic revert: revert commits for a release's range, pushed to a branch or the deployed branch.

The work happens in a temporary worktree so the caller's checkout (often CI's) is never touched. Pushes are never
forced: if the deployed branch moved meanwhile the reverts are made on top of its new tip, and a rejected push is
reported, not retried with force.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from shipit.core.config import GitRevert
from shipit.core.errors import ShipitError


@dataclasses.dataclass(frozen=True)
class RevertPush:
    remote: str
    branch: str
    reverted: tuple[str, ...]  # the release's commits, newest first
    head: str  # the pushed commit

    def describe(self) -> str:
        return f"pushed {len(self.reverted)} revert commit(s) to {self.remote}/{self.branch} ({self.head[:7]})"


def revert_branch_name(release_id: str) -> str:
    return f"shipit/revert-{release_id}"


def revert_release(
    repo_path: str | Path,
    from_sha: str,
    to_sha: str,
    *,
    mode: GitRevert,
    release_id: str,
    deployed_branch: str | None = None,
    remote: str = "origin",
) -> RevertPush:
    """Create and push the revert commits of `from_sha..to_sha`.

    BRANCH: a new branch `shipit/revert-<release>` from `to_sha`, for a person to review and merge.
    PUSH: on top of `remote/<deployed_branch>` (default: the remote branch whose tip is `to_sha`, else the current
    branch's upstream), pushed as a fast-forward.
    """
    import git

    if mode is GitRevert.OFF:
        raise ValueError("git revert is off")
    try:
        repo = git.Repo(repo_path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as e:
        raise ShipitError(f"git revert: {repo_path} is not a git repository ({e})") from None
    try:
        repo.git.fetch(remote, "--quiet")
        commits = [c for c in repo.iter_commits(f"{from_sha}..{to_sha}")]
        if not commits:
            raise ShipitError(f"git revert: no commits in {from_sha[:7]}..{to_sha[:7]}")
        if mode is GitRevert.BRANCH:
            branch, base = revert_branch_name(release_id), to_sha
        else:
            branch = deployed_branch or _deployed_branch(repo, remote, to_sha)
            base = f"{remote}/{branch}"
        head = _revert_in_worktree(repo, base, commits, remote, branch)
    except git.GitCommandError as e:
        detail = (e.stderr or e.stdout or str(e)).strip().splitlines()
        raise ShipitError(f"git revert failed: {detail[-1] if detail else e}") from None
    return RevertPush(remote, branch, tuple(c.hexsha for c in commits), head)


def _deployed_branch(repo, remote: str, to_sha: str) -> str:
    heads = [r.remote_head for r in repo.remote(remote).refs if r.commit.hexsha == to_sha and r.remote_head != "HEAD"]
    if len(heads) == 1:
        return heads[0]
    try:
        tracking = repo.active_branch.tracking_branch()
    except TypeError:  # detached HEAD
        tracking = None
    if tracking is not None:
        return tracking.remote_head
    found = ", ".join(heads) if heads else "none"
    raise ShipitError(f"git revert: cannot tell which {remote} branch was deployed (branches at {to_sha[:7]}: {found})")


def _revert_in_worktree(repo, base: str, commits, remote: str, branch: str) -> str:
    import git

    tmp = Path(tempfile.mkdtemp(prefix="shipit-revert-"))
    worktree = tmp / "wt"
    repo.git.worktree("add", "--detach", "--quiet", str(worktree), base)
    try:
        wt = git.Repo(worktree)
        env = _identity(wt)
        with wt.git.custom_environment(**env):
            for commit in commits:  # newest first, so each revert applies cleanly on top of the previous one
                args = ["--no-edit"] + (["-m", "1"] if len(commit.parents) > 1 else []) + [commit.hexsha]
                try:
                    wt.git.revert(*args)
                except git.GitCommandError:
                    wt.git.revert("--abort")
                    raise ShipitError(
                        f"git revert: reverting {commit.hexsha[:7]} ({commit.summary}) on {base} conflicts; "
                        "nothing was pushed"
                    ) from None
            head = wt.head.commit.hexsha
            wt.git.push(remote, f"HEAD:refs/heads/{branch}")  # never --force
        return head
    finally:
        repo.git.worktree("remove", "--force", str(worktree))
        shutil.rmtree(tmp, ignore_errors=True)


def _identity(repo) -> dict[str, str]:
    """Revert commits need an author; CI checkouts often have none configured."""
    reader = repo.config_reader()
    if reader.has_option("user", "name") and reader.has_option("user", "email"):
        return {}
    name, email = "shipit", "shipit@localhost"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


class GitReverter:
    """The git revert port: what `rollback.git_revert` asks for after a successful automatic revert."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    def git_revert(self, release_id: str, from_sha: str, to_sha: str) -> str:
        from shipit.release.diagnosis import Diagnosis, PhaseFailed

        try:
            pushed = revert_release(self.cfg.repo, from_sha, to_sha, mode=self.cfg.rollback.git_revert,
                                    release_id=release_id)
        except ShipitError as e:
            raise PhaseFailed(Diagnosis("git revert failed", str(e))) from e
        return pushed.describe()
