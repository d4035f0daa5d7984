"""A manifests or kustomize directory rendered at a commit, straight from git (the working tree is never touched)."""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

import yaml

from shipit.core.errors import BadInput
from shipit.adapters.code.kubectl import Kubectl

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def export_tree(repo: Path, sha: str, into: Path) -> None:
    import git

    data = io.BytesIO()
    try:
        git.Repo(repo).archive(data, treeish=sha, format="tar")
    except git.GitCommandError as e:
        raise BadInput(f"cannot read commit {sha} of {repo}: {e.stderr.strip()}") from None
    data.seek(0)
    with tarfile.open(fileobj=data) as tar:
        tar.extractall(into, filter="data")


def parse_manifests(text: str, source: str) -> list[dict]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        raise BadInput(f"{source}: not valid YAML ({e})") from None
    out = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict) or "kind" not in doc or not (doc.get("metadata") or {}).get("name"):
            raise BadInput(f"{source}: every document must be a Kubernetes object with kind and metadata.name")
        out.extend(doc.get("items") or [] if doc["kind"].endswith("List") else [doc])
    return out


def render(repo: Path, sha: str, path: str, *, kustomize: bool, kubectl: Kubectl) -> list[dict]:
    """The objects `path` renders to at `sha`: `kubectl kustomize`, or every YAML/JSON file in name order."""
    with tempfile.TemporaryDirectory(prefix="shipit-render-") as tmp:
        export_tree(repo, sha, Path(tmp))
        directory = (Path(tmp) / path).resolve()
        if not directory.is_relative_to(Path(tmp).resolve()) or not directory.is_dir():
            raise BadInput(f"code.path: {path} is not a directory at commit {sha[:12]}")
        if kustomize:
            return parse_manifests(kubectl.kustomize(directory), f"kubectl kustomize {path}")
        files = sorted(f for f in directory.rglob("*") if f.is_file() and f.suffix in MANIFEST_SUFFIXES)
        if not files:
            raise BadInput(f"code.path: {path} has no .yaml, .yml or .json files at commit {sha[:12]}")
        return [obj for f in files for obj in parse_manifests(f.read_text(), f"{path}/{f.relative_to(directory)}")]
