"""The diagnose sections' pure verdicts over snapshots, and the likely-cause ranking."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shipit.core.config import DatabaseConfig, DeploymentConfig, ImageConfig, KubernetesConfig, MigrationConfig, Config
from shipit.db.connection import Role
from shipit.db.drift import DriftKind, Drift, DriftReport, ServerDrift
from shipit.db.ddl_watch import DdlKind, DdlProgress, ProgressSource, RunningDdl
from shipit.db.health import (FingerprintGroup, HealthThresholds, ReplicaLag, ServerHealth, UsualLoad,
                              parse_replica_status)
from shipit.report.diagnose import cause, database, kubernetes, release, schema
from shipit.report.diagnose.findings import Finding, Kind, State
from shipit.report.diagnose.http import verdict as http_verdict
from shipit.kube.records import ReleaseRecord, ReleaseStatus
from shipit.planning.schema_file import parse_schema_rb
from shipit.release.gates import Probe

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
SHA = "ab12cd3" + "0" * 33
CFG = Config(app="shop", repo=".", kubernetes=KubernetesConfig(), image=ImageConfig("reg/shop", "v-{short_sha}"),
             deployments=(DeploymentConfig("web"),), migration=MigrationConfig("web", "web"),
             database=DatabaseConfig("mysql://u@h/db"))
TH = HealthThresholds()


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- release ------------------------------------------------------------------------------------------------------

def test_image_tag_template_maps_images_to_commits():
    assert release.commit_of("reg/shop:v-ab12cd3", "reg/shop", "v-{short_sha}") == "ab12cd3"
    assert release.commit_of(f"reg/shop:{SHA}", "reg/shop", "{sha}") == SHA
    assert release.commit_of("reg/other:v-ab12cd3", "reg/shop", "v-{short_sha}") is None
    assert release.commit_of("reg/shop:latest", "reg/shop", "{sha}") is None


def deployment(image: str, *, ready: int = 2) -> dict:
    return {"metadata": {"name": "web", "uid": "d1", "generation": 1},
            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}},
                                                 "spec": {"containers": [{"name": "web", "image": image}]}}},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": ready,
                       "availableReplicas": ready}}


def test_release_verdict_names_image_commit_and_rollout():
    facts = release.ReleaseFacts((deployment("reg/shop:v-ab12cd3"),), (), (), None, {"ab12cd3": SHA})
    r = release.verdict(facts, CFG, now=NOW)
    assert r.state is State.OK and r.findings == ()
    assert release.serving_commit(facts, CFG) == SHA and r.data["serving_commit"] == SHA
    assert "no shipit record" in r.lines[0] and "commit ab12cd300000; rollout complete" in r.lines[1]
    assert r.lines[-1] == "code and schema: not compared (see Schema drift)" and r.data["schema_matches"] is None


def test_release_verdict_says_whether_code_and_schema_match():
    facts = release.ReleaseFacts((deployment("reg/shop:v-ab12cd3"),), (), (), None, {"ab12cd3": SHA})
    behind = DriftReport(SHA, "db/schema.rb", (ServerDrift("primary", (
        Drift("primary", DriftKind.MISSING_INDEX, "orders", "ix", ("a",)),
        Drift("primary", DriftKind.EXTRA_INDEX, "orders", "old", (), ("b",)))),))
    r = release.verdict(facts, CFG, now=NOW, drift=behind)
    assert r.lines[-1] == "code and schema: do NOT match: 1 differences the code at ab12cd300000 depends on (see Schema drift)"
    assert r.data["schema_matches"] is False and r.findings == ()  # the drift section carries the finding
    fine = DriftReport(SHA, "db/schema.rb", (ServerDrift("primary"), ServerDrift("replica1", error="down")))
    line = release.verdict(facts, CFG, now=NOW, drift=fine).lines[-1]
    assert line == "code and schema: match db/schema.rb at ab12cd300000 (not read: replica1)"


def test_release_verdict_flags_a_failed_record_and_a_missing_deployment():
    record = ReleaseRecord("r0007", 7, "shop", ReleaseStatus.NEEDS_ATTENTION, message="revert failed")
    facts = release.ReleaseFacts((), (), (), record, {}, ("web",))
    r = release.verdict(facts, CFG, now=NOW)
    assert [f.kind for f in r.findings] == [Kind.RELEASE_FAILED] and r.findings[0].subject == "r0007"
    assert "web: configured but not found in the namespace" in r.lines
    assert release.serving_commit(facts, CFG) is None


# --- kubernetes ---------------------------------------------------------------------------------------------------

FAILED_LOG = (
    "== 20240201000001 AddPaymentsFk: migrating ==",
    "-- add_foreign_key(:payments, :orders)",
    "rails aborted!",
    "StandardError: An error has occurred, all later migrations canceled:",
    "",
    "Mysql2::Error: Cannot add or update a child row: a foreign key constraint fails (`shop`.`#sql-alter-1`, "
    "CONSTRAINT `fk_rails_6af949464b` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`))",
    "/app/db/migrate/20240201000001_add_payments_fk.rb:3:in `change'",
)


def test_error_line_prefers_the_database_error_and_explains_known_codes():
    assert kubernetes.error_line(FAILED_LOG).startswith("Mysql2::Error: Cannot add or update a child row")
    assert kubernetes.explain_error(FAILED_LOG) == "ERROR 1452: orphaned rows in payments.order_id (no matching orders.id)"
    assert kubernetes.error_line(("boot", "NoMethodError: undefined method", "exit")) == "NoMethodError: undefined method"
    assert kubernetes.error_line(("one", "last words", "")) == "last words"
    assert kubernetes.explain_error(("all fine",)) == ""


def job(name: str, *, command=("bin/rails", "db:migrate"), labels=None, failed=True, created=NOW) -> dict:
    conds = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}] if failed else []
    return {"metadata": {"name": name, "uid": f"u-{name}", "labels": labels or {}, "creationTimestamp": iso(created)},
            "spec": {"template": {"spec": {"containers": [{"name": "m", "command": list(command)}]}}},
            "status": {"conditions": conds}}


def job_pod(j: dict, code: int = 1) -> dict:
    return {"metadata": {"name": j["metadata"]["name"] + "-x", "ownerReferences": [{"kind": "Job", "uid": j["metadata"]["uid"]}]},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "m"}]},
            "status": {"phase": "Failed", "containerStatuses": [{"name": "m", "state": {"terminated": {"exitCode": code}}}]}}


def test_migration_jobs_are_recognised_by_label_or_command():
    assert kubernetes.is_migration_job(job("a"))
    assert kubernetes.is_migration_job(job("b", command=("sh", "-c", "bundle exec rake db:migrate")))
    assert kubernetes.is_migration_job(job("c", command=("x",), labels={"app.kubernetes.io/component": "migration"}))
    assert not kubernetes.is_migration_job(job("d", command=("bin/rails", "runner", "Report.run")))


def test_only_migration_jobs_inside_the_since_window_or_still_running_are_shown_newest_first():
    old = job("deploy-tasks-old", created=NOW - timedelta(hours=3))
    running = {**job("deploy-tasks-running", failed=False, created=NOW - timedelta(hours=5)), "status": {"active": 1}}
    fresh = job("deploy-tasks-new", created=NOW - timedelta(minutes=5))
    other = job("report", command=("bin/rails", "runner", "Report.run"))
    picked = kubernetes.recent_migration_jobs([old, running, fresh, other], since=3600, now=NOW)
    assert [j["metadata"]["name"] for j in picked] == ["deploy-tasks-new", "deploy-tasks-running"]
    wider = kubernetes.recent_migration_jobs([old, running, fresh, other], since=4 * 3600, now=NOW)
    assert [j["metadata"]["name"] for j in wider] == ["deploy-tasks-new", "deploy-tasks-old", "deploy-tasks-running"]


def test_a_failed_migration_job_is_a_finding_with_its_error_line():
    j = job("deploy-tasks-ab12cd3")
    pod = job_pod(j)
    facts = kubernetes.KubeFacts((pod,), (j,), {pod["metadata"]["name"]: FAILED_LOG}, {})
    r = kubernetes.verdict(facts, CFG, now=NOW)
    (f,) = r.findings
    assert f.kind is Kind.JOB_FAILED and f.subject == "deploy-tasks-ab12cd3" and f.count == 1
    assert f.evidence[0].startswith("Mysql2::Error") and "ERROR 1452" in f.summary
    assert r.data["migration_jobs"][0]["state"] == "failed" and r.data["migration_jobs"][0]["exit_code"] == 1


def crash_pod(name: str = "web-1") -> dict:
    return {"metadata": {"name": name, "labels": {"app": "web"}, "ownerReferences": [{"kind": "ReplicaSet", "uid": "rs"}]},
            "spec": {"nodeName": "n", "containers": [{"name": "web"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "web", "restartCount": 4, "ready": False,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                "lastState": {"terminated": {"exitCode": 1}}}]}}


def test_crash_looping_pods_carry_their_log_and_events():
    facts = kubernetes.KubeFacts((crash_pod(),), (), {"web-1": ("booting", "boom: no cache")},
                                 {"web-1": ("Warning BackOff: Back-off restarting failed container",)})
    r = kubernetes.verdict(facts, CFG, now=NOW)
    (f,) = r.findings
    assert f.kind is Kind.POD_FAILING and f.subject == "web" and f.count == 4
    assert "log: boom: no cache" in f.evidence and any(e.startswith("event: Warning BackOff") for e in f.evidence)
    assert "CrashLoopBackOff" in f.summary and "exit code 1" in f.summary


def pod(name: str, *, created: datetime, ready: bool = True, node: str | None = "n") -> dict:
    running = {"running": {"startedAt": iso(created)}} if ready else {"waiting": {"reason": "ContainerCreating"}}
    return {"metadata": {"name": name, "ownerReferences": [], "creationTimestamp": iso(created)},
            "spec": {"containers": [{"name": "web"}], **({"nodeName": node} if node else {})},
            "status": {"phase": "Running" if ready else "Pending", "startTime": iso(created),
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "web", "ready": ready, "state": running}]}}


def test_ready_and_just_started_pods_are_not_problems_but_long_pending_ones_are():
    fresh = (pod("web-1", created=NOW - timedelta(hours=1)), pod("web-2", created=NOW - timedelta(seconds=5), ready=False))
    r = kubernetes.verdict(kubernetes.KubeFacts(fresh, (), {}, {}), CFG, now=NOW)
    assert r.state is State.OK and r.lines == ("migration Jobs: none recent", "pods: none failing")
    stuck = pod("web-3", created=NOW - timedelta(minutes=5), ready=False, node=None)
    r = kubernetes.verdict(kubernetes.KubeFacts((stuck,), (), {}, {}), CFG, now=NOW)
    assert [f.summary for f in r.findings] == ["pod web-3 is Pending (Pending)"]


# --- database -----------------------------------------------------------------------------------------------------

def test_where_columns_and_serving_index():
    fp = "select * from orders o where o.customer_id = ? and `created_at` > ? order by created_at desc limit ?"
    assert database.where_columns(fp) == ("customer_id", "created_at")
    assert database.where_columns("select count(*) from orders") == ()
    model = parse_schema_rb('ActiveRecord::Schema.define(version: 1) do\n  create_table "orders" do |t|\n'
                            '    t.index ["created_at"], name: "by_created"\n'
                            '    t.index ["customer_id", "created_at"], name: "by_customer"\n  end\nend\n')
    assert database.serving_index(model.table("orders"), ("customer_id", "created_at")).name == "by_customer"
    assert database.serving_index(model.table("orders"), ("status",)) is None
    assert database.serving_index(None, ("customer_id",)) is None


def test_parse_explain_picks_the_full_scan():
    rows = [{"table": "c", "type": "eq_ref", "rows": 1, "key": "PRIMARY"},
            {"table": "orders", "type": "ALL", "rows": 1500000, "key": None, "possible_keys": None}]
    p = database.parse_explain("fp", rows)
    assert p.full_scan and p.table == "orders" and p.rows == 1500000
    assert not database.parse_explain("fp", rows[:1]).full_scan and database.parse_explain("fp", []) is None


def test_explain_is_not_run_on_tables_behind_a_metadata_lock():
    waiting = FingerprintGroup("select count(*) from orders", 5, 3.0, 2.0, ("Waiting for table metadata lock",), (1,))
    running = FingerprintGroup("select * from orders where id = ?", 5, 3.0, 2.0, ("Sending data",), (2,))
    assert not database.explainable(waiting, set())
    assert database.explainable(running, set()) and not database.explainable(running, {"orders"})
    assert database.explainable(running, {"order"})


def health(name="primary", role=Role.PRIMARY, running=3, groups=(), lag=None, trx=None) -> ServerHealth:
    return ServerHealth(name, role, running, 10, 0, (), tuple(groups), (), trx, lag)


def test_database_verdict_full_scan_pileup_with_the_serving_index():
    g = FingerprintGroup("select * from orders where customer_id = ? order by created_at desc limit ?", 34, 4.2, 2.0,
                         ("Sending data",), tuple(range(34)))
    plan = database.Plan(g.fingerprint, "orders", "ALL", 1_500_000, None, None)
    model = parse_schema_rb('ActiveRecord::Schema.define(version: 1) do\n  create_table "orders" do |t|\n'
                            '    t.index ["customer_id", "created_at"], name: "index_orders_on_customer_id_and_created_at"\n'
                            '  end\nend\n')
    facts = database.DbFacts((health(running=40, groups=[g]),), (), (), (plan,), "replica1", ())
    r = database.verdict(facts, TH, model)
    scan = next(f for f in r.findings if f.kind is Kind.FULL_SCAN)
    assert scan.table == "orders" and scan.count == 34 and scan.columns == ("customer_id",)
    assert "34 queries on orders are full scans of ~1,500,000 rows" in scan.summary
    assert any("index_orders_on_customer_id_and_created_at" in e for e in scan.evidence)
    assert any("EXPLAIN on replica1" in e for e in scan.evidence)
    assert Kind.THREADS_RUNNING in {f.kind for f in r.findings}


def test_database_verdict_lag_and_long_transaction_and_nothing_on_a_quiet_server():
    lag = parse_replica_status("replica1", {"Slave_IO_Running": "Yes", "Slave_SQL_Running": "No"})
    facts = database.DbFacts((health(trx=100.0), health("replica1", Role.REPLICA, lag=lag)), (), (), (), "replica1", ())
    r = database.verdict(facts, TH)
    assert [f.kind for f in r.findings] == [Kind.LONG_TRANSACTION, Kind.REPLICA_LAG]
    assert r.findings[1].subject == "replica1" and "SQL thread stopped" in r.findings[1].summary
    quiet = database.verdict(database.DbFacts((health(lag=None),), (), (), (), "primary", ()), TH)
    assert quiet.findings == () and quiet.state is State.OK
    lag_ok = ReplicaLag("replica1", 1.0, True, True, lag.source)
    ok = database.verdict(database.DbFacts((health("replica1", Role.REPLICA, lag=lag_ok),), (), (), (), "r", ()), TH)
    assert ok.findings == ()


def test_threads_running_is_judged_against_the_usual_load_the_last_release_recorded():
    busy = database.DbFacts((health(running=30),), (), (), (), "primary", ())
    unknown = database.verdict(busy, TH)  # no record: only the floor (25) applies
    assert [f.kind for f in unknown.findings] == [Kind.THREADS_RUNNING]
    assert "usual unknown: no shipit release recorded" in unknown.lines[0]
    usual_busy = (UsualLoad("primary", 22.0, 28.0, 5, 0.0),)  # 30 is usual here: +20% of p95 28 is 33.6
    calm = database.verdict(busy, TH, usual=usual_busy)
    assert calm.findings == ()
    assert "usual p50 22, p95 28 over 5 samples before the last release; hold above 33.6" in calm.lines[0]
    assert calm.data["servers"][0]["usual"]["threads_running_p95"] == 28.0
    spike = database.verdict(database.DbFacts((health(running=70),), (), (), (), "primary", ()), TH, usual=usual_busy)
    (f,) = spike.findings
    assert f.kind is Kind.THREADS_RUNNING and "Threads_running 70 is above 33.6 (usual p95 28)" in f.summary


def test_running_ddl_is_shown_with_its_progress_in_text_and_json():
    ddl = RunningDdl("primary", 42, DdlKind.CREATE_INDEX, "shop", "orders", "CREATE INDEX ...", "altering table",
                     12.0, False)
    progress = DdlProgress(ddl, "stage 2/3 (read PK and internal sort)", 40.0, ProgressSource.PERFORMANCE_SCHEMA, 18.0)
    r = database.verdict(database.DbFacts((health(),), (progress,), (), (), "primary", ()), TH)
    line = next(x for x in r.lines if x.startswith("running DDL:"))
    assert "create_index on shop.orders" in line and "40.0%" in line and "about 18s left" in line
    assert r.data["running_ddl"] == [progress.describe()]


# --- drift section, http ------------------------------------------------------------------------------------------

def test_drift_section_groups_servers_and_keeps_only_what_code_depends_on():
    ix = ("customer_id", "created_at")
    report = DriftReport(SHA, "db/schema.rb", (
        ServerDrift("primary", (Drift("primary", DriftKind.MISSING_INDEX, "orders", "ix", ix),
                                Drift("primary", DriftKind.PENDING_VERSION, "schema_migrations", "20240201000001"),
                                Drift("primary", DriftKind.EXTRA_INDEX, "orders", "old", (), ("x",)))),
        ServerDrift("replica1", (Drift("replica1", DriftKind.MISSING_INDEX, "orders", "ix", ix),))))
    r = schema.verdict(report)
    assert [(f.kind, f.subject, f.server) for f in r.findings] == [
        (Kind.MISSING_SCHEMA, "ix", "primary, replica1"), (Kind.PENDING_MIGRATION, "20240201000001", "primary")]
    assert r.findings[0].columns == ix and r.findings[0].table == "orders"


def test_http_verdict():
    r = http_verdict((("http://a/up", Probe(True, "HTTP 200 in 3 ms", 0)), ("http://b/up", Probe(False, "HTTP 502", 0))))
    assert [f.subject for f in r.findings] == ["http://b/up"]


# --- likely cause -------------------------------------------------------------------------------------------------

MISSING = Finding(Kind.MISSING_SCHEMA, "index ix_cc on orders (customer_id, created_at) is missing on primary",
                  table="orders", subject="ix_cc", columns=("customer_id", "created_at"), server="primary")
PENDING = Finding(Kind.PENDING_MIGRATION, "migration 20240201000001 is in the commit but not in schema_migrations",
                  subject="20240201000001")
JOB = Finding(Kind.JOB_FAILED, "migration Job deploy-tasks-ab12cd3 failed", ("Mysql2::Error: ...", "ERROR 1452: orphaned rows"),
              subject="deploy-tasks-ab12cd3")
SCAN = Finding(Kind.FULL_SCAN, "34 queries on orders are full scans of ~1,500,000 rows", ("EXPLAIN ...",),
               table="orders", columns=("customer_id",), count=34)
OTHER_SCAN = Finding(Kind.FULL_SCAN, "5 queries on users are full scans", table="users", columns=("email",), count=5)


def test_the_outage_is_one_cause_joining_schema_job_and_scans():
    causes = cause.rank([SCAN, JOB, PENDING, MISSING, OTHER_SCAN])
    top = causes[0]
    for fact in ("ix_cc", "20240201000001", "deploy-tasks-ab12cd3", "ERROR 1452", "34 queries on orders"):
        assert fact in top.title
    assert "shipit rollback" in top.next_step and top.score == 120
    assert top.evidence == ("Mysql2::Error: ...", "ERROR 1452: orphaned rows", "EXPLAIN ...")
    assert [c.explains for c in causes[1:]] == [(OTHER_SCAN,)]  # the unrelated scan stays a cause of its own


def test_ranking_without_schema_drift():
    crash = Finding(Kind.POD_FAILING, "pod web-1 is CrashLoopBackOff", ("log: boom",), subject="web")
    mdl = Finding(Kind.MDL_WAIT, "DDL waits", ("connection 7 idle",), table="orders", subject="7", count=5)
    lag = Finding(Kind.REPLICA_LAG, "replica replica1: 40s behind", subject="replica1")
    http = Finding(Kind.HTTP_FAILING, "http://a/up: HTTP 502", subject="http://a/up")
    causes = cause.rank([http, lag, mdl, crash, JOB])
    assert [c.explains[0].kind for c in causes] == [Kind.POD_FAILING, Kind.MDL_WAIT, Kind.JOB_FAILED,
                                                   Kind.REPLICA_LAG, Kind.HTTP_FAILING]
    assert "KILL 7" in causes[1].next_step and causes[0].evidence == ("log: boom",)


def test_no_findings_no_causes():
    assert cause.rank([]) == ()



def test_database_with_no_server_read_is_skipped_and_one_down_server_is_a_finding():
    down = database.DbFacts((), (), (), (), "primary", (), (("primary", "unreachable"),))
    r = database.verdict(down, TH)
    assert r.state is State.SKIPPED and r.note == "primary: unreachable"
    half = database.DbFacts((health(),), (), (), (), "primary", (("EXPLAIN on primary", "timeout"),),
                            (("replica1", "unreachable"),))
    r = database.verdict(half, TH)
    assert [(f.kind, f.subject) for f in r.findings] == [(Kind.SERVER_UNREADABLE, "replica1")]
    assert "EXPLAIN on primary: cannot be read: timeout" in r.lines and r.note == "EXPLAIN on primary: timeout"


def test_report_is_ok_only_when_everything_was_checked_and_nothing_found():
    from shipit.report.diagnose.findings import Section, SectionResult
    from shipit.report.diagnose.run import Report

    fine = SectionResult.of(Section.HTTP, ["ok"], [], {})
    assert Report((fine,), (), 1.0, None).ok
    skipped = Report((fine, SectionResult.skipped(Section.DATABASE, "unreachable")), (), 1.0, None)
    assert not skipped.ok and skipped.to_json()["unchecked"] == ["database"]
    assert skipped.render_text().startswith("shipit diagnose: nothing wrong found; not checked: Database (1.0s)")
    problem = SectionResult.of(Section.HTTP, [], [Finding(Kind.HTTP_FAILING, "x: HTTP 502")], {})
    report = Report((problem,), cause.rank(problem.findings), 1.0, None)
    assert not report.ok and "1 problems" in report.render_text() and "Likely cause:" in report.render_text()
