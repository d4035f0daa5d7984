"""The one YAML configuration file, validated into frozen dataclasses.

Every error names the key (dotted path) and the line, because a release tool that says "invalid config" wastes the
time it exists to save. Unknown keys are errors: a typo in `rollback.automatic` must not silently disable reverts.
`${VAR}` is replaced from the environment so secrets stay out of the file; the values are registered with the log
redactor so they never reach output.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re
from pathlib import Path
from typing import Any, Callable

import yaml

from shipit.core import redact
from shipit.core.durations import parse_duration
from shipit.core.errors import ConfigError

DEFAULT_PATH = Path("config/shipit.yaml")


class GitRevert(enum.Enum):
    OFF = "off"
    BRANCH = "branch"
    PUSH = "push"


@dataclasses.dataclass(frozen=True)
class KubernetesConfig:
    namespace: str = "default"
    context: str | None = None
    kubeconfig: str | None = None


@dataclasses.dataclass(frozen=True)
class ImageConfig:
    repository: str
    tag: str = "{sha}"

    def for_commit(self, sha: str) -> str:
        """The image reference the build pipeline pushed for commit `sha`."""
        return f"{self.repository}:{self.tag.format(sha=sha, short_sha=sha[:7])}"


@dataclasses.dataclass(frozen=True)
class DeploymentConfig:
    name: str
    containers: tuple[str, ...] = ()  # empty: the containers whose image is image.repository


@dataclasses.dataclass(frozen=True)
class MigrationConfig:
    from_deployment: str
    container: str
    command: tuple[str, ...] = ("bin/rails", "db:migrate")
    timeout: float = 1800.0
    sidecars: tuple[str, ...] = ()  # template containers the migration needs (a DB proxy), run as native sidecars
    lock_wait_max: float = 10.0  # our DDL queued this long for a metadata lock with queries behind it: shipit kills it
    kill_idle_blockers: tuple[str, ...] = ()  # database users whose idle-in-transaction blocker shipit ends instead


@dataclasses.dataclass(frozen=True)
class ReplicaConfig:
    name: str
    url: str


@dataclasses.dataclass(frozen=True)
class DatabaseConfig:
    url: str
    replicas: tuple[ReplicaConfig, ...] = ()


@dataclasses.dataclass(frozen=True)
class HttpGateConfig:
    url: str
    expect_status: int = 200
    consecutive: int = 3
    timeout: float = 5.0
    interval: float = 1.0


@dataclasses.dataclass(frozen=True)
class GatesConfig:
    ddl_timeout: float = 3600.0
    replica_lag_max: float = 10.0
    threads_running_max: int = 50
    http: tuple[HttpGateConfig, ...] = ()
    bake: float = 60.0


@dataclasses.dataclass(frozen=True)
class RolloutConfig:
    timeout: float = 600.0
    ready_grace: float = 60.0  # a new pod not Ready after this long fails the rollout


@dataclasses.dataclass(frozen=True)
class PreflightConfig:
    budget: float = 300.0
    chunk_time: float = 0.1
    long_transaction: float = 30.0


@dataclasses.dataclass(frozen=True)
class RollbackConfig:
    automatic: bool = True
    git_revert: GitRevert = GitRevert.OFF


@dataclasses.dataclass(frozen=True)
class LockConfig:
    duration: float = 60.0  # lease duration; renewed every third of it
    wait: float = 0.0


@dataclasses.dataclass(frozen=True)
class RecordsConfig:
    keep: int = 20


# --- code phase: how the release's code reaches the cluster ----------------------------------------------------------


class CodeStrategy(enum.Enum):
    IMAGE = "image"  # patch the image of the configured Deployments
    MANIFESTS = "manifests"  # apply the repository's YAML directory at --to
    KUSTOMIZE = "kustomize"  # apply `kubectl kustomize DIR` at --to
    HELM = "helm"  # helm upgrade --install, watched by shipit
    GITOPS = "gitops"  # commit the tag to the GitOps repository; its controller applies it


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
    def conv(v: Any) -> Any:
        try:
            return cls(str(v))
        except ValueError:
            raise ValueError(f"expected one of {', '.join(m.value for m in cls)}, got {v!r}") from None
    return conv


def _values(v: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, dict) or not v:
        raise ValueError("expected a mapping of value keys to templates, e.g. {image.tag: \"{sha}\"}")
    return tuple((str(k), _tag(t)) for k, t in v.items())


def _parse_code(top: _Reader) -> CodeConfig:
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
    path = c.get("path", _str, None)
    if strategy in uses["path"] and path is None:
        raise ConfigError(f"code.path: required with code.strategy: {strategy.value} (line {c.node.line})")
    helm = gitops = None
    if strategy is CodeStrategy.HELM:
        h = c.section("helm", ("release", "chart", "values"))
        helm = HelmConfig(release=h.get("release", _str), chart=h.get("chart", _str),
                          values=h.get("values", _values, (("image.tag", "{sha}"),)))
    if strategy is CodeStrategy.GITOPS:
        g = c.section("gitops", ("repo", "path", "kind", "key", "branch"))
        gitops = GitOpsConfig(repo=g.get("repo", _str), path=g.get("path", _str),
                              kind=g.get("kind", _enum(GitOpsKind)), key=g.get("key", _str, None),
                              branch=g.get("branch", _str, "main"))
        if gitops.kind is GitOpsKind.VALUES_KEY and gitops.key is None:
            raise ConfigError(f"code.gitops.key: required with code.gitops.kind: values-key "
                              f"(line {g.node.line}), e.g. image.tag")
    return CodeConfig(strategy=strategy, path=path, prune=c.get("prune", _bool, False), helm=helm, gitops=gitops)


@dataclasses.dataclass(frozen=True)
class Config:
    app: str
    repo: Path
    kubernetes: KubernetesConfig
    image: ImageConfig
    deployments: tuple[DeploymentConfig, ...]
    migration: MigrationConfig
    database: DatabaseConfig
    gates: GatesConfig = GatesConfig()
    rollout: RolloutConfig = RolloutConfig()
    preflight: PreflightConfig = PreflightConfig()
    rollback: RollbackConfig = RollbackConfig()
    lock: LockConfig = LockConfig()
    records: RecordsConfig = RecordsConfig()
    code: CodeConfig = CodeConfig()
    path: Path | None = None


# --- loading -------------------------------------------------------------------------------------------------------

_TOP_KEYS = (
    "app", "repo", "kubernetes", "image", "deployments", "migration", "database",
    "gates", "rollout", "preflight", "rollback", "lock", "records", "code",
)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MISSING = object()


class _Node:
    """A YAML value with the line it came from, so errors can point at it."""

    __slots__ = ("value", "line")

    def __init__(self, value: Any, line: int):
        self.value = value
        self.line = line


def _to_nodes(node: yaml.Node) -> _Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, _Node] = {}
        for k, v in node.value:
            key = yaml.safe_load(yaml.serialize(k)) if not isinstance(k, yaml.ScalarNode) else k.value
            if key in out:
                raise ConfigError(f"line {k.start_mark.line + 1}: duplicate key {key!r}")
            out[str(key)] = _to_nodes(v)
        return _Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_to_nodes(v) for v in node.value], line)
    return _Node(yaml.safe_load(yaml.serialize(node)), line)


class _Reader:
    """Reads one mapping of known keys; an unknown key is reported before anything else."""

    def __init__(self, node: _Node, path: str, env: dict[str, str], keys: tuple[str, ...]):
        if not isinstance(node.value, dict):
            raise ConfigError(f"{path or 'top level'} (line {node.line}): expected a mapping")
        self.node, self.path, self.env = node, path, env
        unknown = [k for k in node.value if k not in keys]  # first: a typo explains a "missing" key
        if unknown:
            k = unknown[0]
            raise ConfigError(f"{self._key(k)} (line {node.value[k].line}): unknown key (expected one of: {', '.join(keys)})")

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str) -> _Node | None:
        return self.node.value.get(key)

    def get(self, key: str, conv: Callable[[Any], Any], default: Any = _MISSING) -> Any:
        n = self.raw(key)
        if n is None or n.value is None:
            if default is _MISSING:
                where = f" (line {self.node.line})" if self.path else ""
                raise ConfigError(f"{self._key(key)}: required key is missing{where}")
            return default
        value = _interpolate(_plain(n), self.env, self._key(key), n.line)
        try:
            return conv(value)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{self._key(key)} (line {n.line}): {e}") from None

    def section(self, key: str, keys: tuple[str, ...]) -> _Reader:
        n = self.raw(key)
        return _Reader(n if n is not None and n.value is not None else _Node({}, self.node.line), self._key(key), self.env, keys)

    def items(self, key: str) -> list[tuple[_Node, str]]:
        n = self.raw(key)
        if n is None or n.value is None:
            return []
        if not isinstance(n.value, list):
            raise ConfigError(f"{self._key(key)} (line {n.line}): expected a list")
        return [(item, f"{self._key(key)}[{i}]") for i, item in enumerate(n.value)]



def _plain(node: _Node) -> Any:
    if isinstance(node.value, dict):
        return {k: _plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(v) for v in node.value]
    return node.value


def _interpolate(value: Any, env: dict[str, str], key: str, line: int) -> Any:
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise ConfigError(f"{key} (line {line}): environment variable {name} is not set")
        redact.register_secret(env[name])
        return env[name]

    return _VAR.sub(sub, value)


def _str(v: Any) -> str:
    if isinstance(v, (dict, list)) or isinstance(v, bool):
        raise ValueError(f"expected a string, got {v!r}")
    s = str(v)
    if not s:
        raise ValueError("must not be empty")
    return s


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"expected a whole number, got {v!r}")
    if v < 0:
        raise ValueError(f"must not be negative, got {v}")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def _command(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        import shlex

        parts = tuple(shlex.split(v))
    elif isinstance(v, list) and all(isinstance(p, (str, int)) for p in v):
        parts = tuple(str(p) for p in v)
    else:
        raise ValueError(f"expected a command as a string or a list of strings, got {v!r}")
    if not parts:
        raise ValueError("must not be empty")
    return parts


def _names(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list) and all(isinstance(p, str) and p for p in v):
        return tuple(v)
    raise ValueError(f"expected a list of names, got {v!r}")


def _git_revert(v: Any) -> GitRevert:
    if v is False:  # YAML 1.1 reads a bare `off` as false
        return GitRevert.OFF
    try:
        return GitRevert(str(v))
    except ValueError:
        raise ValueError(f"expected off, branch or push, got {v!r}") from None


def _mysql_url(v: Any) -> str:
    s = _str(v)
    if not re.match(r"^mysql://[^/]*@?[^/]+", s) or "://" not in s:
        raise ValueError("expected mysql://user:password@host:port/database")
    return s


def _tag(v: Any) -> str:
    s = _str(v)
    try:
        s.format(sha="0" * 40, short_sha="0" * 7)
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"tag template may use only {{sha}} and {{short_sha}} ({e})") from None
    return s


def parse(text: str, *, path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Validate configuration text. Relative paths in it are resolved against the file's folder."""
    env = dict(os.environ) if env is None else env
    try:
        tree = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{where}not valid YAML ({getattr(e, 'problem', e)})") from None
    if tree is None:
        raise ConfigError("the configuration file is empty")
    top = _Reader(_to_nodes(tree), "", env, _TOP_KEYS)
    base = path.parent if path else Path.cwd()

    k = top.section("kubernetes", ("namespace", "context", "kubeconfig"))
    kube = KubernetesConfig(
        namespace=k.get("namespace", _str, "default"),
        context=k.get("context", _str, None),
        kubeconfig=k.get("kubeconfig", _str, None),
    )

    im = top.section("image", ("repository", "tag"))
    image = ImageConfig(repository=im.get("repository", _str), tag=im.get("tag", _tag, "{sha}"))

    deployments = []
    for node, where in top.items("deployments"):
        d = _Reader(node, where, env, ("name", "containers"))
        deployments.append(DeploymentConfig(name=d.get("name", _str), containers=d.get("containers", _names, ())))
    if not deployments:
        raise ConfigError("deployments: at least one Deployment is required")
    names = [d.name for d in deployments]
    if len(set(names)) != len(names):
        raise ConfigError(f"deployments: names must be unique, got {names}")

    m = top.section("migration", ("from_deployment", "container", "command", "timeout", "sidecars", "lock_wait_max",
                                         "kill_idle_blockers"))
    migration = MigrationConfig(
        from_deployment=m.get("from_deployment", _str),
        container=m.get("container", _str),
        command=m.get("command", _command, ("bin/rails", "db:migrate")),
        timeout=m.get("timeout", parse_duration, 1800.0),
        sidecars=m.get("sidecars", _names, ()),
        lock_wait_max=m.get("lock_wait_max", parse_duration, 10.0),
        kill_idle_blockers=m.get("kill_idle_blockers", _names, ()),
    )
    if not 0 < migration.lock_wait_max < migration.timeout:
        raise ConfigError(f"migration.lock_wait_max: must be more than 0 and less than migration.timeout "
                          f"({migration.timeout:g}s), got {migration.lock_wait_max:g}s")

    db = top.section("database", ("url", "replicas"))
    replicas = []
    for i, (node, where) in enumerate(db.items("replicas")):
        if isinstance(node.value, str):
            replicas.append(ReplicaConfig(name=f"replica{i + 1}", url=_mysql_url(_interpolate(node.value, env, where, node.line))))
            continue
        r = _Reader(node, where, env, ("name", "url"))
        replicas.append(ReplicaConfig(name=r.get("name", _str, f"replica{i + 1}"), url=r.get("url", _mysql_url)))
    database = DatabaseConfig(url=db.get("url", _mysql_url), replicas=tuple(replicas))

    g = top.section("gates", ("ddl_timeout", "replica_lag_max", "threads_running_max", "http", "bake"))
    http = []
    for node, where in g.items("http"):
        h = _Reader(node, where, env, ("url", "expect_status", "consecutive", "timeout", "interval"))
        http.append(
            HttpGateConfig(
                url=h.get("url", _str),
                expect_status=h.get("expect_status", _int, 200),
                consecutive=h.get("consecutive", _int, 3),
                timeout=h.get("timeout", parse_duration, 5.0),
                interval=h.get("interval", parse_duration, 1.0),
            )
        )
    gates = GatesConfig(
        ddl_timeout=g.get("ddl_timeout", parse_duration, 3600.0),
        replica_lag_max=g.get("replica_lag_max", parse_duration, 10.0),
        threads_running_max=g.get("threads_running_max", _int, 50),
        http=tuple(http),
        bake=g.get("bake", parse_duration, 60.0),
    )

    ro = top.section("rollout", ("timeout", "ready_grace"))
    rollout = RolloutConfig(
        timeout=ro.get("timeout", parse_duration, 600.0), ready_grace=ro.get("ready_grace", parse_duration, 60.0)
    )

    p = top.section("preflight", ("budget", "chunk_time", "long_transaction"))
    preflight = PreflightConfig(
        budget=p.get("budget", parse_duration, 300.0),
        chunk_time=p.get("chunk_time", parse_duration, 0.1),
        long_transaction=p.get("long_transaction", parse_duration, 30.0),
    )

    rb = top.section("rollback", ("automatic", "git_revert"))
    rollback = RollbackConfig(
        automatic=rb.get("automatic", _bool, True), git_revert=rb.get("git_revert", _git_revert, GitRevert.OFF)
    )

    lk = top.section("lock", ("duration", "wait"))
    lock = LockConfig(duration=lk.get("duration", parse_duration, 60.0), wait=lk.get("wait", parse_duration, 0.0))

    rec = top.section("records", ("keep",))
    records = RecordsConfig(keep=rec.get("keep", _int, 20))

    repo = Path(top.get("repo", _str, "."))
    config = Config(
        app=top.get("app", _str),
        repo=repo if repo.is_absolute() else (base / repo).resolve(),
        kubernetes=kube,
        image=image,
        deployments=tuple(deployments),
        migration=migration,
        database=database,
        gates=gates,
        rollout=rollout,
        preflight=preflight,
        rollback=rollback,
        lock=lock,
        records=records,
        code=_parse_code(top),
        path=path,
    )
    if migration.from_deployment not in names:
        raise ConfigError(f"migration.from_deployment: {migration.from_deployment!r} is not one of deployments {names}")
    return config


def load(path: Path | str | None = None, *, env: dict[str, str] | None = None) -> Config:
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{p}: configuration file not found (see config/shipit.example.yaml)") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read ({e.strerror})") from None
    try:
        return parse(text, path=p.resolve(), env=env)
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None
