"""Benchmark the CLI's start-up as whole processes: `shipit --help` and `shipit status` against a kubesim cluster.

kubesim runs as its own process (`python -m tests.kubesim`) with one release record and a held release lock, so
`shipit status` does the work it does in production: load the config, build the API client, list the records, read
the Lease and render the summary. The baseline, measured in the same run and interleaved with the shipit runs so load
on the machine hits both alike, is `kubectl get configmaps` on the same cluster (warm discovery cache) and a bare
`python -c pass` with the same interpreter.
Targets: `shipit status` median <= 0.45 s, `shipit --help` median <= 0.25 s.

Run: .venv/bin/python scripts/bench_cli.py [--runs 15] [--compare DIR]
(--compare DIR also times `python -m shipit.cli` from another checkout, e.g. `git worktree add DIR <commit>`, in the
same interleaved runs: a before/after under the same load.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shipit.kube.records import ReleaseRecord, ReleaseStatus, record_to_configmap  # noqa: E402
from tests.kubesim.fixture import start_process  # noqa: E402

TARGETS = {"shipit status": 0.45, "shipit --help": 0.25}


def config(kubeconfig: Path) -> dict:
    """The least configuration `shipit status` accepts, on the benchmark's cluster."""
    return {
        "app": "shop",
        "kubernetes": {"namespace": "default", "kubeconfig": str(kubeconfig)},
        "image": {"repository": "registry.example.com/shop"},
        "deployments": [{"name": "web"}],
        "migration": {"from_deployment": "web", "container": "web"},
        "database": {"url": "mysql://shipit@127.0.0.1:3306/shop"},
    }


def seed(kubectl: list[str], work: Path) -> None:
    """One finished release record and a release lock held by someone, so status renders both."""
    record = ReleaseRecord(id="r0001", sequence=1, app="shop", from_sha="a" * 40, to_sha="b" * 40,
                           image_before="registry.example.com/shop:" + "a" * 40,
                           image_after="registry.example.com/shop:" + "b" * 40, started="2026-01-01T12:00:00Z",
                           user="alice")
    for name in ("plan", "migrate", "code", "verify"):
        record = record.with_phase(name, "running", started="2026-01-01T12:00:01Z")
        record = record.with_phase(name, "succeeded", ended="2026-01-01T12:00:09Z", message=f"{name} done")
    record = record.with_status(ReleaseStatus.SUCCEEDED, ended="2026-01-01T12:00:10Z")
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "shipit-shop", "annotations": {"shipit.dev/user": "bob", "shipit.dev/host": "ci-7"}},
             "spec": {"holderIdentity": "bob@ci-7/1", "leaseDurationSeconds": 3600,
                      "acquireTime": "2026-01-01T12:00:00.000000Z", "renewTime": "2099-01-01T12:00:00.000000Z"}}
    objects = work / "objects.json"
    objects.write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                   "items": [record_to_configmap(record, "default"), lease]}))
    r = subprocess.run([*kubectl, "create", "--validate=false", "-f", str(objects)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"could not seed the cluster: {r.stderr}")


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    r = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--compare", type=Path, metavar="DIR", help="another checkout of shipit to time alongside")
    args = parser.parse_args()
    shipit = str(Path(sys.executable).with_name("shipit"))
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        work = Path(tmp)
        kubeconfig = work / "kubeconfig"
        proc, _url = start_process(kubeconfig)
        try:
            env = {**os.environ, "KUBECACHEDIR": str(work / "kubecache"), "NO_COLOR": "1"}
            env.pop("CI", None)
            kubectl = [shutil.which("kubectl") or "kubectl", "--kubeconfig", str(kubeconfig)]
            seed(kubectl, work)
            config_file = work / "shipit.yaml"
            config_file.write_text(yaml.safe_dump(config(kubeconfig)))
            commands = {
                "python -c pass": [sys.executable, "-c", "pass"],
                "kubectl get configmaps": [*kubectl, "get", "configmaps", "-n", "default"],
                "shipit --help": [shipit, "--help"],
                "shipit status": [shipit, "status", "--config", str(config_file)],
            }
            if args.compare:
                other = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(args.compare.resolve())!r}); "
                         "from shipit.cli.app import main; main()"]
                commands[f"{args.compare.name}: shipit --help"] = [*other, "--help"]
                commands[f"{args.compare.name}: shipit status"] = [*other, "status", "--config", str(config_file)]
            for name in [n for n in commands if n.endswith("shipit status")]:
                out = subprocess.run(commands[name], env=env, capture_output=True, text=True).stdout
                if "r0001" not in out or "bob" not in out:
                    raise RuntimeError(f"{name} did not show the seeded record and lock:\n{out}")
            for argv in commands.values():  # warm the page cache and kubectl's discovery cache
                timed(argv, env)
            times: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(args.runs):
                for name, argv in commands.items():
                    times[name].append(timed(argv, env))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    base = statistics.median(times["kubectl get configmaps"])
    print(f"whole processes, median of {args.runs} interleaved runs (machine load {os.getloadavg()[0]:.1f})")
    print(f"  {'':<34}{'median':>9}{'min':>9}{'max':>9}{'x kubectl':>11}{'target':>9}")
    missed = []
    for name, values in times.items():
        med = statistics.median(values)
        target = TARGETS.get(name)
        if target is not None and med > target:
            missed.append(name)
        print(f"  {name:<34}{med:>8.3f}s{min(values):>8.3f}s{max(values):>8.3f}s{med / base:>10.1f}x"
              f"{f'{target:.2f}s' if target else '':>9}")
    print("targets: " + (f"MISSED {', '.join(missed)}" if missed else "met"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
