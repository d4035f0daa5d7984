"""gitrevert against a real bare repository acting as origin."""

from __future__ import annotations

import git
import pytest

from shipit.core.config import GitRevert
from shipit.core.errors import ShipitError
from shipit.adapters.git_revert import revert_release


@pytest.fixture
def origin_and_clone(tmp_path):
    bare = git.Repo.init(tmp_path / "origin.git", bare=True, initial_branch="main")
    work = git.Repo.clone_from(str(tmp_path / "origin.git"), tmp_path / "work")
    with work.config_writer() as cw:
        cw.set_value("user", "name", "dev").set_value("user", "email", "dev@example.com")

    def commit(path: str, text: str, msg: str) -> str:
        (tmp_path / "work" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "work" / path).write_text(text)
        work.index.add([path])
        return work.index.commit(msg).hexsha

    base = commit("app.rb", "v1\n", "initial")
    work.git.push("origin", "HEAD:refs/heads/main")
    work.git.branch("--set-upstream-to=origin/main")
    return bare, work, commit, base


def tree_files(repo, rev):
    return {b.path: b.data_stream.read().decode() for b in repo.commit(rev).tree.traverse() if b.type == "blob"}


def test_branch_mode_pushes_a_revert_branch(origin_and_clone):
    bare, work, commit, base = origin_and_clone
    commit("db/migrate/1_add_index.rb", "add_index\n", "add index")
    head = commit("app.rb", "v2\n", "use index")
    work.git.push("origin", "HEAD:refs/heads/main")
    result = revert_release(work.working_dir, base, head, mode=GitRevert.BRANCH, release_id="r0007")
    assert result.branch == "shipit/revert-r0007" and len(result.reverted) == 2
    pushed = bare.commit("shipit/revert-r0007")
    assert pushed.hexsha == result.head and tree_files(bare, pushed) == tree_files(bare, base)
    assert pushed.parents[0].parents[0].hexsha == head  # two reverts on top of the release's head
    assert "Revert" in pushed.message
    assert bare.commit("main").hexsha == head  # the deployed branch is untouched in branch mode
    assert work.head.commit.hexsha == head and not work.is_dirty()  # the caller's checkout is untouched
    assert work.git.worktree("list").count("\n") == 0


def test_push_mode_fast_forwards_the_deployed_branch_on_top_of_new_work(origin_and_clone, tmp_path):
    bare, work, commit, base = origin_and_clone
    head = commit("app.rb", "v2\n", "crashing change")
    work.git.push("origin", "HEAD:refs/heads/main")
    other = git.Repo.clone_from(str(tmp_path / "origin.git"), tmp_path / "other")
    (tmp_path / "other" / "README").write_text("docs\n")
    other.index.add(["README"])
    other.index.commit("unrelated docs", author=git.Actor("o", "o@x"), committer=git.Actor("o", "o@x"))
    other.git.push("origin", "HEAD:refs/heads/main")
    result = revert_release(work.working_dir, base, head, mode=GitRevert.PUSH, release_id="r0002",
                            deployed_branch="main")
    main = bare.commit("main")
    assert main.hexsha == result.head and result.branch == "main"
    assert tree_files(bare, main) == {"app.rb": "v1\n", "README": "docs\n"}  # the other push kept: no force


def test_push_mode_finds_the_deployed_branch(origin_and_clone):
    bare, work, commit, base = origin_and_clone
    head = commit("app.rb", "v2\n", "change")
    work.git.push("origin", "HEAD:refs/heads/main")
    result = revert_release(work.working_dir, base, head, mode=GitRevert.PUSH, release_id="r0003")
    assert result.branch == "main" and tree_files(bare, "main") == {"app.rb": "v1\n"}
    assert "pushed 1 revert commit(s) to origin/main" in result.describe()


def test_conflicting_revert_pushes_nothing(origin_and_clone):
    bare, work, commit, base = origin_and_clone
    head = commit("app.rb", "v2\n", "change")
    work.git.push("origin", "HEAD:refs/heads/main")
    later = commit("app.rb", "v3\n", "later change on the same line")
    work.git.push("origin", "HEAD:refs/heads/main")
    with pytest.raises(ShipitError, match="conflicts; nothing was pushed"):
        revert_release(work.working_dir, base, head, mode=GitRevert.PUSH, release_id="r0004", deployed_branch="main")
    assert bare.commit("main").hexsha == later
    assert work.git.worktree("list").count("\n") == 0


def test_rejected_push_is_reported(origin_and_clone, tmp_path):
    bare, work, commit, base = origin_and_clone
    head = commit("app.rb", "v2\n", "change")
    work.git.push("origin", "HEAD:refs/heads/main")
    hook = tmp_path / "origin.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(ShipitError, match="git revert failed"):
        revert_release(work.working_dir, base, head, mode=GitRevert.PUSH, release_id="r0005", deployed_branch="main")
    assert bare.commit("main").hexsha == head


def test_not_a_repository(tmp_path):
    with pytest.raises(ShipitError, match="not a git repository"):
        revert_release(tmp_path, "a", "b", mode=GitRevert.BRANCH, release_id="r1")
