"""Benchmark `shipit release` end to end on the e2e sandbox (kubesim in exec mode, the real MariaDB, the real CLI).

(a) Overhead: a release with one migration and two Deployments (web x2, worker x1). shipit's overhead is the
    release's wall time minus the waits it cannot shorten, taken from kubesim's own store as it commits them: the
    migration Job (created -> Complete) and each Deployment's rollout (new template -> all new pods Ready, old ones
    gone; the two roll out in parallel, so the longer one). `gates.bake` is 0 so no bake is counted.
    Reported twice: the overhead as above, and that overhead less the gates' configured minimum wait before the code
    (the gates run concurrently, each passes only after `consecutive` successes `interval` apart, so the phase lasts at
    least the largest (consecutive - 1) x interval: the database health gate's 2 x 0.25 s here). Nothing else is
    subtracted (the schema-ready reading in wait_ddl and the health baseline's samples in preflight count as
    overhead). Target: median <= 1 s.
    shipit's own modules are compiled to bytecode once before the runs, as `pip install` does for the installed
    package: the editable checkout under PYTHONDONTWRITEBYTECODE=1 would otherwise compile them from source in every
    process, a cost no installed shipit pays.
(b) Gate to revert: during a 30 s bake the HTTP app the gate probes starts answering 500; the time from that moment
    to the automatic revert starting (the release record's revert phase), split into detection (the gate deciding:
    `consecutive` failed probes at `interval`) and reaction (gate failed -> revert started). Target: median <= 1 s.

Run: .venv/bin/python scripts/bench_release.py [--runs 5] (needs the MariaDB service on 127.0.0.1:3306).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pymysql  # noqa: E402

from shipit.adapters.gates import HEALTH_INTERVAL  # noqa: E402
from shipit.core.durations import parse_duration  # noqa: E402
from shipit.kube.records import DATA_KEY, LABEL_KIND  # noqa: E402
from shipit.release.gates import DbHealthGate  # noqa: E402
from tests.support.sandbox import DEPLOYMENTS, Sandbox, open_sandbox  # noqa: E402

HTTP_GATE = {"consecutive": 2, "interval": "200ms"}  # the sandbox's gate (tests/support/sandbox.py)


def gate_wait_before_code() -> float:
    """The shortest the gates phase can take with every probe passing at once: the largest (consecutive - 1) x
    interval of the gates it runs concurrently (the sandbox's HTTP gate and the database health gate)."""
    db = DbHealthGate(lambda: (True, ""), interval=HEALTH_INTERVAL)
    http = (HTTP_GATE["consecutive"] - 1) * parse_duration(HTTP_GATE["interval"])
    return max(http, (db.consecutive - 1) * db.interval)


class Timeline:
    """A kubesim store subscriber: the wall time at which the cluster committed each state the benchmark needs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.verify_running = threading.Event()
        self.images: dict[str, str] = {}  # each Deployment's template image as last seen, kept across runs
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.job_created: dict[str, float] = {}
            self.job_done: dict[str, float] = {}
            self.rollout_start: dict[str, float] = {}
            self.rollout_done: dict[str, float] = {}
            self.verify_running.clear()

    def __call__(self, event: str, res, obj: dict) -> None:
        now = time.time()
        if event == "DELETED":
            return
        with self._lock:
            if res.kind == "Job":
                self._job(obj, now)
            elif res.kind == "Deployment":
                self._deployment(obj, now)
            elif res.kind == "ConfigMap" and (obj["metadata"].get("labels") or {}).get(LABEL_KIND) == "release":
                record = json.loads((obj.get("data") or {}).get(DATA_KEY) or "{}")
                if any(p.get("name") == "verify" and p.get("status") == "running" for p in record.get("phases") or []):
                    self.verify_running.set()

    def _job(self, job: dict, now: float) -> None:
        name = job["metadata"]["name"]
        self.job_created.setdefault(name, now)
        conds = {c["type"]: c["status"] for c in (job.get("status") or {}).get("conditions") or []}
        if "True" in (conds.get("Complete"), conds.get("Failed")):
            self.job_done.setdefault(name, now)

    def _deployment(self, dep: dict, now: float) -> None:
        name = dep["metadata"]["name"]
        image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        if self.images.get(name) not in (None, image):
            self.rollout_start[name] = now
            self.rollout_done.pop(name, None)
        self.images[name] = image
        status, want = dep.get("status") or {}, dep["spec"].get("replicas", 1)
        settled = (status.get("observedGeneration", 0) >= dep["metadata"].get("generation", 0)
                   and status.get("replicas") == status.get("updatedReplicas") == status.get("readyReplicas")
                   == status.get("availableReplicas") == want)
        if name in self.rollout_start and settled:
            self.rollout_done.setdefault(name, now)

    def job_window(self) -> tuple[float, float]:
        """(created, finished) wall times of the run's one migration Job."""
        with self._lock:
            name = next(iter(self.job_done))
            return self.job_created[name], self.job_done[name]

    def inherent(self) -> tuple[float, float]:
        """(Job created -> finished, slowest Deployment's rollout) of the run since reset()."""
        with self._lock:
            jobs = [self.job_done[n] - self.job_created[n] for n in self.job_done]
            rollouts = [self.rollout_done[n] - self.rollout_start[n] for n in self.rollout_done]
            missing = set(DEPLOYMENTS) - set(self.rollout_done)
        if len(jobs) != 1 or missing:
            raise RuntimeError(f"expected one finished Job and every Deployment rolled out; jobs {jobs}, "
                               f"Deployments not rolled out: {sorted(missing)}")
        return jobs[0], max(rollouts)


def phase(out: dict, name: str) -> dict:
    return next(p for p in out["phases"] if p["phase"] == name)


def bench_overhead(sb: Sandbox, timeline: Timeline, runs: int) -> list[dict]:
    sb.write_config(gates={"bake": "0s"})
    rows = []
    for i in range(runs):
        sb.add_migration(f"2024030100{i:04d}", f"add_bench{i}_to_users", f"def change\n  add_column :users, :bench{i}, :string\nend")
        sb.change_code()
        timeline.reset()
        spawned = time.time()
        r = sb.shipit("release", "--output", "json")
        exited = time.time()
        if r.code != 0:
            raise RuntimeError(f"release {i} failed\n{r.text}")
        job, rollout = timeline.inherent()
        out = r.json()
        phases = {p["phase"]: p["duration_s"] or 0.0 for p in out["phases"]}
        phases["(start-up)"] = phase(out, "plan")["started"] - spawned  # interpreter, imports, cluster client
        phases["(exit)"] = exited - phase(out, "record")["ended"]  # summary, closing connections
        created, done = timeline.job_window()
        phases["(migrate: before Job)"] = created - phase(out, "migrate")["started"]  # pending check, Job manifest
        phases["(migrate: after Job)"] = phase(out, "migrate")["ended"] - done  # noticing, log end, version check
        phases["(code - rollout)"] = phases["code"] - rollout
        overhead = r.seconds - job - rollout
        rows.append({
            "wall": r.seconds, "job": job, "rollout": rollout, "overhead": overhead,
            "overhead_less_gates": overhead - gate_wait_before_code(), "phases": phases,
        })
    return rows


def bench_gate_to_revert(sb: Sandbox, timeline: Timeline, runs: int) -> list[dict]:
    sb.write_config(gates={"bake": "30s"})
    rows = []
    for i in range(runs):
        sb.change_code()
        timeline.reset()
        proc = sb.spawn("release", "--output", "json")
        try:
            if not timeline.verify_running.wait(120):
                raise RuntimeError("the release never reached the bake")
            time.sleep(0.5)
            failing_since = time.time()
            sb.http.set_status(500)
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sb.http.set_status(200)
        if proc.returncode != 1:
            raise RuntimeError(f"expected a revert (exit 1), got {proc.returncode}\n{stdout}\n{stderr}")
        out = json.loads(stdout)
        verify, revert = phase(out, "verify"), phase(out, "revert")
        rows.append({
            "total": revert["started"] - failing_since,
            "detect": verify["ended"] - failing_since,
            "react": revert["started"] - verify["ended"],
        })
        sb.wait_deployments_ready()
    return rows


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def report(a: list[dict], b: list[dict]) -> None:
    if os.environ.get("BENCH_VERBOSE"):
        for r in a:
            print({k: round(v, 3) for k, v in {**r, **r["phases"]}.items() if k != "phases"})
    print(f"\n(a) release with 1 migration, 2 Deployments: median of {len(a)} runs")
    print(f"  {'':<34}{'median':>9}{'min':>9}{'max':>9}")
    for key, label in (("wall", "shipit release wall time"), ("job", "  inherent: migration Job"),
                       ("rollout", "  inherent: rollout to Ready"), ("overhead", "shipit overhead (target <= 1 s)"),
                       ("overhead_less_gates", f"  less gate wait {gate_wait_before_code():.2f}s (<= 1 s)")):
        values = [r[key] for r in a]
        print(f"  {label:<34}{median(a, key):>8.2f}s{min(values):>8.2f}s{max(values):>8.2f}s")
    print("  phase durations (median): " + ", ".join(
        f"{p} {statistics.median(r['phases'].get(p, 0.0) for r in a):.2f}s" for p in a[0]["phases"]))
    print(f"\n(b) HTTP gate fails during the bake -> automatic revert starts: median of {len(b)} runs "
          f"(gate: {HTTP_GATE['consecutive']} failures at {HTTP_GATE['interval']})")
    print(f"  {'':<34}{'median':>9}{'min':>9}{'max':>9}")
    for key, label in (("detect", "app failing -> gate failed"), ("react", "gate failed -> revert started"),
                       ("total", "app failing -> revert (<= 1 s)")):
        values = [r[key] for r in b]
        print(f"  {label:<34}{median(b, key):>8.3f}s{min(values):>8.3f}s{max(values):>8.3f}s")
    ok_a, ok_g, ok_b = median(a, "overhead") <= 1.0, median(a, "overhead_less_gates") <= 1.0, median(b, "total") <= 1.0
    print(f"\ntargets: overhead {'met' if ok_a else 'MISSED'} ({'met' if ok_g else 'MISSED'} less the gates' configured "
          f"wait), gate to revert {'met' if ok_b else 'MISSED'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "shipit", quiet=1)
    name = f"shipit_bench_{uuid.uuid4().hex[:8]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    timeline = Timeline()
    try:
        with tempfile.TemporaryDirectory(prefix="shipit-bench-") as tmp:
            with open_sandbox(Path(tmp), db_url=f"mysql://root@127.0.0.1:3306/{name}") as sb:
                sb.cluster.store.subscribe(timeline)
                sb.bootstrap()
                a = bench_overhead(sb, timeline, args.runs)
                b = bench_gate_to_revert(sb, timeline, args.runs)
        report(a, b)
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
