"""API faults under whole CLI runs on the real control plane: shipit holds the `shipit` ServiceAccount's token and
reaches kube-apiserver through tests/cluster/faultproxy.py, which answers chosen requests 429/500/503 (everything
else, RBAC included, is the real server's). Each case asserts the exit code, the message, the records, the lock and
the Deployments, and the proxy's log shows what shipit sent. One sandbox for the module (bootstrapped once)."""

from __future__ import annotations

import json

import pytest

from tests.badinput.support import Run, assert_clear
from tests.cluster.cluster import RBAC
from tests.cluster.world import RealWorld
from tests.support.sandbox import NAMESPACE, open_sandbox

pytestmark = pytest.mark.real_cluster

RECORD_WRITE = r"/namespaces/default/configmaps/shipit-shop-r"
LEASE = r"/namespaces/default/leases"


@pytest.fixture(scope="module")
def sb(replica_pair, real_cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("real-api-faults")
    world = RealWorld(real_cluster, root / "admin.kubeconfig", exec_mode=True, shipit_identity=True, fault_proxy=True)
    try:
        with replica_pair.fresh_database() as db:
            with open_sandbox(root / "sandbox", db_url=db.primary_url, cluster=world) as sandbox:
                sandbox.bootstrap()
                yield sandbox
    finally:
        world.close()


@pytest.fixture
def proxy(sb):
    sb.cluster.proxy.clear()
    yield sb.cluster.proxy
    sb.cluster.proxy.clear()


def shipit(sb, *args: str) -> Run:
    r = sb.shipit(*args)
    return Run(r.code, r.stdout, r.stderr)


def records(sb) -> dict[str, dict]:
    """Release id -> labels of its record ConfigMap, read by cluster-admin past the proxy."""
    out = sb.cluster.kubectl("get", "configmaps", "-n", NAMESPACE, "-l", "shipit.dev/record=release", "-o", "json")
    items = json.loads(out.stdout)["items"]
    return {json.loads(cm["data"]["release.json"])["id"]: cm["metadata"]["labels"] for cm in items}


def lock_holder(sb) -> str | None:
    """Who holds the release lock (shipit keeps the Lease and clears its holder on release)."""
    r = sb.cluster.kubectl("get", "lease", "shipit-shop", "-n", NAMESPACE, "-o", "json", check=False)
    return json.loads(r.stdout)["spec"].get("holderIdentity") if r.returncode == 0 else None


def answers(proxy, method: str, path: str) -> list[int]:
    return [s.status for s in proxy.requests(method, path)]


@pytest.fixture
def new_commit(sb):
    sb.change_code()
    yield sb.head()
    sb.git("reset", "-q", "--hard", "HEAD~1")


def test_record_and_lease_writes_answered_500_and_503_are_retried(sb, proxy, new_commit):
    record = proxy.answer("PUT", RECORD_WRITE, 503, count=2)
    created = proxy.answer("POST", r"/namespaces/default/configmaps(\?|$)", 500)
    take = proxy.answer("PUT", LEASE + "/shipit-shop", 500)
    take_again = proxy.answer("PUT", LEASE + "/shipit-shop", 503)
    r = shipit(sb, "release", "--output", "json")
    out = assert_clear(r, 0)
    assert [rule.hits for rule in (record, created, take, take_again)] == [2, 1, 1, 1]
    assert records(sb)[out["release"]]["shipit.dev/status"] == "succeeded"
    assert sb.deployment_images() == {"web": sb.image(new_commit), "worker": sb.image(new_commit)}
    assert lock_holder(sb) is None, "the lock was taken after a 500 and a 503, and given back"
    assert answers(proxy, "PUT", LEASE + "/shipit-shop")[:3] == [500, 503, 200]
    assert answers(proxy, "POST", r"/namespaces/default/configmaps(\?|$)")[:2] == [500, 201]
    puts = answers(proxy, "PUT", RECORD_WRITE)
    assert puts[:3] == [503, 503, 200] and set(puts[3:]) <= {200}, puts


def test_writes_carried_out_but_answered_503_are_retried_to_the_same_end(sb, proxy, new_commit):
    """The server did the write, the answer was lost: the record's create (then AlreadyExists), the lock's update
    (then Conflict) and a Deployment PATCH retried; the release ends as if nothing had happened."""
    rules = [proxy.answer("POST", r"/namespaces/default/configmaps(\?|$)", 503, applied=True),
             proxy.answer("PUT", LEASE + "/shipit-shop", 503, applied=True),
             proxy.answer("PATCH", r"/deployments/web", 503, applied=True)]
    r = shipit(sb, "release", "--output", "json")
    out = assert_clear(r, 0)
    assert [rule.hits for rule in rules] == [1, 1, 1]
    assert records(sb)[out["release"]]["shipit.dev/status"] == "succeeded"
    assert sb.deployment_images() == {"web": sb.image(new_commit), "worker": sb.image(new_commit)}
    assert lock_holder(sb) is None
    assert answers(proxy, "POST", r"/namespaces/default/configmaps(\?|$)")[:2] == [503, 409]


def test_429_retry_after_is_honoured_on_the_lock_and_a_record_write(sb, proxy, new_commit):
    proxy.answer("PUT", LEASE + "/shipit-shop", 429, retry_after=2)
    proxy.answer("PUT", RECORD_WRITE, 429, retry_after=1)
    r = shipit(sb, "release", "--output", "json")
    out = assert_clear(r, 0)
    assert records(sb)[out["release"]]["shipit.dev/status"] == "succeeded"
    for path, wait in ((LEASE + "/shipit-shop", 2.0), (RECORD_WRITE, 1.0)):
        seen = proxy.requests("PUT", path)
        assert [s.status for s in seen[:2]] == [429, 200], seen
        assert seen[1].at - seen[0].at >= wait, f"PUT {path} retried before its Retry-After of {wait:g}s"


def test_deployment_patch_answered_503_changes_nothing_and_says_so(sb, proxy, new_commit):
    before = sb.deployment_images()
    proxy.answer("PATCH", r"/deployments/", 503, count=10000)
    r = shipit(sb, "release", "--output", "json")
    obj = assert_clear(r, 1, "503")
    assert obj["exit_code"] == 1 and "\n" not in obj["message"], obj
    assert sb.deployment_images() == before
    assert records(sb)[obj["release"]]["shipit.dev/status"] == "failed"
    assert lock_holder(sb) is None
    assert answers(proxy, "PATCH", r"/deployments/") and set(answers(proxy, "PATCH", r"/deployments/")) == {503}


def test_record_writes_answered_500_throughout_fail_clearly(sb, proxy, new_commit):
    before = sb.deployment_images()
    proxy.answer("PUT", r"/configmaps/", 500, count=10000)
    proxy.answer("POST", r"/configmaps(\?|$)", 500, count=10000)
    r = shipit(sb, "release", "--output", "json")
    obj = assert_clear(r, 1, "did not start, nothing was changed: its record could not be written", "500")
    assert obj["exit_code"] == 1 and "\n" not in obj["message"], obj
    assert sb.deployment_images() == before, "no release without its record"
    assert set(answers(proxy, "POST", r"/configmaps(\?|$)")) == {500}, "retried, never written"
    assert lock_holder(sb) is None


def test_record_reads_answered_500_throughout_are_one_line(sb, proxy):
    proxy.answer("GET", r"/configmaps", 500, count=10000)
    obj = assert_clear(shipit(sb, "history", "--output", "json"), 1, "500")
    assert "\n" not in obj["message"]


def test_transient_read_faults_are_retried(sb, proxy):
    proxy.answer("GET", r"/configmaps", 503, count=2)
    proxy.answer("GET", LEASE, 429, retry_after=1)
    obj = assert_clear(shipit(sb, "status", "--output", "json"), 0)
    assert obj["release"]["status"] == records(sb)[obj["release"]["release"]]["shipit.dev/status"]
    assert answers(proxy, "GET", r"/configmaps")[:3] == [503, 503, 200]


def test_a_record_write_refused_by_rbac_names_the_permission(sb, proxy, new_commit):
    """The real server's 403: the Role loses `update` on configmaps, so the first update of the release record is
    refused by RBAC (not by the proxy)."""
    before = sb.deployment_images()
    role = json.loads(sb.cluster.kubectl("get", "role", "shipit", "-n", NAMESPACE, "-o", "json").stdout)
    for rule in role["rules"]:
        if rule["resources"] == ["configmaps"]:
            rule["verbs"] = [v for v in rule["verbs"] if v != "update"]
    sb.cluster.kubectl("replace", "-f", "-", input=json.dumps(role))
    try:
        r = shipit(sb, "release", "--output", "json")
    finally:
        sb.cluster.kubectl("apply", "-n", NAMESPACE, "-f", str(RBAC))
    obj = assert_clear(r, 1, "Grant 'update' on 'configmaps'")
    assert "forbidden" in obj["message"] and "system:serviceaccount:default:shipit" in obj["message"], obj
    assert 403 in answers(proxy, "PUT", RECORD_WRITE)
    assert sb.deployment_images() == before
    assert lock_holder(sb) is None
