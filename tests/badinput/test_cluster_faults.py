"""Faults and bad input against a real cluster (kubesim), a real Rails app and MariaDB, through the real CLI: exit
code, a message naming what to fix, no traceback or raw HTTP headers, one JSON object, and the cluster, database and
records as they should be. One sandbox for the module (bootstrapped once); each case leaves it as it found it."""

from __future__ import annotations

import json

import pytest

from tests.badinput.support import Run, assert_clear
from tests.kubesim import resources as R
from tests.support.sandbox import NAMESPACE, open_sandbox


@pytest.fixture(scope="module")
def sb(replica_pair, tmp_path_factory):
    with replica_pair.fresh_database() as db:
        with open_sandbox(tmp_path_factory.mktemp("badinput"), db_url=db.primary_url) as sandbox:
            sandbox.bootstrap()
            yield sandbox


@pytest.fixture(autouse=True)
def _clean(sb):
    yield
    sb.cluster.faults.clear()
    sb.settings = {}
    sb.write_config()


def shipit(sb, *args: str, env: dict | None = None) -> Run:
    r = sb.shipit(*args, env=env)
    return Run(r.code, r.stdout, r.stderr)


def records(sb) -> list[dict]:
    return sb.cluster.store.list(R.CONFIGMAPS, NAMESPACE, label_selector="shipit.dev/record=release")[0]


def snapshot(sb) -> tuple:
    """What must not change when a command fails on bad input."""
    return (sb.deployment_images(), sorted(sb.schema_versions()), sorted(r["metadata"]["name"] for r in records(sb)),
            sorted((r["metadata"]["labels"] or {}).get("shipit.dev/status", "") for r in records(sb)), sb.job_names())


def apply(sb, obj: dict) -> None:
    sb.cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))


def odd_record(sb, name: str, sequence: str, data: str) -> None:
    apply(sb, {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": NAMESPACE,
                            "labels": {"shipit.dev/record": "release", "shipit.dev/app": "shop",
                                       "shipit.dev/status": "failed", "shipit.dev/sequence": sequence}},
               "data": {"release.json": data}})


@pytest.mark.parametrize("sequence, data", [
    ("abc", json.dumps({"id": "rbad", "sequence": 9999, "app": "shop", "status": "failed"})),
    ("-3", "{ not json"),
    ("", json.dumps({"id": "rbad", "app": "shop", "status": "exploded"})),
])
def test_odd_record_configmaps_do_not_crash_status_history_plan(sb, sequence, data):
    odd_record(sb, "shipit-shop-rbad", sequence, data)
    try:
        before = snapshot(sb)
        for command in ("status", "history"):
            r = shipit(sb, command, "--output", "json")
            assert_clear(r, 0)
        plan = shipit(sb, "plan", "--output", "json")  # --from: the last successful release's commit
        assert_clear(plan, 0)
        assert snapshot(sb) == before
    finally:
        sb.cluster.kubectl("delete", "configmap", "shipit-shop-rbad", "-n", NAMESPACE)


def test_missing_namespace_is_named_not_pass_from(sb):
    sb.write_config(kubernetes={"namespace": "shop-typo", "kubeconfig": str(sb.cluster.kubeconfig)})
    before = snapshot(sb)
    for command in ("plan", "release"):
        r = shipit(sb, command, "--output", "json")
        obj = assert_clear(r, 3, "namespace 'shop-typo' does not exist", "kubernetes.namespace")
        assert "pass --from" not in obj["message"]
    assert snapshot(sb) == before


def test_kubeconfig_that_does_not_exist_names_the_path(sb, tmp_path):
    missing = tmp_path / "nope" / "kubeconfig"
    sb.write_config(kubernetes={"namespace": NAMESPACE, "kubeconfig": str(missing)})
    assert_clear(shipit(sb, "status", "--output", "json"), 3, str(missing), "kubernetes.kubeconfig")


def test_no_kubeconfig_anywhere_names_the_paths_tried(sb, tmp_path):
    sb.write_config(kubernetes={"namespace": NAMESPACE})
    r = shipit(sb, "status", "--output", "json", env={"HOME": str(tmp_path)})
    assert_clear(r, 3, f"{tmp_path}/.kube/config", "$KUBECONFIG", "service account")


def test_api_500_on_every_record_read_is_one_line(sb):
    sb.cluster.faults.add(method="GET", path_regex="/configmaps", status=500, count=1000)
    r = shipit(sb, "history", "--output", "json")
    obj = assert_clear(r, 1, "500")
    assert "\n" not in obj["message"] and "Audit-Id" not in r.stderr


def test_transient_api_faults_are_retried(sb):
    sb.cluster.faults.add(method="GET", path_regex="/configmaps", status=503, count=2)
    sb.cluster.faults.add(method="GET", path_regex="/leases", status=429, count=1)
    assert_clear(shipit(sb, "status", "--output", "json"), 0)


@pytest.mark.parametrize("args, words", [
    (("--from", "0123456789abcdef0123456789abcdef01234567"), ["0123456789abcdef"]),
    (("--from", "no-such-branch"), ["no-such-branch"]),
    (("--to", "no-such-tag"), ["no-such-tag"]),
])
def test_unknown_git_refs(sb, args, words):
    before = snapshot(sb)
    for command in ("plan", "release"):
        assert_clear(shipit(sb, command, *args, "--output", "json"), 3, *words)
    assert snapshot(sb) == before


def test_from_a_commit_that_is_not_an_ancestor_is_released_as_the_set_difference_and_noted(sb):
    """A hotfix or release tag on a side branch is not refused: the release plans what --to has that --from has not,
    and its record says the range was not linear."""
    head = sb.head()
    sb.git("checkout", "-q", "-b", "side", sb.initial_sha)
    side = sb.commit("side branch")
    sb.git("checkout", "-q", "main")
    try:
        r = shipit(sb, "release", "--from", side, "--to", head, "--output", "json")
        out = assert_clear(r, 0)
        assert any("is not an ancestor" in n for n in out["notes"]), r.text
        assert any("is not an ancestor" in n for n in sb.status()["release"]["notes"]), sb.status()
    finally:
        sb.git("branch", "-q", "-D", "side")


def test_repo_that_is_not_a_git_repository(sb, tmp_path):
    sb.write_config(repo=str(tmp_path))
    assert_clear(shipit(sb, "plan", "--from", "HEAD~1", "--output", "json"), 3, "git")


def test_lock_held_by_another_release_is_exit_4_and_unlock_names_force(sb):
    apply(sb, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "shipit-shop", "namespace": NAMESPACE,
                            "annotations": {"shipit.dev/user": "alice", "shipit.dev/host": "ci-7"}},
               "spec": {"holderIdentity": "alice@ci-7", "leaseDurationSeconds": 3600,
                        "acquireTime": "2030-01-01T00:00:00.000000Z", "renewTime": "2030-01-01T00:00:00.000000Z"}})
    try:
        before = snapshot(sb)
        sb.change_code()
        r = shipit(sb, "release", "--output", "json")
        assert_clear(r, 4, "alice")
        assert snapshot(sb) == before
        assert_clear(shipit(sb, "unlock", "--output", "json"), 4, "--force")
    finally:
        sb.cluster.kubectl("delete", "lease", "shipit-shop", "-n", NAMESPACE, check=False)
        sb.git("reset", "-q", "--hard", "HEAD~1")


def test_wrong_database_password_fails_without_printing_it(sb):
    sb.change_code()
    try:
        before = snapshot(sb)
        wrong = "Wr0ng-pw-" + "x" * 8
        r = shipit(sb, "preflight", "--output", "json", env={"SHIPIT_DB_PASSWORD": wrong})
        assert r.code in (1, 3), r.text
        assert_clear(r, r.code, "Access denied", secrets=(wrong, sb.password))
        assert snapshot(sb) == before
    finally:
        sb.git("reset", "-q", "--hard", "HEAD~1")


@pytest.mark.parametrize("line, code", [
    (b"    # caf\xe9\n    add_column :users, :x, :string\n", 0),  # only a comment: the plan does not need it
    (b"    add_column :users, :x, :string, default: \"caf\xe9\"\n", 3),
    (b"    execute \"UPDATE users SET x = 'caf\xe9'\"\n", 3),
])
def test_migration_that_is_not_utf8(sb, line, code):
    (sb.repo / "db" / "migrate" / "20240601000001_latin1.rb").write_bytes(
        b"class Latin1 < ActiveRecord::Migration[6.1]\n  def change\n" + line + b"  end\nend\n")
    sb.commit("latin-1 migration")
    try:
        before = snapshot(sb)
        r = shipit(sb, "plan", "--output", "json")
        assert_clear(r, code, *(("not UTF-8", "0xe9") if code == 3 else ()))
        assert snapshot(sb) == before
    finally:
        sb.git("reset", "-q", "--hard", "HEAD~1")


def test_rollback_without_a_release_to_go_back_to(sb):
    before = snapshot(sb)
    r = shipit(sb, "rollback", "--to", "r9999", "--output", "json")
    assert r.code in (1, 3), r.text
    assert_clear(r, r.code, "r9999")
    assert snapshot(sb) == before


@pytest.mark.parametrize("section, words", [
    ({"deployments": [{"name": "web"}, {"name": "api"}]}, ["api", "no Deployment"]),
    ({"deployments": [{"name": "web", "containers": ["sidecar"]}, {"name": "worker"}]}, ["sidecar", "not in Deployment web"]),
])
def test_configuration_that_does_not_match_the_cluster(sb, section, words):
    sb.change_code()
    try:
        sb.write_config(**section)
        before = snapshot(sb)
        r = shipit(sb, "release", "--output", "json")
        assert_clear(r, 3, *words)  # named before the lock: nothing recorded, nothing changed
        assert snapshot(sb) == before
    finally:
        sb.git("reset", "-q", "--hard", "HEAD~1")


@pytest.mark.parametrize("workloads, words", [
    ([{"kind": "CronJob", "name": "nightly"}], ["workloads: no CronJob 'nightly'"]),
    ([{"kind": "StatefulSet", "name": "mailer", "containers": ["app"]}], ["workloads[mailer].containers: app not in StatefulSet mailer"]),
    ([{"kind": "StatefulSet", "name": "mailer"}], ["StatefulSet mailer has updateStrategy OnDelete", "RollingUpdate"]),
])
def test_workloads_that_the_image_strategy_cannot_roll(sb, workloads, words):
    labels = {"app": "mailer"}
    apply(sb, {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "mailer", "namespace": NAMESPACE},
               "spec": {"replicas": 1, "serviceName": "mailer", "selector": {"matchLabels": labels},
                        "updateStrategy": {"type": "OnDelete"},
                        "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                            {"name": "mailer", "image": sb.image(sb.head())}]}}}})
    sb.change_code()
    try:
        sb.write_config(workloads=workloads)
        before = snapshot(sb), sb.cluster.store.get(R.STATEFULSETS, NAMESPACE, "mailer")["spec"]
        r = shipit(sb, "release", "--output", "json")
        assert_clear(r, 3, *words)  # named before the lock: nothing recorded, nothing changed
        assert (snapshot(sb), sb.cluster.store.get(R.STATEFULSETS, NAMESPACE, "mailer")["spec"]) == before
    finally:
        sb.git("reset", "-q", "--hard", "HEAD~1")
        sb.cluster.kubectl("delete", "statefulset", "mailer", "--namespace", NAMESPACE)


def test_database_that_does_not_exist(sb):
    sb.change_code()
    try:
        url = sb.db_url.rsplit("/", 1)[0] + "/no_such_db"
        sb.write_config(database={"url": url})
        before = snapshot(sb)
        r = shipit(sb, "preflight", "--output", "json")
        assert_clear(r, r.code, "no_such_db", secrets=(sb.password,))
        assert r.code in (1, 3), r.text
        assert snapshot(sb) == before
    finally:
        sb.git("reset", "-q", "--hard", "HEAD~1")


@pytest.mark.parametrize("source, code, words", [
    (b"class Broken < ActiveRecord::Migration[6.1]\n  def change\n    add_column :users, :x, :string\n", None, []),
    (b"", None, []),
    (b"class NoVersionInName < ActiveRecord::Migration[6.1]\nend\n", 0, []),
])
def test_odd_ruby_migrations_are_planned_or_refused_clearly(sb, source, code, words):
    name = "add_thing.rb" if code == 0 else "20240601000002_odd.rb"
    (sb.repo / "db" / "migrate" / name).write_bytes(source)
    sb.commit("odd migration")
    try:
        before = snapshot(sb)
        r = shipit(sb, "plan", "--output", "json")
        assert_clear(r, r.code if code is None else code, *words)
        assert r.code in (0, 1, 3), r.text
        assert snapshot(sb) == before
    finally:
        sb.git("reset", "-q", "--hard", "HEAD~1")


def test_unlock_without_a_lock_and_status_of_another_app(sb):
    assert_clear(shipit(sb, "unlock", "--output", "json"), 0)
    sb.write_config(app="billing")
    obj = assert_clear(shipit(sb, "status", "--output", "json"), 0)
    assert obj["release"] is None
