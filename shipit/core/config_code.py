"""`code:`: how the release's code reaches the cluster (patch the image, apply the repository's manifests or
kustomization, helm, or commit the tag to a GitOps repository). Keys of another strategy are errors, so a
half-switched configuration cannot deploy the old way."""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING, Any, Callable

from shipit.core import config_values as v
from shipit.core.errors import ConfigError

if TYPE_CHECKING:
    from shipit.core.config import _Reader


class CodeStrategy(enum.Enum):
    IMAGE = "image"  # patch the image of the configured Deployments
    MANIFESTS = "manifests"  # apply the repository's YAML directory at --to
    KUSTOMIZE = "kustomize"  # apply `kubectl kustomize DIR` at --to
    HELM = "helm"  # helm upgrade --install, watched by shipit
    GITOPS = "gitops"  # commit the tag to the GitOps repository; its controller applies it


class WorkloadKind(enum.Enum):
    """The kinds the image strategy patches; each rolls out by its own rule (kube/workloads.py)."""

    DEPLOYMENT = "Deployment"
    STATEFULSET = "StatefulSet"
    CRONJOB = "CronJob"


@dataclasses.dataclass(frozen=True)
class WorkloadConfig:
    kind: WorkloadKind
    name: str
    containers: tuple[str, ...] = ()  # empty: the containers whose image is image.repository


class GitOpsKind(enum.Enum):
    KUSTOMIZE_IMAGES = "kustomize-images"  # a kustomization.yaml's images: entry
    VALUES_KEY = "values-key"  # a dotted key of a Helm values file


@dataclasses.dataclass(frozen=True)
class HelmConfig:
    release: str
    chart: str
    values: tuple[tuple[str, str], ...] = (("image.tag", "{sha}"),)  # value key -> template ({sha}, {short_sha})


@dataclasses.dataclass(frozen=True)
class GitOpsConfig:
    repo: str  # URL or path of the GitOps repository (cloned into a work dir)
    path: str  # the kustomization.yaml or values file in it
    kind: GitOpsKind
    key: str | None = None  # values-key: the dotted key; kustomize-images: the images: name (default image.repository)
    branch: str = "main"


@dataclasses.dataclass(frozen=True)
class CodeConfig:
    strategy: CodeStrategy = CodeStrategy.IMAGE
    path: str | None = None  # manifests / kustomize: directory in the app's repository
    prune: bool = False  # delete objects of the previous render that this one lacks
    helm: HelmConfig | None = None
    gitops: GitOpsConfig | None = None


def _enum(cls: type[enum.Enum]) -> Callable[[Any], Any]:
    def conv(value: Any) -> Any:
        try:
            return cls(str(value))
        except ValueError:
            raise ValueError(f"expected one of {', '.join(m.value for m in cls)}, got {value!r}") from None
    return conv


def _values(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not value:
        raise ValueError("expected a mapping of value keys to templates, e.g. {image.tag: \"{sha}\"}")
    return tuple((str(k), v.image_tag(t)) for k, t in value.items())


def parse_workloads(top: _Reader) -> tuple[WorkloadConfig, ...]:
    """`workloads:` entries `{kind, name, containers}`; names are unique within a kind."""
    from shipit.core.config import _Reader

    out = []
    for node, where in top.items("workloads"):
        w = _Reader(node, where, top.env, ("kind", "name", "containers"))
        out.append(WorkloadConfig(kind=w.get("kind", _enum(WorkloadKind)), name=w.get("name", v.text),
                                  containers=w.get("containers", v.names, ())))
    keys = [(w.kind.value, w.name) for w in out]
    repeated = sorted({f"{k} {n}" for k, n in keys if keys.count((k, n)) > 1})
    if repeated:
        raise ConfigError(f"workloads: each workload once, got {', '.join(repeated)} more than once")
    return tuple(out)


def parse_code(top: _Reader) -> CodeConfig:
    """`code:`; keys of another strategy are errors, so a half-switched config cannot deploy the old way."""
    c = top.section("code", ("strategy", "path", "prune", "helm", "gitops"))
    strategy = c.get("strategy", _enum(CodeStrategy), CodeStrategy.IMAGE)
    uses = {"path": (CodeStrategy.MANIFESTS, CodeStrategy.KUSTOMIZE), "helm": (CodeStrategy.HELM,),
            "gitops": (CodeStrategy.GITOPS,), "prune": (CodeStrategy.MANIFESTS, CodeStrategy.KUSTOMIZE)}
    for key, strategies in uses.items():
        n = c.raw(key)
        if n is not None and n.value is not None and strategy not in strategies:
            raise ConfigError(f"code.{key} (line {n.line}): only used with code.strategy "
                              f"{' or '.join(s.value for s in strategies)}, not {strategy.value}")
    path = c.get("path", v.text, None)
    if strategy in uses["path"] and path is None:
        raise ConfigError(f"code.path: required with code.strategy: {strategy.value} (line {c.node.line})")
    helm = gitops = None
    if strategy is CodeStrategy.HELM:
        h = c.section("helm", ("release", "chart", "values"))
        helm = HelmConfig(release=h.get("release", v.text), chart=h.get("chart", v.text),
                          values=h.get("values", _values, (("image.tag", "{sha}"),)))
    if strategy is CodeStrategy.GITOPS:
        g = c.section("gitops", ("repo", "path", "kind", "key", "branch"))
        gitops = GitOpsConfig(repo=g.get("repo", v.text), path=g.get("path", v.text),
                              kind=g.get("kind", _enum(GitOpsKind)), key=g.get("key", v.text, None),
                              branch=g.get("branch", v.text, "main"))
        if gitops.kind is GitOpsKind.VALUES_KEY and gitops.key is None:
            raise ConfigError(f"code.gitops.key: required with code.gitops.kind: values-key "
                              f"(line {g.node.line}), e.g. image.tag")
    return CodeConfig(strategy=strategy, path=path, prune=c.get("prune", v.boolean, False), helm=helm, gitops=gitops)
