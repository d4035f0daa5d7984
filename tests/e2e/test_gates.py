"""Gates end to end: the outage's signature (a new query pile-up after the rollout) fails the bake and reverts;
a failing HTTP check before the code stops the release with nothing rolled out; a migration-only release skips
the code phases."""

from __future__ import annotations

import threading


from tests.support.sandbox import Sandbox, connect



PILEUP = 8


def _phase(out: dict, name: str) -> dict:
    return next(p for p in out["phases"] if p["phase"] == name)


def _pile_up(sb: Sandbox, stop: threading.Event, started: list[int]) -> None:
    """Once the new code is out, PILEUP sessions run the same slow query shape: the outage's 'many threads stuck on
    one query'."""
    while not stop.wait(0.1):
        if any(image != sb.image(sb.initial_sha) for image in sb.deployment_images().values()) and \
                len(set(sb.deployment_images().values())) == 1 and sb.head() in next(iter(sb.deployment_images().values())):
            break
    else:
        return

    def slow(conn) -> None:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT SLEEP(30) FROM users WHERE email = 'stuck@example.com' LIMIT 1")
        except Exception:
            pass  # killed at the end of the test

    for _ in range(PILEUP):
        conn = connect(sb.db_admin_url)
        started.append(conn.thread_id())
        threading.Thread(target=slow, args=(conn,), daemon=True).start()


def test_query_pileup_during_bake_fails_and_reverts(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.sql("INSERT INTO users (email, created_at, updated_at) VALUES ('stuck@example.com', NOW(), NOW())")
    target = sb.change_code()
    sb.write_config(gates={"bake": "10s"})
    stop, sessions = threading.Event(), []
    piler = threading.Thread(target=_pile_up, args=(sb, stop, sessions), daemon=True)
    piler.start()
    try:
        r = sb.shipit("release", "--output", "json")
    finally:
        stop.set()
        piler.join()
        for thread_id in sessions:
            try:
                sb.sql(f"KILL {int(thread_id)}")
            except Exception:
                pass
    assert sessions, "the pile-up never started"
    assert r.code == 1, r.text
    out = r.json()
    assert out["status"] == "reverted", out
    assert _phase(out, "verify")["status"] == "failed" and _phase(out, "revert")["status"] == "succeeded"
    diagnosis = out["diagnosis"]
    assert "database health" in diagnosis["what"], diagnosis
    assert "query shape" in diagnosis["why"] and "sleep" in diagnosis["why"].lower(), diagnosis
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    assert base != target


def test_http_gate_failing_before_code_stops_with_nothing_rolled_out(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.change_code()
    sb.write_config(rollout={"timeout": "4s"})  # the gates wait at most rollout.timeout for a pass
    sb.http.set_status(503)
    try:
        r = sb.shipit("release", "--output", "json")
    finally:
        sb.http.set_status(200)
    assert r.code == 1, r.text
    out = r.json()
    assert out["status"] == "failed" and _phase(out, "gates")["status"] == "failed", out
    assert "503" in " ".join([out["diagnosis"]["why"], *out["diagnosis"]["details"]]), out["diagnosis"]
    # the failed phase keeps each gate's last reading: the HTTP gate's 503, failing for the whole wait
    http = next(g for g in _phase(out, "gates")["gates"] if g["gate"].startswith("HTTP "))
    assert http["ok"] is False and "HTTP 503" in http["summary"] and http["held_s"] > 0, http
    assert not any(p["phase"] in ("code", "revert") for p in out["phases"]), out["phases"]
    assert set(sb.deployment_images().values()) == {sb.image(base)}


def test_migration_only_release_rolls_out_the_commits_image_so_the_record_is_what_serves(sandbox):
    """No file the app loads changed, yet the Deployments must run the commit's image: otherwise the record names an
    image nothing serves, and a later rollback to this release restores the wrong one."""
    sb = sandbox
    sb.bootstrap()
    target = sb.add_migration("20240111000001", "add_nickname_to_users", "def change\n  add_column :users, :nickname, :string\nend")
    r = sb.shipit("release", "--output", "json")
    assert r.code == 0, r.text
    out = r.json()
    assert "no code change" in _phase(out, "plan")["message"], r.text
    assert _phase(out, "migrate")["status"] == "succeeded"
    assert _phase(out, "code")["status"] == "succeeded" and _phase(out, "verify")["status"] == "succeeded", r.text
    assert "nickname" in {c["Field"] for c in sb.sql("SHOW COLUMNS FROM users")}
    assert set(sb.deployment_images().values()) == {sb.image(target)} == {out["image_after"]}


def test_database_unreachable_with_a_wrong_password_fails_safely_without_printing_it(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.change_code()
    wrong = "wrong-" + sb.password
    for output in ("text", "json"):
        r = sb.shipit("release", "--output", output, env={"SHIPIT_DB_PASSWORD": wrong})
        assert r.code == 1, r.text
        assert wrong not in r.stdout + r.stderr and sb.password not in r.stdout + r.stderr, r.text
        assert "Access denied" in r.stdout + r.stderr, r.text
        if output == "json":
            assert r.json()["status"] == "failed"
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    assert sb.status()["lock"] is None


def test_image_never_built_fails_the_migration_job_fast_with_nothing_applied(sandbox):
    """The build pipeline did not push the image for the target commit: the migration Job cannot pull it."""
    from tests.kubesim.images import ImageBehaviour

    sb = sandbox
    base = sb.bootstrap()
    sb.add_migration("20240114000001", "add_nickname_to_users", "def change\n  add_column :users, :nickname, :string\nend")
    target = sb.change_code()
    sb.image_behaviour(target, ImageBehaviour(pullable=False))
    r = sb.shipit("release", "--output", "json")
    assert r.code == 1, r.text
    out = r.json()
    assert out["status"] == "failed" and _phase(out, "migrate")["status"] == "failed", out
    assert _phase(out, "migrate")["duration_s"] < 30  # not the Job's 5m activeDeadlineSeconds
    text = " ".join([out["diagnosis"]["what"], out["diagnosis"]["why"], *out["diagnosis"]["details"]])
    assert "ErrImagePull" in text or "ImagePullBackOff" in text, out["diagnosis"]
    assert sb.image(target) in text
    assert "20240114000001" not in sb.schema_versions()
    assert set(sb.deployment_images().values()) == {sb.image(base)}


def test_a_configured_deployment_missing_from_the_cluster_stops_before_anything_changes(sandbox):
    sb = sandbox
    base = sb.bootstrap()
    sb.change_code()
    config = sb.config_path.read_text().replace("- name: worker\n", "- name: worker\n- name: api\n")
    sb.config_path.write_text(config)
    r = sb.shipit("release", "--output", "json")
    assert r.code == 3, r.text  # bad input, named before the lock
    message = r.stdout + r.stderr
    assert "no Deployment 'api'" in message and "kubernetes.namespace" in message, r.text
    assert "Traceback" not in r.stderr, r.text
    r.json()  # still one JSON object
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    assert sb.status()["lock"] is None
