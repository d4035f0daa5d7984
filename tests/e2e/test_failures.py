"""A release that fails is stopped before the code, or reverted, and says why.

Each test asserts the cluster (Deployment images, Jobs), the database (schema_migrations, schema) and the release
record afterwards, and that the one-screen diagnosis names what failed, why, what shipit did and what to do next.
"""

from __future__ import annotations

import threading


from tests.support.sandbox import Sandbox



def _phase(out: dict, name: str) -> dict:
    return next(p for p in out["phases"] if p["phase"] == name)


def _assert_diagnosis(sb: Sandbox, r, *fragments: str) -> None:
    """The text summary's diagnosis block: what, why, what shipit did, what next, plus the given evidence."""
    for label in ("What failed:", "Why:", "shipit did:", "Next:"):
        assert label in r.stdout, r.text
    for fragment in fragments:
        assert fragment in r.stdout, f"{fragment!r} not in the diagnosis\n{r.text}"
    sb.assert_no_secret(r)


def test_migration_that_exits_0_without_applying_fails_before_code(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.add_nickname_migration("20240102000001")
    target = sb.change_code()
    jobs_before = sb.job_names()
    sb.write_config(migration={"command": ["bin/rails", "db:version"]})  # the outage: a command that migrates nothing

    r = sb.shipit("release")
    _assert_diagnosis(sb, r, "exited 0 but did not apply 20240102000001")
    assert r.code == 1, r.text  # nothing applied
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    assert len(sb.job_names()) == len(jobs_before) + 1
    assert "20240102000001" not in sb.schema_versions()
    assert "nickname" not in {c["Field"] for c in sb.sql("SHOW COLUMNS FROM users")}
    latest = sb.status()["release"]
    assert (latest["status"], latest["exit_code"], latest["to"]) == ("failed", 1, target)
    assert _phase(latest, "migrate")["status"] == "failed"
    assert not any(p["phase"] == "code" and p["status"] != "skipped" for p in latest["phases"])


def test_migration_failing_half_way_reports_partial_state_exit_2(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.sql("INSERT INTO users (email, created_at, updated_at) VALUES ('a@x', NOW(), NOW())")
    # the backfill's SQL is something preflight cannot check (so it needs --yes); it fails after the column exists
    sb.add_migration("20240102000002", "add_nickname_and_backfill", (
        "def up\n"
        "  add_column :users, :nickname, :string\n"
        "  execute \"UPDATE users SET nickname = legacy_nick\"\n"
        "end\n"
        "def down\n"
        "  remove_column :users, :nickname\n"
        "end"))
    sb.change_code()
    r = sb.shipit("release", "--yes")
    assert r.code == 2, r.text
    _assert_diagnosis(sb, r, "nickname", "A rerun will fail")
    # the why names the SQL error, not only "exited with code 1"
    why = next(line for line in r.stdout.splitlines() if line.startswith("Why:"))
    assert "exited with code 1" in why and "Mysql2::Error: Unknown column 'legacy_nick'" in why, r.text
    # the first step stays applied, the version is not recorded, no code went out
    assert "nickname" in {c["Field"] for c in sb.sql("SHOW COLUMNS FROM users")}
    assert "20240102000002" not in sb.schema_versions()
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    latest = sb.status()["release"]
    assert (latest["status"], latest["exit_code"]) == ("needs_attention", 2), latest
    assert not any(p["phase"] == "code" and p["status"] != "skipped" for p in latest["phases"])


def test_crash_looping_image_is_reverted_within_seconds(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    target = sb.change_code()
    sb.crash_image(target)
    r = sb.shipit("release")
    assert r.code == 1, r.text
    _assert_diagnosis(sb, r, "ActiveRecord::ConnectionNotEstablished", "exit code 1")
    # the previous image serves again, on every pod of every Deployment
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    sb.wait_deployments_ready()
    assert sb.serving_images() == {"web": {sb.image(base)}, "worker": {sb.image(base)}}
    latest = sb.status()["release"]
    assert (latest["status"], latest["exit_code"]) == ("reverted", 1), latest
    code, revert = _phase(latest, "code"), _phase(latest, "revert")
    assert code["status"] == "failed" and revert["status"] == "succeeded"
    # fail-fast: well inside rollout.ready_grace (20s) and rollout.timeout (90s), not at a deadline
    assert code["duration_s"] < 15, code
    assert sb.schema_versions() == {"20240101000001"} and len(sb.job_names()) == 1  # only the bootstrap's Job


def test_http_gate_failing_during_bake_reverts(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    target = sb.change_code()
    sb.write_config(gates={"bake": "8s"})
    stop = threading.Event()

    def break_app_once_rolled_out() -> None:  # the new code "serves 500s" once it is out
        while not stop.wait(0.2):
            if set(sb.deployment_images().values()) == {sb.image(target)}:
                sb.http.set_status(500)
                return

    breaker = threading.Thread(target=break_app_once_rolled_out, daemon=True)
    breaker.start()
    try:
        r = sb.shipit("release")
    finally:
        stop.set()
        breaker.join()
        sb.http.set_status(200)
    assert r.code == 1, r.text
    _assert_diagnosis(sb, r, "HTTP 500", "during the bake")
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    latest = sb.status()["release"]
    assert (latest["status"], latest["exit_code"]) == ("reverted", 1), latest
    assert _phase(latest, "code")["status"] == "succeeded"
    assert _phase(latest, "verify")["status"] == "failed"
    assert _phase(latest, "revert")["status"] == "succeeded"
    sb.wait_deployments_ready()
    assert sb.serving_images() == {"web": {sb.image(base)}, "worker": {sb.image(base)}}
    assert sb.schema_versions() == {"20240101000001"} and len(sb.job_names()) == 1  # only the bootstrap's Job


def test_revert_with_git_revert_branch_pushes_revert_commits_to_origin(sandbox, tmp_path):
    """rollback.git_revert: branch: the automatic revert also pushes shipit/revert-<release> with the reverts of the
    release's range to a real bare origin; the deployed branch is left alone. The Markdown step summary says so."""
    sb = sandbox
    sb.add_origin()
    base = sb.bootstrap()
    sb.push()
    first = sb.change_code("app/models/user.rb", "class User < ApplicationRecord\n  validates :email, presence: true\nend\n")
    target = sb.change_code("app/models/order.rb", "class Order < ApplicationRecord\nend\n")
    sb.push()
    sb.crash_image(target)
    sb.write_config(rollback={"automatic": True, "git_revert": "branch"})
    step_summary = tmp_path / "step_summary.md"

    r = sb.shipit("release", env={"GITHUB_STEP_SUMMARY": str(step_summary)})
    assert r.code == 1, r.text
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    latest = sb.status()["release"]
    assert latest["status"] == "reverted"
    assert any("shipit/revert-" in n for n in latest["notes"]), latest["notes"]

    branch = f"shipit/revert-{latest['release']}"
    log = sb.origin_git("log", "--format=%s", f"{base}..{branch}").splitlines()
    assert len([s for s in log if s.startswith("Revert")]) == 2, log  # one revert per commit of the range
    tree = sb.origin_git("ls-tree", "-r", "--name-only", branch)
    assert "app/models/order.rb" not in tree.splitlines()  # the release's files are reverted on the branch
    assert sb.origin_git("rev-parse", "main") == target  # never pushed to the deployed branch
    assert first != target

    markdown = step_summary.read_text()
    assert "FAILED and REVERTED" in markdown and "**What failed:**" in markdown
    assert sb.password not in markdown


def test_revert_with_git_revert_push_fast_forwards_the_deployed_branch(sandbox):
    """rollback.git_revert: push: the revert commits land on origin/main on top of the released commit (a fast-forward,
    never a force push), so the branch matches what serves again."""
    sb = sandbox
    sb.add_origin()
    base = sb.bootstrap()
    target = sb.change_code("app/models/order.rb", "class Order < ApplicationRecord\nend\n")
    sb.push()
    sb.crash_image(target)
    sb.write_config(rollback={"automatic": True, "git_revert": "push"})
    r = sb.shipit("release")
    assert r.code == 1, r.text
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    head = sb.origin_git("rev-parse", "main")
    assert head != target
    assert sb.origin_git("merge-base", "--is-ancestor", target, head) == ""  # fast-forward: target is an ancestor
    assert sb.origin_git("log", "--format=%s", f"{target}..main").startswith("Revert")
    assert "app/models/order.rb" not in sb.origin_git("ls-tree", "-r", "--name-only", "main").splitlines()
    assert sb.status()["release"]["status"] == "reverted"
