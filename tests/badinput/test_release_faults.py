"""Whole releases that go wrong: credentials printed by a failing migration reach no output channel, record or
annotation; pruning keeps what `--from` and rollback need; two releases at once; a release stopped by SIGTERM.
Real kubesim (exec mode: the migration Job runs `rails db:migrate`), a real Rails app and MariaDB, the real CLI."""

from __future__ import annotations

import base64
import json
import secrets
import signal
import time

import pytest

from tests.badinput.support import Run, assert_clear
from tests.kubesim import resources as R
from tests.support.sandbox import NAMESPACE, open_sandbox

TOKEN = "tok-" + secrets.token_hex(10)  # reaches the migration only through a Secret, never through shipit's config
PLAIN = "Zq8-" + secrets.token_hex(8)  # a Secret's value printed with no keyword around it: only its value can mask it
KEY_BODY = base64.b64encode((TOKEN * 3).encode()).decode()  # what the migration prints as a PEM block's body

LEAKY = """\
class LeakyMigration < ActiveRecord::Migration[6.1]
  def up
    token = ENV.fetch("SHOP_API_TOKEN")
    say "config #{ActiveRecord::Base.connection_db_config.configuration_hash.inspect}"
    puts({:password => token}.inspect)
    puts({"secret" => token}.inspect)
    puts "api_key: #{token}"
    puts "token=\\"#{token}\\""
    puts "passwd='#{token}'"
    puts "redis://:#{token}@cache:6379/0"
    puts "-----BEGIN RSA PRIVATE KEY-----\\n#{[token * 3].pack('m0')}\\n-----END RSA PRIVATE KEY-----"
    puts ENV["DATABASE_URL"]
    puts "connecting with #{ENV['DATABASE_PASSWORD']}"
    raise ArgumentError, "cannot connect with {:password=>\\"#{token}\\"} using #{ENV['DATABASE_URL']}"
  end
end
"""


@pytest.fixture(scope="module")
def sb(replica_pair, tmp_path_factory):
    with replica_pair.fresh_database() as db:
        with open_sandbox(tmp_path_factory.mktemp("releases"), db_url=db.primary_url) as sandbox:
            sandbox.bootstrap()
            yield sandbox


def shipit(sb, *args: str, env: dict | None = None) -> Run:
    r = sb.shipit(*args, env=env)
    return Run(r.code, r.stdout, r.stderr)


def objects(sb, res, **kw) -> list[dict]:
    return sb.cluster.store.list(res, NAMESPACE, **kw)[0]


def record_maps(sb) -> list[dict]:
    return objects(sb, R.CONFIGMAPS, label_selector="shipit.dev/record=release")


def test_credentials_printed_by_a_failing_migration_leak_nowhere(sb, tmp_path):
    sb.cluster.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-api", "namespace": NAMESPACE},
        "data": {"SHOP_API_TOKEN": base64.b64encode(TOKEN.encode()).decode()}}))
    for name, data in (("shop-pw", {"password": PLAIN}), ("shop-hidden", {"HIDDEN_SETTING": "never-printed-value"})):
        sb.cluster.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NAMESPACE},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}))
    sb.cluster.kubectl("patch", "deployment", "web", "-n", NAMESPACE, "--type=json", "-p", json.dumps([
        {"op": "add", "path": "/spec/template/spec/containers/0/envFrom",
         "value": [{"secretRef": {"name": "shop-api"}}, {"secretRef": {"name": "shop-hidden"}}]},
        {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {
            "name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-pw", "key": "password"}}}}]))
    sb.wait_deployments_ready()
    # kubesim has no RBAC: shipit's read of shop-hidden is refused as a Role without it would
    sb.cluster.faults.add(method="GET", path_regex=f"/namespaces/{NAMESPACE}/secrets/shop-hidden$", status=403, count=100)
    sb.add_migration("20240701000001", "leaky_migration", LEAKY)
    versions = sb.schema_versions()
    summary = tmp_path / "step_summary.md"

    r = shipit(sb, "release", "--yes", "--output", "json", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert r.code in (1, 2), r.text
    sb.cluster.faults.clear()
    obj = assert_clear(r, r.code, secrets=(TOKEN, KEY_BODY, sb.password, PLAIN))
    assert obj["status"] == "failed" and obj["exit_code"] == 1, obj
    assert "ArgumentError" in r.stdout + r.stderr, "the failure's evidence must still be shown"
    assert "connecting with ***" in r.stderr, "the unadorned value was printed, and masked"
    hidden = [line for line in r.stderr.splitlines() if "values of Secret shop-hidden are masked only by pattern" in line]
    assert len(hidden) == 1 and "resourceNames [shop-hidden]" in hidden[0], r.stderr  # said once

    channels = {
        "step summary": summary.read_text(),
        "records": json.dumps(record_maps(sb)),
        "lease": json.dumps(objects(sb, R.LEASES)),
        "jobs": json.dumps(objects(sb, R.JOBS)),
        "status": shipit(sb, "status", "--output", "json").stdout,
        "history": shipit(sb, "history").stdout,
    }
    for name, text in channels.items():
        for secret in (TOKEN, KEY_BODY, sb.password, PLAIN):
            assert secret not in text, f"{secret[:4]}… leaked in {name}"
    assert "ArgumentError" in channels["step summary"]
    assert "Secret shop-hidden are masked only by pattern" in channels["records"], "the note is part of the record"
    assert sb.schema_versions() == versions  # the migration applied nothing
    sb.git("reset", "-q", "--hard", "HEAD~1")


def test_pruning_keeps_the_last_two_successes_through_failed_retries(sb):
    from shipit.core.config import KubernetesConfig
    from shipit.kube.client import Kube
    from shipit.kube.records import RecordStore, ReleaseStatus

    kube = Kube.from_config(KubernetesConfig(namespace=NAMESPACE, kubeconfig=str(sb.cluster.kubeconfig)))
    try:
        store = RecordStore(kube, "shop", keep=2)
        succeeded_before = [r.id for r in store.list() if r.status is ReleaseStatus.SUCCEEDED]
        assert succeeded_before, "the bootstrap release is recorded as succeeded"
        running = store.new(from_sha=sb.initial_sha, to_sha=sb.head())
        store.save(running)
        for _ in range(4):  # a CI job retrying a failing preflight
            store.save(store.new(from_sha=sb.initial_sha, to_sha=sb.head()).with_status(ReleaseStatus.FAILED, "preflight"))
        kept = {r.id: r.status for r in store.list()}
        assert succeeded_before[0] in kept and kept[running.id] is ReleaseStatus.RUNNING
        assert len([s for s in kept.values() if s is ReleaseStatus.FAILED]) <= 2
        assert store.last_successful().id == succeeded_before[0]
        store.save(running.with_status(ReleaseStatus.FAILED, "abandoned"))
    finally:
        kube.api_client.close()
    plan = shipit(sb, "plan", "--output", "json")  # its --from is still the last successful release
    assert_clear(plan, 0)


def test_two_releases_at_once_one_waits_out_with_exit_4(sb):
    sb.change_code()
    first = sb.spawn("release", "--output", "json")
    time.sleep(1.0)
    second = sb.spawn("release", "--output", "json")
    out2, err2 = second.communicate(timeout=300)
    out1, err1 = first.communicate(timeout=300)
    runs = sorted([Run(first.returncode, out1, err1), Run(second.returncode, out2, err2)], key=lambda r: r.code)
    assert [r.code for r in runs] == [0, 4], [r.text for r in runs]
    assert_clear(runs[1], 4, "lock")
    assert_clear(runs[0], 0)
    assert set(sb.deployment_images().values()) == {sb.image(sb.head())}


def test_sigterm_during_the_migration_ends_in_one_line_and_a_finished_record(sb):
    sb.add_migration("20240701000002", "slow_migration", "def up\n  sleep 30\n  add_column :users, :slow, :string\nend\n")
    jobs = len(sb.jobs())
    proc = sb.spawn("release", "--yes", "--output", "json")
    deadline = time.monotonic() + 120
    while len(sb.jobs()) == jobs and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(sb.jobs()) > jobs, f"the migration Job never started: {proc.poll()} {proc.stdout.read() if proc.poll() is not None else ''}"
    time.sleep(2.0)  # rails is inside `sleep 30`
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=180)
    r = Run(proc.returncode, out, err)
    assert r.code != 0, r.text
    assert_clear(r, r.code, secrets=(sb.password,))
    latest = sb.status()["release"]
    assert latest["status"] in ("failed", "needs-attention"), latest
    assert json.loads(out)["exit_code"] == r.code
    assert "20240701000002" not in sb.schema_versions()
    sb.git("reset", "-q", "--hard", "HEAD~1")


def test_api_503_on_every_deployment_patch_is_one_line_and_not_revert_failed(sb):
    """The code phase cannot PATCH the Deployments: nothing changed, so the answer is a clean failure (exit 1),
    without the raw HTTP headers of the API error."""
    base_images = sb.deployment_images()
    sb.change_code()
    sb.cluster.faults.add(method="PATCH", path_regex="/deployments/", status=503, count=10000)
    try:
        r = shipit(sb, "release", "--output", "json")
        assert sb.deployment_images() == base_images
        assert sb.status()["release"]["status"] != "running"
        obj = assert_clear(r, 1, "503")
        assert obj["exit_code"] == 1
    finally:
        sb.cluster.faults.clear()
        sb.git("reset", "-q", "--hard", "HEAD~1")


def test_api_500_on_every_record_write_is_one_line(sb):
    sb.change_code()
    sb.cluster.faults.add(method="PUT", path_regex="/configmaps/", status=500, count=10000)
    try:
        r = shipit(sb, "release", "--output", "json")
        obj = assert_clear(r, r.code)
        assert obj["exit_code"] == r.code and "500" in r.stdout + r.stderr
    finally:
        sb.cluster.faults.clear()
        sb.git("reset", "-q", "--hard", "HEAD~1")


def test_hand_set_image_is_replaced_by_a_migration_only_release(sb):
    """Someone set an image by hand; the next release changes only a migration: the Deployments must end on the
    target image and the record must say what serves."""
    sb.cluster.kubectl("set", "image", "deployment/web", "web=registry.local/shop:hand-set", "-n", NAMESPACE)
    sb.wait_deployments_ready()
    sb.add_migration("20240701000003", "add_nickname", "def change\n  add_column :users, :nickname, :string\nend\n")
    try:
        r = shipit(sb, "release", "--output", "json")
        obj = assert_clear(r, 0)
        target = sb.image(sb.head())
        assert sb.deployment_images() == {"web": target, "worker": target}
        record = json.loads(next(cm for cm in record_maps(sb) if cm["metadata"]["name"].endswith(obj["release"]))
                            ["data"]["release.json"])
        assert record["serving"] == {"web": {"web": target}, "worker": {"worker": target}}, record
    finally:
        sb.cluster.kubectl("set", "image", "deployment/web", f"web={sb.image(sb.head())}", "-n", NAMESPACE)
        sb.wait_deployments_ready()


def test_migration_in_the_image_but_not_in_the_commit_fails_naming_it(sb):
    """kubesim runs the Job in the app checkout, so an untracked migration file is 'in the image' but not in git."""
    sb.change_code()
    sb.add_migration("20240701000004", "add_zip", "def change\n  add_column :users, :zip, :string\nend\n")
    untracked = sb.repo / "db" / "migrate" / "20240701000009_untracked.rb"  # written after the commit: not in git
    untracked.write_text("class Untracked < ActiveRecord::Migration[6.1]\n  def change\n    add_column :users, :zz, "
                         ":string\n  end\nend\n")
    try:
        r = shipit(sb, "release", "--output", "json")
        # an unchecked migration changed the schema: a person looks before anything else runs
        assert_clear(r, 2, "20240701000009", "does not match commit")
    finally:
        untracked.unlink()
