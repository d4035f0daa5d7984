"""`python -m tests.kubesim --port PORT --kubeconfig PATH [--exec] [--k8s-version 1.29..1.33] [--speed S]`:
runs an empty in-memory cluster in the foreground until interrupted; writes the kubeconfig once it is ready and
prints the URL."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from tests.kubesim.cluster import VERSIONS, Cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kubesim", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig once ready")
    parser.add_argument("--exec", dest="exec_mode", action="store_true",
                        help="run Job containers that have a command as real local processes")
    parser.add_argument("--k8s-version", default="1.33", choices=VERSIONS)
    parser.add_argument("--speed", type=float, default=1.0, help="cluster seconds per real second")
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be positive")
    cluster = Cluster(k8s_version=args.k8s_version, exec_mode=args.exec_mode, speed=args.speed)
    try:
        url = cluster.start(args.port)
    except OSError as exc:
        print(f"kubesim: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 3
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    cluster.write_kubeconfig(args.kubeconfig)
    print(url, flush=True)
    done.wait()
    cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
