"""Build the cluster binary (tests/cluster/main.go) once per go.mod/go.sum/main.go content, cached outside the repository
under ~/.cache/shipit-cluster/<key>/shipit-cluster; shows progress and says how long it took.

    python -m tests.cluster.build            # prints the binary's path
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("SHIPIT_CLUSTER_CACHE", Path.home() / ".cache" / "shipit-cluster"))
BINARY = "shipit-cluster"


def kube_version() -> str:
    """The k8s.io/kubernetes release go.mod pins (v1.34.4)."""
    for line in (HERE / "go.mod").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-2] == "k8s.io/kubernetes" and parts[-1].startswith("v1."):
            return parts[-1]
    raise RuntimeError("go.mod does not require k8s.io/kubernetes")


def build_flags() -> list[str]:
    """Strip symbols and stamp /version the way release builds do (kubectl picks its minor from it)."""
    v = kube_version()
    minor = v.split(".")[1]
    stamps = [f"-X {pkg}.{k}={val}" for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
              for k, val in (("gitVersion", v), ("gitMajor", "1"), ("gitMinor", minor), ("gitTreeState", "clean"))]
    return ["-ldflags=-s -w " + " ".join(stamps)]


def go_binary() -> str | None:
    for candidate in (os.environ.get("GO"), "/usr/local/go/bin/go", shutil.which("go")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def cache_key() -> str:
    h = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        h.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    h.update(" ".join(build_flags()).encode())
    return h.hexdigest()[:16]


def binary_path() -> Path:
    return CACHE / cache_key() / BINARY


def _env() -> dict[str, str]:
    return {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly -buildvcs=false"}


def build(*, quiet: bool = False, out=sys.stderr) -> Path:
    """The cached binary, building it first if needed (progress on `out` unless quiet)."""
    target = binary_path()
    if target.exists():
        return target
    go = go_binary()
    if go is None:
        raise RuntimeError("Go is not installed (looked for $GO, /usr/local/go/bin/go and go on PATH)")
    say = (lambda *_: None) if quiet else (lambda msg: print(f"cluster build: {msg}", file=out, flush=True))
    start = time.monotonic()
    say(f"building {target} (cold: tens of minutes on 2 cores; later builds reuse Go's cache)")
    subprocess.run([go, "mod", "download"], cwd=HERE, env=_env(), check=True)
    deps = subprocess.run([go, "list", "-deps", "."], cwd=HERE, env=_env(), check=True, capture_output=True,
                          text=True).stdout.split()
    tmp = target.with_name(f"{BINARY}.{os.getpid()}.tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([go, "build", "-v", *build_flags(), "-o", str(tmp), "."], cwd=HERE, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done: list[str] = []
    output: list[str] = []

    def ticker() -> None:
        while proc.poll() is None:
            time.sleep(15)
            if proc.poll() is None:
                last = done[-1] if done else "resolving"
                say(f"{len(done)}/{len(deps)} packages compiled, {time.monotonic() - start:.0f}s, last: {last}")
    threading.Thread(target=ticker, daemon=True).start()
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        (done if line in deps or line.endswith("/cluster") else output).append(line)
    if proc.wait() != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError("go build failed:\n" + "\n".join(output[-60:]))
    tmp.rename(target)
    say(f"built {target} in {time.monotonic() - start:.0f}s ({len(done)} packages compiled, the rest cached)")
    return target


def main() -> None:
    try:
        print(build())
    except RuntimeError as exc:
        print(f"cluster build: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
