"""The real kubectl, for what the Python client has no equivalent of: `kubectl kustomize` and server-side apply of
any kind a team renders (discovery and REST mapping for every kind, CRDs included; the field-manager conflicts teams
already know from their CI). Reads and watches stay on the Python client (retries, request counting)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from shipit.core.errors import BadInput, ShipitError
from shipit.core.redact import redact

FIELD_MANAGER = "shipit"


def _stream(objects: list[dict]) -> str:
    """One JSON document per line: kubectl reads input that starts with `{` as a JSON stream, where a YAML `---`
    separator is an error (a v1 List fails apply's schema validation instead)."""
    return "\n".join(json.dumps(o) for o in objects)


class ApplyConflict(ShipitError):
    """Another field manager owns fields shipit would set; shipit does not force."""


def apply_failure(stderr: str) -> str:
    """What a failed server-side apply means: `refused` (an API error such as RBAC's 403, whatever else it says),
    `own` (every conflict is with shipit's own earlier writes: its image patches and restores), `conflict` or
    `other`."""
    if "Error from server" in stderr:
        return "refused"
    managers = set(re.findall(r'conflicts? with "([^"]+)"', stderr))
    if managers == {FIELD_MANAGER}:
        return "own"
    return "conflict" if managers or "conflict" in stderr.lower() else "other"


class Kubectl:
    def __init__(self, k: Any, *, env: dict[str, str] | None = None, timeout: float = 120.0):
        self.namespace = k.namespace
        self._args = ["--context", k.context] if k.context else []
        self._env = {**os.environ, **({"KUBECONFIG": str(Path(k.kubeconfig).expanduser())} if k.kubeconfig else {}),
                     **(env or {})}
        self._timeout = timeout

    def run(self, *args: str, input: str | None = None, namespaced: bool = True) -> subprocess.CompletedProcess:
        cmd = ["kubectl", *self._args, *(["--namespace", self.namespace] if namespaced else []), *args]
        try:
            return subprocess.run(cmd, input=input, capture_output=True, text=True, env=self._env,
                                  timeout=self._timeout)
        except FileNotFoundError:
            raise BadInput("kubectl is not installed or not on PATH (code.strategy manifests/kustomize apply with it)") \
                from None
        except subprocess.TimeoutExpired:
            raise ShipitError(f"kubectl {args[0]} did not finish within {self._timeout:.0f}s") from None

    def kustomize(self, directory: Path) -> str:
        proc = self.run("kustomize", str(directory), namespaced=False)
        if proc.returncode != 0:
            raise BadInput(f"kubectl kustomize {directory.name} failed: {redact(proc.stderr.strip())}")
        return proc.stdout

    def apply(self, objects: list[dict]) -> list[dict]:
        """Server-side apply as field manager `shipit`, forcing only over shipit's own earlier patches; the objects
        as the server stored them."""
        args = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-o", "json", "-f", "-"]
        proc = self.run(*args, input=_stream(objects))
        if proc.returncode != 0 and apply_failure(proc.stderr) == "own":
            # fields shipit set itself by patch are shipit's to take over; another manager's never are
            proc = self.run(*args, "--force-conflicts", input=_stream(objects))
        if proc.returncode != 0:
            err = redact(proc.stderr.strip())
            if apply_failure(proc.stderr) == "conflict":
                raise ApplyConflict(f"server-side apply found fields owned by another manager; shipit does not force "
                                    f"them: {err}. Remove those fields from the manifests, or hand them to shipit "
                                    f"once (kubectl apply --server-side --field-manager={FIELD_MANAGER} "
                                    f"--force-conflicts) if shipit should own them from now on")
            raise ShipitError(f"kubectl apply failed: {err}")
        out = json.loads(proc.stdout or "{}")
        return out.get("items", [out]) if out else []

    def live(self, objects: list[dict]) -> list[dict]:
        """The cluster's current versions of `objects` (those that exist)."""
        proc = self.run("get", "--ignore-not-found", "-o", "json", "-f", "-",
                        input=_stream(objects))
        if proc.returncode != 0:
            raise ShipitError(f"kubectl get failed: {redact(proc.stderr.strip())}")
        out = json.loads(proc.stdout) if proc.stdout.strip() else {}
        return out.get("items", [out]) if out else []

    def delete(self, refs: list[str]) -> None:
        proc = self.run("delete", "--ignore-not-found", "--wait=false", *refs)
        if proc.returncode != 0:
            raise ShipitError(f"kubectl delete {' '.join(refs)} failed: {redact(proc.stderr.strip())}")
