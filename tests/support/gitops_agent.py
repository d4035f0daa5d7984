"""A small GitOps agent for tests, standing in for Argo CD: a bounded loop that reads a branch of a (bare) git
repository, renders a directory and applies it server-side to the cluster, marking every object with Argo CD's tracking
annotation, as Argo does. A kustomization renders with `kubectl kustomize`; with `values=FILE` the directory is a
tiny chart: `{{ .Values.a.b }}` in its other YAML files is replaced from FILE (a stand-in for Flux's helm-controller).
It stops when told or after `max_seconds`."""

from __future__ import annotations

import json
import os
import re
import io
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import git
import yaml

TRACKING = "argocd.argoproj.io/tracking-id"


class GitOpsAgent:
    def __init__(self, origin: Path, path: str, kubeconfig: Path, *, branch: str = "main", app: str = "shop",
                 values: str | None = None, interval: float = 0.3, max_seconds: float = 300.0):
        self.origin, self.path, self.branch, self.app, self.values = origin, path, branch, app, values
        self.interval, self.max_seconds = interval, max_seconds
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig),
                    "KUBECACHEDIR": str(kubeconfig.parent / "agent-kubecache")}
        self.applied: list[str] = []  # commits applied, in order
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gitops-agent", daemon=True)

    def __enter__(self) -> "GitOpsAgent":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                self.sync()
            except Exception as e:  # reported by the tests through .errors
                self.errors.append(repr(e))
            self._stop.wait(self.interval)

    def sync(self) -> None:
        sha = git.Repo(self.origin).commit(self.branch).hexsha
        if self.applied and self.applied[-1] == sha:
            return
        with tempfile.TemporaryDirectory() as tmp:
            data = io.BytesIO()
            git.Repo(self.origin).archive(data, treeish=sha, format="tar")
            data.seek(0)
            with tarfile.open(fileobj=data) as tar:
                tar.extractall(tmp, filter="data")
            directory = Path(tmp) / self.path
            rendered = self._chart(directory) if self.values else self._kubectl("kustomize", str(directory))
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        for d in docs:
            meta = d.setdefault("metadata", {})
            meta.setdefault("annotations", {})[TRACKING] = f"{self.app}:{d['kind']}:default/{meta['name']}"
        # forced, as Argo CD's server-side sync is: the objects it takes over were applied by hand before
        self._kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=argocd-controller", "-f", "-",
                      input="\n".join(json.dumps(d) for d in docs))  # a JSON stream: kubectl 1.32 refuses `---` in one
        self.applied.append(sha)

    def _chart(self, directory: Path) -> str:
        values = yaml.safe_load((directory / self.values).read_text())

        def lookup(m: re.Match) -> str:
            node = values
            for part in m.group(1).split("."):
                node = node[part]
            return str(node)
        return "\n---\n".join(re.sub(r"\{\{ \.Values\.([\w.]+) \}\}", lookup, f.read_text())
                               for f in sorted(directory.glob("*.yaml")) if f.name != self.values)

    def _kubectl(self, *args: str, input: str | None = None) -> str:
        proc = subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True, env=self.env,
                              timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"kubectl {args[0]}: {proc.stderr.strip()}")
        return proc.stdout
