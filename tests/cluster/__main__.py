"""python -m tests.cluster --kubeconfig FILE [--exec] [--shipit-kubeconfig FILE2 --namespace NS]

Builds the cluster binary if needed, starts the control plane and the node agent, writes FILE (cluster-admin) once
the API answers and the node is Ready, optionally a namespace with config/rbac.yaml applied and FILE2 holding the
shipit ServiceAccount's token; runs until SIGINT/SIGTERM and then stops every child it started."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from tests.cluster.build import go_binary
from tests.cluster.cluster import ClusterError, RealCluster


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__.splitlines()[0])
    p.add_argument("--kubeconfig", required=True, type=Path, help="where to write the cluster-admin kubeconfig")
    p.add_argument("--exec", dest="exec_mode", action="store_true",
                   help="run Job containers that have a command as local processes")
    p.add_argument("--shipit-kubeconfig", type=Path, help="where to write the shipit ServiceAccount's kubeconfig")
    p.add_argument("--namespace", help="namespace for shipit's ServiceAccount (with --shipit-kubeconfig)")
    p.add_argument("--speed", type=float, default=1.0, help="node agent time scale (back-offs, start delays)")
    args = p.parse_args(argv)
    if args.shipit_kubeconfig and not args.namespace:
        p.error("--shipit-kubeconfig needs --namespace")
    if go_binary() is None:
        print("tests.cluster: Go is not installed; run scripts/test once to set it up", file=sys.stderr)
        return 1

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log = lambda msg: print(f"tests.cluster: {msg}", file=sys.stderr, flush=True)  # noqa: E731
    cluster = RealCluster(exec_mode=args.exec_mode, speed=args.speed, log=log)
    try:
        cluster.start()
        if args.shipit_kubeconfig:
            cluster.shipit_kubeconfig(args.namespace, args.shipit_kubeconfig)
        cluster.write_kubeconfig(args.kubeconfig)
        print(cluster.url, flush=True)
        while not stop.wait(0.5):
            if cluster.proc is None or cluster.proc.poll() is not None:
                log("the control plane exited; see " + str(cluster.dir / "control-plane.log"))
                return 1
        return 0
    except ClusterError as exc:
        log(str(exc))
        return 1
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
