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

from shipit.core import config_values as v
from shipit.core.config_database import (  # noqa: F401 - re-exported
    DatabaseConfig, OtherDatabaseConfig, ReplicaConfig, parse_database,
)
from shipit.core.config_code import CodeConfig, WorkloadConfig, WorkloadKind, parse_code, parse_workloads
from shipit.core.config_integrations import (
    NOTIFY_KEYS, ErrorGateConfig, HooksConfig, Inconclusive, MetricGateConfig, NotifyConfig, hooks_config,
    notify_config, signal_gates,
)
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
    paths: tuple[str, ...] = ()  # more migration directories (repo-relative) beyond those Rails' own config names


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
    metrics: tuple[MetricGateConfig, ...] = ()
    errors: ErrorGateConfig | None = None
    on_inconclusive: Inconclusive = Inconclusive.FAIL


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


@dataclasses.dataclass(frozen=True)
class Config:
    app: str
    repo: Path
    kubernetes: KubernetesConfig
    image: ImageConfig
    deployments: tuple[DeploymentConfig, ...]  # every Deployment, from deployments: and workloads:
    migration: MigrationConfig
    database: DatabaseConfig
    gates: GatesConfig = GatesConfig()
    rollout: RolloutConfig = RolloutConfig()
    preflight: PreflightConfig = PreflightConfig()
    rollback: RollbackConfig = RollbackConfig()
    lock: LockConfig = LockConfig()
    records: RecordsConfig = RecordsConfig()
    notify: NotifyConfig = NotifyConfig()
    hooks: HooksConfig = HooksConfig()
    code: CodeConfig = CodeConfig()
    workloads: tuple[WorkloadConfig, ...] = ()  # the StatefulSets and CronJobs of workloads:
    path: Path | None = None

    def all_workloads(self) -> tuple[WorkloadConfig, ...]:
        """What the image strategy rolls: the Deployments first, then the other kinds."""
        return tuple(WorkloadConfig(WorkloadKind.DEPLOYMENT, d.name, d.containers) for d in self.deployments) + \
            self.workloads


# --- loading -------------------------------------------------------------------------------------------------------

_TOP_KEYS = (
    "app", "repo", "kubernetes", "image", "deployments", "workloads", "migration", "database",
    "gates", "rollout", "preflight", "rollback", "lock", "records", "notify", "hooks", "code",
)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MISSING = object()
_URL_RESERVED = re.compile(r"[@:/?#\[\]\s]")


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
        for k, value in node.value:
            key = yaml.safe_load(yaml.serialize(k)) if not isinstance(k, yaml.ScalarNode) else k.value
            if key in out:
                raise ConfigError(f"line {k.start_mark.line + 1}: duplicate key {key!r}")
            out[str(key)] = _to_nodes(value)
        return _Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_to_nodes(v) for v in node.value], line)
    if node.tag == "tag:yaml.org,2002:null":  # an empty value (`gates:`) serializes to no document at all
        return _Node(None, line)
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


def _userinfo_span(template: str) -> tuple[int, int] | None:
    """Where `user:password` sits in a URL template (`scheme://user:${PW}@host/db`), else None."""
    start = template.find("://")
    if start < 0:
        return None
    start += 3
    end = template.find("/", start)
    at = template.rfind("@", start, len(template) if end < 0 else end)
    return (start, at) if at > 0 else None


def _interpolate(value: Any, env: dict[str, str], key: str, line: int) -> Any:
    if not isinstance(value, str):
        return value
    userinfo = _userinfo_span(value)

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise ConfigError(f"{key} (line {line}): environment variable {name} is not set")
        redact.register_secret(env[name])
        if userinfo and userinfo[0] <= m.start() < userinfo[1] and _URL_RESERVED.search(env[name]):
            # the value is never shown, not even in part: it is a password
            raise ConfigError(
                f"{key} (line {line}): the value of ${{{name}}} in the URL's user:password part contains a character "
                f"that must be percent-encoded (@ as %40, : as %3A, / as %2F, ? as %3F, # as %23, space as %20); "
                f"set {name} to the encoded password"
            )
        return env[name]

    return _VAR.sub(sub, value)


def _git_revert(v: Any) -> GitRevert:
    if v is False:  # YAML 1.1 reads a bare `off` as false
        return GitRevert.OFF
    try:
        return GitRevert(str(v))
    except ValueError:
        raise ValueError(f"expected off, branch or push, got {v!r}") from None


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
    try:
        root = _to_nodes(tree)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{where}unsupported YAML value ({getattr(e, 'problem', e)})") from None
    top = _Reader(root, "", env, _TOP_KEYS)
    base = path.parent if path else Path.cwd()

    k = top.section("kubernetes", ("namespace", "context", "kubeconfig"))
    kube = KubernetesConfig(
        namespace=k.get("namespace", v.text, "default"),
        context=k.get("context", v.text, None),
        kubeconfig=k.get("kubeconfig", v.text, None),
    )

    im = top.section("image", ("repository", "tag"))
    image = ImageConfig(repository=im.get("repository", v.text), tag=im.get("tag", v.image_tag, "{sha}"))

    deployments = []
    for node, where in top.items("deployments"):
        d = _Reader(node, where, env, ("name", "containers"))
        deployments.append(DeploymentConfig(name=d.get("name", v.text), containers=d.get("containers", v.names, ())))
    workloads = parse_workloads(top)  # its Deployments join deployments:; the other kinds stay workloads
    deployments += [DeploymentConfig(w.name, w.containers) for w in workloads if w.kind is WorkloadKind.DEPLOYMENT]
    if not deployments:
        raise ConfigError("deployments: at least one Deployment is required (in deployments: or workloads:)")
    names = [d.name for d in deployments]
    if len(set(names)) != len(names):
        raise ConfigError(f"deployments: names must be unique, got {names}")

    m = top.section("migration", ("from_deployment", "container", "command", "timeout", "sidecars", "lock_wait_max",
                                         "kill_idle_blockers", "paths"))
    migration = MigrationConfig(
        from_deployment=m.get("from_deployment", v.text),
        container=m.get("container", v.text),
        command=m.get("command", v.command, ("bin/rails", "db:migrate")),
        timeout=m.get("timeout", v.positive(parse_duration), 1800.0),
        sidecars=m.get("sidecars", v.names, ()),
        lock_wait_max=m.get("lock_wait_max", parse_duration, 10.0),
        kill_idle_blockers=m.get("kill_idle_blockers", v.names, ()),
        paths=m.get("paths", v.names, ()),
    )
    if not 0 < migration.lock_wait_max < migration.timeout:
        raise ConfigError(f"migration.lock_wait_max: must be more than 0 and less than migration.timeout "
                          f"({migration.timeout:g}s), got {migration.lock_wait_max:g}s")

    database = parse_database(top)

    g = top.section("gates", ("ddl_timeout", "replica_lag_max", "threads_running_max", "http", "bake", "metrics", "errors",
                              "on_inconclusive"))
    http = []
    for node, where in g.items("http"):
        h = _Reader(node, where, env, ("url", "expect_status", "consecutive", "timeout", "interval"))
        http.append(
            HttpGateConfig(
                url=h.get("url", v.http_url),
                expect_status=h.get("expect_status", v.status_code, 200),
                consecutive=h.get("consecutive", v.positive(v.whole_number), 3),
                timeout=h.get("timeout", v.positive(parse_duration), 5.0),
                interval=h.get("interval", v.positive(parse_duration), 1.0),
            )
        )
    gates = GatesConfig(
        ddl_timeout=g.get("ddl_timeout", v.positive(parse_duration), 3600.0),
        replica_lag_max=g.get("replica_lag_max", parse_duration, 10.0),
        threads_running_max=g.get("threads_running_max", v.whole_number, 50),
        http=tuple(http),
        bake=g.get("bake", parse_duration, 60.0),
        **signal_gates(g, env),
    )

    ro = top.section("rollout", ("timeout", "ready_grace"))
    rollout = RolloutConfig(
        timeout=ro.get("timeout", v.positive(parse_duration), 600.0),
        ready_grace=ro.get("ready_grace", v.positive(parse_duration), 60.0),
    )

    p = top.section("preflight", ("budget", "chunk_time", "long_transaction"))
    preflight = PreflightConfig(
        budget=p.get("budget", v.positive(parse_duration), 300.0),
        chunk_time=p.get("chunk_time", v.positive(parse_duration), 0.1),
        long_transaction=p.get("long_transaction", parse_duration, 30.0),
    )

    rb = top.section("rollback", ("automatic", "git_revert"))
    rollback = RollbackConfig(
        automatic=rb.get("automatic", v.boolean, True), git_revert=rb.get("git_revert", _git_revert, GitRevert.OFF)
    )

    lk = top.section("lock", ("duration", "wait"))
    lock = LockConfig(duration=lk.get("duration", v.positive(parse_duration), 60.0), wait=lk.get("wait", parse_duration, 0.0))

    rec = top.section("records", ("keep",))
    records = RecordsConfig(keep=rec.get("keep", v.positive(v.whole_number), 20))

    repo = Path(top.get("repo", v.text, "."))
    config = Config(
        app=top.get("app", v.label_value),
        repo=repo if repo.is_absolute() else (base / repo).resolve(),
        kubernetes=kube,
        image=image,
        deployments=tuple(deployments),
        workloads=tuple(w for w in workloads if w.kind is not WorkloadKind.DEPLOYMENT),
        migration=migration,
        database=database,
        gates=gates,
        rollout=rollout,
        preflight=preflight,
        rollback=rollback,
        lock=lock,
        records=records,
        notify=notify_config(top.section("notify", NOTIFY_KEYS), env),
        hooks=hooks_config(top.section("hooks", ("pre_release", "post_release", "on_failure", "timeout"))),
        code=parse_code(top),
        path=path,
    )
    if migration.from_deployment not in names:
        raise ConfigError(f"migration.from_deployment: {migration.from_deployment!r} is not one of deployments {names}")
    return config


def load(path: Path | str | None = None, *, env: dict[str, str] | None = None) -> Config:
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = p.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(f"{p}: line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); save the file as UTF-8") from None
    except FileNotFoundError:
        raise ConfigError(f"{p}: configuration file not found (see config/shipit.example.yaml)") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read ({e.strerror})") from None
    try:
        cfg = parse(text, path=p.resolve(), env=env)
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None
    _warn_about_repo(cfg)
    return cfg


def _warn_about_repo(cfg: Config) -> None:
    """A repo path without db/migrate plans "0 migrations" for every release: most likely `repo` points elsewhere."""
    from shipit.core.log import get_logger

    if not cfg.repo.is_dir():
        get_logger().warning(f"repo: {cfg.repo} does not exist; set `repo` to the Rails app's git checkout")
    elif not (cfg.repo / "db" / "migrate").is_dir():
        get_logger().warning(f"repo: {cfg.repo} has no db/migrate folder, so no migration will ever be planned; "
                             "check that `repo` points at the Rails app")
