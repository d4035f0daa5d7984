"""On a real primary + replica pair: the code waits for the index on every server, and a
release killed with -9 (during the DDL wait, during the rollout) is finished by `shipit release --resume`."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator

import pymysql

from shipit.core.config import KubernetesConfig
from shipit.kube.client import Kube
from shipit.kube.records import RecordStore
from shipit.release.phases import ReleaseStatus
from tests.kubesim.images import ImageBehaviour
from tests.support.sandbox import APP, NAMESPACE, Sandbox, connect

INDEX = "index_users_on_email"
ADD_INDEX = "def change\n  add_index :users, :email\nend"


@contextlib.contextmanager
def replica_held_until_wait_ddl(sb: Sandbox) -> Iterator[None]:
    """The replica's SQL thread stopped until the release's record says Wait for DDL runs, so shipit sees the
    replica replay the build whatever the migration Job's latency (the real Job controller's is about a second)."""
    kube = Kube.from_config(KubernetesConfig(namespace=NAMESPACE, kubeconfig=str(sb.cluster.kubeconfig)))
    store, stop = RecordStore(kube, APP), threading.Event()

    def release_when_waiting() -> None:
        while not stop.wait(0.05):
            r = store.latest()
            if r is not None and r.id != before and (r.status is not ReleaseStatus.RUNNING
                                                     or any(p.name == "wait_ddl" for p in r.phases)):
                break
        sb.sql("START REPLICA SQL_THREAD", server="replica1")

    sb.sql("STOP REPLICA SQL_THREAD", server="replica1")
    before = getattr(store.latest(), "id", None)
    thread = threading.Thread(target=release_when_waiting, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        kube.api_client.close()


def fill_users(sb: Sandbox, rows: int) -> None:
    """`rows` users on the primary by INSERT ... SELECT doubling, then wait until the replica has them too."""
    sb.sql("INSERT INTO users (email, name, created_at, updated_at) VALUES ('u1@example.com', 'n', NOW(), NOW())")
    have = 1
    while have < rows:
        batch = min(have, rows - have)
        sb.sql("INSERT INTO users (email, name, created_at, updated_at) "
               f"SELECT CONCAT('u', id + {have}, '@example.com'), name, created_at, updated_at FROM users "
               f"ORDER BY id LIMIT {batch}")
        have += batch
    assert sb.sql("SELECT COUNT(*) AS n FROM users")[0]["n"] == rows
    wait_replica_has(sb, lambda: sb.sql("SELECT COUNT(*) AS n FROM users", server="replica1")[0]["n"] == rows)


def wait_replica_has(sb: Sandbox, predicate, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.2)


def read_until(proc: subprocess.Popen, marker: str, timeout: float = 180.0) -> list[str]:
    """Lines of the release's live output (stderr) up to and including the first one containing `marker`."""
    seen: list[str] = []
    done = threading.Event()

    def reader() -> None:
        for line in proc.stderr:
            seen.append(line)
            if marker in line:
                done.set()
                return
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    assert done.wait(timeout) and seen and marker in seen[-1], "".join(seen[-40:])
    return seen


def test_index_on_a_million_rows_code_waits_for_primary_and_replica(replica_sandbox):
    sb = replica_sandbox
    base = sb.bootstrap()
    fill_users(sb, 1_000_000)
    sb.add_migration("20240106000001", "add_index_to_users_email", ADD_INDEX)
    target = sb.change_code("app/models/user.rb", "class User < ApplicationRecord\n  def self.by_email(e) = find_by(email: e)\nend\n")

    # Sample, every 50 ms, whether the index exists on each server and which image the Deployments run.
    samples: list[tuple[float, bool, bool, bool]] = []
    stop = threading.Event()

    def has_index(conn) -> bool:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
                        "AND TABLE_NAME = 'users' AND INDEX_NAME = %s", (INDEX,))
            return cur.fetchone()[0] > 0

    def sampler() -> None:
        primary = sb_connect(sb, "primary")
        replica = sb_connect(sb, "replica1")
        try:
            while not stop.wait(0.05):
                rolled = any(image != sb.image(base) for image in sb.deployment_images().values())
                samples.append((time.monotonic(), has_index(primary), has_index(replica), rolled))
        finally:
            primary.close()
            replica.close()

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    try:
        with replica_held_until_wait_ddl(sb):
            r = sb.shipit("release", "--output", "json", timeout=600)
    finally:
        stop.set()
        thread.join()
    assert r.code == 0, r.text
    sb.assert_no_secret(r)
    out = r.json()
    assert out["status"] == "succeeded"

    rolled = [s for s in samples if s[3]]
    assert rolled, "the rollout was never observed"
    # the invariant: not one sample with the new code on its way out while an index was missing anywhere
    assert all(p and rep for _, p, rep, _ in rolled), [s for s in rolled if not (s[1] and s[2])][:3]
    # and the wait was real: the replica was seen without the index after the primary had it
    assert any(p and not rep for _, p, rep, _ in samples), "the replica never lagged: the test proves nothing"

    assert INDEX in sb.indexes("users") and INDEX in sb.indexes("users", server="replica1")
    assert "20240106000001" in sb.schema_versions() and "20240106000001" in sb.schema_versions("replica1")
    assert set(sb.deployment_images().values()) == {sb.image(target)}
    phases = {p["phase"]: p for p in out["phases"]}
    assert phases["wait_ddl"]["status"] == "succeeded" and phases["code"]["status"] == "succeeded"
    assert phases["wait_ddl"]["ended"] <= phases["code"]["started"]
    # the live view showed what it waited for while it waited
    lines = r.stderr.splitlines()
    wait = lines[next(i for i, l in enumerate(lines) if "==> Wait for DDL" in l):
                 next(i for i, l in enumerate(lines) if "<== Wait for DDL" in l)]
    assert any("replica1" in l and "create_index" in l and "%" in l for l in wait), "\n".join(wait)


def sb_connect(sb: Sandbox, server: str) -> pymysql.connections.Connection:
    return connect(sb.db_admin_url if server == "primary" else sb.replica_admin_urls[0])


def _kill_and_resume(sb: Sandbox, marker: str, *, after_marker=None) -> tuple[dict, dict]:
    """Start a release, SIGKILL it once `marker` shows in its live output, check the record was left RUNNING, wait out
    the lease and `--resume`. Returns (the record as the crash left it, the resumed run's JSON)."""
    def when(proc) -> None:
        read_until(proc, marker)
        if after_marker:
            after_marker()

    sb.kill_9("release", when=when)
    crashed = sb.status()
    crashed["images"] = sb.deployment_images()
    assert crashed["release"]["status"] == "running", crashed
    assert crashed["lock"], "the dead run's lease should still be on record until it expires"
    deadline = time.monotonic() + 120
    while True:  # the lease (lock.duration 5s) must expire before another run may take over
        r = sb.shipit("release", "--resume", "--output", "json", timeout=600)
        if r.code != 4:
            break
        assert time.monotonic() < deadline, r.text
        time.sleep(1.0)
    assert r.code == 0, r.text
    sb.assert_no_secret(r)
    return crashed["release"] | {"images_at_crash": crashed["images"]}, r.json()


def test_kill_9_during_ddl_wait_then_resume_finishes(replica_sandbox):
    sb = replica_sandbox
    sb.write_config(lock={"duration": "5s"})
    base = sb.bootstrap()
    fill_users(sb, 200_000)
    sb.add_migration("20240107000001", "add_index_to_users_email", ADD_INDEX)
    target = sb.change_code()

    crashed, resumed = _kill_and_resume(sb, "==> Wait for DDL")
    phases = {p["phase"]: p["status"] for p in crashed["phases"]}
    assert phases["migrate"] == "succeeded" and phases["wait_ddl"] == "running", phases
    assert set(crashed["images_at_crash"].values()) == {sb.image(base)}  # killed before any code went out

    assert resumed["release"] == crashed["release"] and resumed["status"] == "succeeded"
    assert any("resumed" in n and "wait_ddl" in n for n in resumed["notes"]), resumed["notes"]
    assert len([j for j in sb.job_names() if crashed["release"] in j]) == 1  # the migration did not run again
    assert INDEX in sb.indexes("users") and INDEX in sb.indexes("users", server="replica1")
    assert set(sb.deployment_images().values()) == {sb.image(target)}
    assert sb.status()["lock"] is None


def test_kill_9_during_rollout_then_resume_finishes(replica_sandbox):
    sb = replica_sandbox
    sb.write_config(lock={"duration": "5s"})
    base = sb.bootstrap()
    sb.add_nickname_migration("20240108000001")
    target = sb.change_code()
    sb.image_behaviour(target, ImageBehaviour(ready_after=3.0, log_lines=("starting shop", "warming up")))

    crashed, resumed = _kill_and_resume(sb, " updated, ")  # the watch's first line: the templates are patched
    phases = {p["phase"]: p["status"] for p in crashed["phases"]}
    assert phases["code"] == "running", phases
    assert resumed["release"] == crashed["release"] and resumed["status"] == "succeeded"
    assert any("resumed" in n and "code" in n for n in resumed["notes"]), resumed["notes"]
    sb.wait_deployments_ready()
    assert set(sb.deployment_images().values()) == {sb.image(target)}
    assert sb.serving_images() == {"web": {sb.image(target)}, "worker": {sb.image(target)}}
    assert len([j for j in sb.job_names() if crashed["release"] in j]) == 1
    assert "20240108000001" in sb.schema_versions()
    assert base != target


def test_replica_that_never_gets_the_index_stops_the_release_before_the_code(replica_sandbox):
    """The replica's SQL thread is stopped: the index never appears there, so the wait for DDL runs out
    (gates.ddl_timeout) and the code is not rolled out; the diagnosis names the replica."""
    sb = replica_sandbox
    base = sb.bootstrap()
    wait_replica_has(sb, lambda: "users" in {r["TABLE_NAME"] for r in sb.sql(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()", server="replica1")})
    sb.add_migration("20240118000001", "add_index_to_users_email", ADD_INDEX)
    sb.change_code()
    sb.write_config(gates={"ddl_timeout": "6s"})
    sb.sql("STOP REPLICA SQL_THREAD", server="replica1")
    try:
        r = sb.shipit("release", "--output", "json")
    finally:
        sb.sql("START REPLICA SQL_THREAD", server="replica1")
    out = r.json()
    assert r.code == 2, r.text  # applied on the primary, not everywhere: a person decides
    phases = {p["phase"]: p for p in out["phases"]}
    assert phases["migrate"]["status"] == "succeeded" and phases["wait_ddl"]["status"] == "failed", phases
    assert "code" not in phases or phases["code"]["status"] == "skipped"
    d = out["diagnosis"]
    assert "replica1" in " ".join([d["why"], *d["details"]]), d
    assert set(sb.deployment_images().values()) == {sb.image(base)}
    assert INDEX in sb.indexes("users")
    sb.assert_no_secret(r)
