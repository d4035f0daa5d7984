#!/usr/bin/env python3
"""Benchmark failure detection: from kubesim changing a pod's state to shipit reporting the failure.

Four failure modes, each run several times on an in-process kubesim cluster, with the kubectl command a pipeline
would use watching the very same scenario at the same time:

  migration-exit     migration Job pod exits 1            shipit MigrationJob.run   vs  kubectl wait --for=condition=failed
  migration-image    migration Job image is missing       shipit MigrationJob.run   vs  kubectl wait --for=condition=failed
  image-missing      rollout to an image that is missing  shipit Rollout.watch      vs  kubectl rollout status
  crash-loop         rollout to an image that crashes     shipit Rollout.watch      vs  kubectl rollout status
  never-ready        rollout to an image never Ready      shipit Rollout.watch      vs  kubectl rollout status

The pod's state-change time comes from the store's subscribe callback in-process (the first write that makes a pod
Failed, ErrImagePull, terminated non-zero/CrashLoopBackOff, or — for never-ready — running-but-unready plus
`rollout.ready_grace`, the moment shipit's rule says it is a failure). kubectl learns of rollout failures only from
ProgressDeadlineExceeded, so the Deployments here use progressDeadlineSeconds=PROGRESS_DEADLINE (600 by default in
real clusters; the ratio grows with it); a Job whose image is missing fails only at its activeDeadlineSeconds
(migration.timeout, here PROGRESS_DEADLINE too). Also printed: API requests shipit made per scenario. Target: shipit <= 1 s.

    .venv/bin/python scripts/bench_detect.py [--runs 5] [--modes migration-exit,crash-loop] [--deadline 8] [--real-cluster]

With --real-cluster the same scenarios run on the real control plane of tests/cluster (upstream controllers); the
state-change time is then when the node agent's status write that makes the pod fail is answered by the API server.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipit.core.config import KubernetesConfig  # noqa: E402
from shipit.kube.client import Kube  # noqa: E402
from shipit.core.log import configure  # noqa: E402
from shipit.kube.migration_job import MigrationJob  # noqa: E402
from shipit.kube.rollout import Rollout  # noqa: E402
from tests.integration.kube.conftest import APP_IMAGE, create_deployment, deployment_manifest  # noqa: E402
from tests.support.kube_snapshots import make_config  # noqa: E402
from tests.kubesim.clock import parse_time  # noqa: E402
from tests.kubesim.cluster import Cluster  # noqa: E402
from tests.kubesim.images import ImageBehaviour  # noqa: E402
from tests.kubesim.resources import JOBS, PODS  # noqa: E402

PROGRESS_DEADLINE = 8  # seconds (--deadline); kubectl rollout status / wait fail only when this passes
READY_GRACE = 2.0
MODES = ("migration-exit", "migration-image", "image-missing", "crash-loop", "never-ready")
EXPECTED = {"image-missing": "ImagePullError", "crash-loop": "CrashLoopBackOff", "never-ready": "NotReady"}  # PodState values


class PodWatch:
    """Records, in-process, when a matching pod first reaches a failing state (the store's subscribe callback, or on
    the real control plane the node agent's status writes)."""

    def __init__(self, cluster, *, name_prefix: str, never_ready: bool = False):
        self.prefix = name_prefix
        self.never_ready = never_ready
        self.at: float | None = None
        if hasattr(cluster, "agent"):
            store = cluster.agent.store
            plain = getattr(store, "_unwatched_mutate", store.mutate)
            store._unwatched_mutate = plain

            def mutate(res, namespace, name, fn, **kw):
                new = plain(res, namespace, name, fn, **kw)
                self.on_event("MODIFIED", res, new)
                return new
            store.mutate = mutate
        else:
            cluster.store.subscribe(self.on_event)

    def on_event(self, etype: str, res, obj: dict) -> None:
        if self.at is not None or res is not PODS or etype == "DELETED":
            return
        if not obj["metadata"]["name"].startswith(self.prefix):
            return
        status = obj.get("status") or {}
        for cs in status.get("containerStatuses") or []:
            state = cs.get("state") or {}
            waiting = (state.get("waiting") or {}).get("reason")
            term = state.get("terminated")
            if self.never_ready:
                if state.get("running") and not cs.get("ready"):
                    # When shipit's rule makes it a failure: ready_grace after startedAt (whole seconds, as recorded).
                    self.at = parse_time(state["running"]["startedAt"]) + READY_GRACE
                    return
            elif waiting in ("ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff") or (term and term.get("exitCode")):
                self.at = time.time()
                return
        if not self.never_ready and status.get("phase") == "Failed":
            self.at = time.time()


def job_exists(cluster, name: str) -> bool:
    if hasattr(cluster, "agent"):
        return bool(cluster.api().get("/apis/batch/v1/namespaces/default/jobs", fieldSelector=f"metadata.name={name}")["items"])
    return bool(cluster.store.list_shared(JOBS, "default", field_selector=f"metadata.name={name}")[0])


def kubectl(cluster: Cluster, cache: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "KUBECACHEDIR": cache}
    return subprocess.Popen(["kubectl", "--kubeconfig", str(cluster.kubeconfig), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_exit(proc: subprocess.Popen, result: dict, key: str) -> threading.Thread:
    def run():
        out, err = proc.communicate()
        result[key] = time.time()
        result[key + "_out"] = (out + err).strip().splitlines()[-1:] if (out + err).strip() else []
        result[key + "_rc"] = proc.returncode

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def run_migration(cluster: Cluster, mode: str, i: int, cache: str) -> dict:
    kube = Kube.from_config(KubernetesConfig(namespace="default", kubeconfig=str(cluster.kubeconfig)))
    source = f"src-{mode}-{i}"
    cfg = make_config(deployments=((source, ()),), timeout=PROGRESS_DEADLINE)
    create_deployment(kube, deployment_manifest(source, replicas=1, sidecar=False), wait_ready=False)
    if mode == "migration-exit":
        image = f"{APP_IMAGE}:bench-fail-{i}"
        cluster.images.add(image, ImageBehaviour(exit_code=1, run_seconds=2.0, log_lines=("== migrating", "error: boom")))
    else:
        image = f"{APP_IMAGE}:bench-{i}-missing"
    job = MigrationJob(kube, cfg, image=image, release_id=f"{mode[10:]}{i:04d}")
    watch = PodWatch(cluster, name_prefix=job.name)
    kube.request_count = 0
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(outcome=job.run(), shipit=time.time()))
    runner.start()
    while not job_exists(cluster, job.name):
        time.sleep(0.01)
    waiter = wait_exit(kubectl(cluster, cache, "wait", "--for=condition=failed", f"job/{job.name}", "--timeout=120s"), result, "kubectl")
    runner.join()
    waiter.join()
    failure = result["outcome"].failure
    if mode == "migration-exit":
        assert failure is not None and failure.exit_code == 1 and "error: boom" in failure.log_tail, failure
    else:
        assert failure is not None and failure.state == "ImagePullError", failure
    return {"changed": watch.at, "shipit": result["shipit"], "kubectl": result["kubectl"], "requests": kube.request_count,
            "kubectl_out": result["kubectl_out"]}


def run_rollout(cluster: Cluster, mode: str, i: int, cache: str) -> dict:
    kube = Kube.from_config(KubernetesConfig(namespace="default", kubeconfig=str(cluster.kubeconfig)))
    name = f"{mode}-{i}"
    create_deployment(kube, deployment_manifest(name, replicas=2, sidecar=False, progress_deadline=PROGRESS_DEADLINE))
    cfg = make_config(deployments=((name, ()),), ready_grace=READY_GRACE)
    tag = {"image-missing": "v2-missing", "crash-loop": "v2-crash", "never-ready": "v2-unready"}[mode]
    rollout = Rollout(kube, cfg)
    watch = PodWatch(cluster, name_prefix=f"{name}-", never_ready=mode == "never-ready")
    kube.request_count = 0
    rollout.apply(f"{APP_IMAGE}:{tag}")
    result: dict = {}
    waiter = wait_exit(kubectl(cluster, cache, "rollout", "status", f"deployment/{name}", "--timeout=120s"), result, "kubectl")
    outcome = rollout.watch(timeout=120)
    result["shipit"] = time.time()
    requests = kube.request_count
    waiter.join()
    assert not outcome.succeeded, "the rollout was expected to fail"
    assert outcome.failures[0].state == EXPECTED[mode], outcome.failures[0].render()
    return {"changed": watch.at, "shipit": result["shipit"], "kubectl": result["kubectl"], "requests": requests,
            "kubectl_out": result["kubectl_out"]}


def main() -> None:
    global PROGRESS_DEADLINE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--real-cluster", action="store_true", help="run on the real control plane of tests/cluster")
    parser.add_argument("--deadline", type=int, default=PROGRESS_DEADLINE,
                        help="progressDeadlineSeconds / activeDeadlineSeconds of the scenarios (600 is the Deployment default)")
    args = parser.parse_args()
    PROGRESS_DEADLINE = args.deadline
    configure(level=logging.WARNING)  # stdout is for the table
    modes = [m for m in args.modes.split(",") if m]
    if args.real_cluster:
        from tests.cluster.cluster import RealCluster
        cluster = RealCluster(log=lambda msg: print(f"real cluster: {msg}", file=sys.stderr))
    else:
        cluster = Cluster(k8s_version="1.33")
    cluster.start()
    with tempfile.TemporaryDirectory() as tmp:
        cluster.write_kubeconfig(Path(tmp) / "kubeconfig")
        cache = str(Path(tmp) / "kubecache")
        rows = []
        try:
            for mode in modes:
                samples = []
                for i in range(args.runs):
                    s = run_migration(cluster, mode, i, cache) if mode.startswith("migration") else run_rollout(cluster, mode, i, cache)
                    samples.append(s)
                shipit = statistics.median(s["shipit"] - s["changed"] for s in samples)
                kubectl_t = statistics.median(s["kubectl"] - s["changed"] for s in samples)
                reqs = statistics.median(s["requests"] for s in samples)
                rows.append((mode, shipit, kubectl_t, reqs, samples[-1]["kubectl_out"]))
                print(f"  {mode}: shipit {[round(s['shipit'] - s['changed'], 3) for s in samples]} "
                      f"kubectl {[round(s['kubectl'] - s['changed'], 3) for s in samples]}", file=sys.stderr)
        finally:
            cluster.stop()
    print(f"detection latency, median of {args.runs} runs (seconds from the pod's state change to the failure report)")
    print(f"{'mode':<16}{'shipit':>9}{'kubectl':>10}{'ratio':>9}{'requests':>10}  target<=1s  kubectl said")
    for mode, s, k, r, out in rows:
        ratio = k / s if s > 0 else float("inf")
        print(f"{mode:<16}{s:>9.3f}{k:>10.3f}{ratio:>8.1f}x{r:>10.0f}  {'ok' if s <= 1.0 else 'MISSED':<10}  {' '.join(out)[:70]}")
    print(f"(rollouts use progressDeadlineSeconds={PROGRESS_DEADLINE} and the Job activeDeadlineSeconds={PROGRESS_DEADLINE}: kubectl "
          f"reports only at those deadlines, ~600 s with the Deployment default; never-ready counts from the end of "
          f"ready_grace={READY_GRACE:g}s after startedAt)")


if __name__ == "__main__":
    main()
