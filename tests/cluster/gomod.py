"""Regenerate go.mod for the cluster binary: pin k8s.io/kubernetes and replace every staging module with its release.

Usage: python tests/cluster/gomod.py [v1.34.4]   (needs Go and the module proxy; rerun on every Kubernetes bump)
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_VERSION = "v1.34.4"
# One etcd server release for all go.etcd.io/etcd modules: the one the pinned k8s.io/kubernetes requires.
MODULE = "shipit.local/tests/cluster"


def go(*args: str) -> str:
    env = dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN="local")
    gobin = os.environ.get("GO", "/usr/local/go/bin/go")
    return subprocess.run([gobin, *args], cwd=HERE, env=env, check=True, capture_output=True, text=True).stdout


def staging_modules(kube_version: str) -> list[str]:
    info = json.loads(go("mod", "download", "-json", f"k8s.io/kubernetes@{kube_version}"))
    text = Path(info["GoMod"]).read_text()
    return re.findall(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", text, re.M)


def main() -> None:
    kube_version = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_VERSION
    staging_version = "v0." + kube_version.removeprefix("v1.")
    gomod = HERE / "go.mod"
    if not gomod.exists():
        go("mod", "init", MODULE)
    for mod in staging_modules(kube_version):
        go("mod", "edit", f"-replace={mod}={mod}@{staging_version}")
    go("mod", "edit", f"-require=k8s.io/kubernetes@{kube_version}")
    go("mod", "edit", "-go=1.26.0")
    go("mod", "tidy")
    print(f"go.mod pinned to k8s.io/kubernetes {kube_version}, staging modules {staging_version}")


if __name__ == "__main__":
    main()
