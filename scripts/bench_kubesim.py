"""kubesim benchmark: (a) latency from a pod status change made through the API to the watch event
reaching a python watcher, (b) get/list requests per second on 1,000 ConfigMaps, all over real HTTP with the
`kubernetes` python client against `python -m tests.kubesim` running as its own process.

Usage: .venv/bin/python scripts/bench_kubesim.py [--samples 60] [--objects 1000] [--rounds 3]"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def watch_latency(core, samples: int) -> list[float]:
    """Milliseconds from just before the status PATCH is sent to the MODIFIED event arriving at a Watch."""
    from kubernetes import watch
    core.create_namespaced_pod("default", {"metadata": {"name": "bench"}, "spec": {
        "nodeSelector": {"bench": "nowhere"},           # stays unscheduled: only our writes change it
        "containers": [{"name": "c", "image": "bench:v1"}]}})
    arrivals: queue.Queue[tuple[str, float]] = queue.Queue()
    w = watch.Watch()
    ready = threading.Event()

    def watcher() -> None:
        for event in w.stream(core.list_namespaced_pod, "default", field_selector="metadata.name=bench",
                              _request_timeout=120):
            ready.set()
            message = event["object"].status.message or ""
            if message == "done":
                return
            if message.startswith("sample-"):
                arrivals.put((message, time.perf_counter()))
    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    ready.wait(30)
    time.sleep(0.5)                                     # let the scheduler's Unschedulable write settle
    latencies = []
    for i in range(samples):
        message = f"sample-{i}"
        sent = time.perf_counter()
        core.patch_namespaced_pod_status("bench", "default", {"status": {"message": message}})
        while True:
            got, at = arrivals.get(timeout=30)
            if got == message:
                latencies.append((at - sent) * 1000)
                break
    core.patch_namespaced_pod_status("bench", "default", {"status": {"message": "done"}})
    thread.join(10)
    core.delete_namespaced_pod("bench", "default", grace_period_seconds=0)
    return latencies


def throughput(fn, seconds: float = 2.0) -> float:
    """Calls per second of `fn` over about `seconds`."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.samples < 1 or args.objects < 1 or args.rounds < 1:
        print("bench_kubesim: --samples, --objects and --rounds must be positive", file=sys.stderr)
        return 3
    from kubernetes import client, config

    from tests.kubesim.fixture import start_process
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_process(Path(tmp) / "kubeconfig")
        try:
            api_client = config.new_client_from_config(str(Path(tmp) / "kubeconfig"))
            core = client.CoreV1Api(api_client)
            latencies = watch_latency(core, args.samples)
            for i in range(args.objects):
                core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{i:04d}"},
                                                              "data": {"k": "v" * 64}})
            names = iter(range(10 ** 9))
            rows = []
            for label, fn in [
                ("get configmap", lambda: core.read_namespaced_config_map(
                    f"cm-{next(names) % args.objects:04d}", "default")),
                (f"list {args.objects} configmaps (models)", lambda: core.list_namespaced_config_map("default")),
                (f"list {args.objects} configmaps (raw JSON)", lambda: core.list_namespaced_config_map(
                    "default", _preload_content=False).data),
            ]:
                runs = [throughput(fn) for _ in range(args.rounds)]
                rows.append((label, statistics.median(runs), min(runs), max(runs)))
            api_client.close()
        finally:
            proc.terminate()
            proc.wait(15)
    q = statistics.quantiles(latencies, n=20)
    print(f"kubesim over HTTP, python client, {args.samples} watch samples, median of {args.rounds} rounds")
    print(f"{'measure':<40} {'median':>10} {'min':>10} {'max':>10}")
    print(f"{'watch latency, status PATCH -> event (ms)':<40} {statistics.median(latencies):>10.2f} "
          f"{min(latencies):>10.2f} {max(latencies):>10.2f}   p95 {q[18]:.2f}")
    for label, med, lo, hi in rows:
        print(f"{label + ' (req/s)':<40} {med:>10.1f} {lo:>10.1f} {hi:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
