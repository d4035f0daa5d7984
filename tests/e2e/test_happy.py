"""A release end to end on real parts: the first one creates the schema and rolls the code out."""

from __future__ import annotations




def test_first_release_migrates_then_rolls_out(sandbox):
    sb = sandbox
    sb.add_migration("20240101000001", "create_users", "def change\n  create_table :users do |t|\n    t.string :email\n  end\nend")
    sha = sb.change_code("app/models/user.rb", "class User < ApplicationRecord\nend\n")
    r = sb.shipit("release", "--from", sb.initial_sha, "--output", "json")
    assert r.code == 0, r.text
    out = r.json()
    assert sb.schema_versions() == {"20240101000001"}
    assert set(sb.deployment_images().values()) == {sb.image(sha)}
    assert sb.serving_images() == {"web": {sb.image(sha)}, "worker": {sb.image(sha)}}
    assert len(sb.job_names()) == 1
    assert out["status"] == "succeeded", out


def test_in_ci_every_stderr_line_is_json_and_stdout_is_the_summary_object(sandbox):
    import json

    sb = sandbox
    sb.add_migration("20240101000001", "create_users", "def change\n  create_table :users do |t|\n    t.string :email\n  end\nend")
    sha = sb.change_code()
    r = sb.shipit("release", "--from", sb.initial_sha, "--output", "json", env={"CI": "true"})
    assert r.code == 0, r.text
    events = [json.loads(line) for line in r.stderr.splitlines() if line.strip()]
    phases = [(e["event"], e.get("phase")) for e in events if e["event"].startswith("phase")]
    assert ("phase started", "migrate") in phases and ("phase ended", "record") in phases, phases
    assert any(e["event"] == "output" and "CreateUsers: migrated" in e["line"] for e in events)
    assert r.json()["to"] == sha
    sb.assert_no_secret(r)


def test_bad_input_is_exit_3_with_a_clear_message_and_json(sandbox):
    sb = sandbox
    r = sb.shipit("release", "--output", "json")  # nothing recorded yet: the first release needs --from
    assert r.code == 3, r.text
    assert r.json()["exit_code"] == 3 and "--from" in r.json()["message"]
    r = sb.shipit("release", "--resume", "--output", "json")
    assert r.code == 3 and "nothing to resume" in r.json()["message"], r.text
    sb.bootstrap()
    r = sb.shipit("rollback", "--output", "json")  # one release only: nothing before it
    assert r.code == 3 and "no previous successful release" in r.json()["message"], r.text
    r = sb.shipit("rollback", "--to", "r0042")
    assert r.code == 3 and "r0042" in r.stderr, r.text
    assert sb.status()["lock"] is None and [h["status"] for h in sb.history()] == ["succeeded"]
