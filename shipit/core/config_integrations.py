"""The configuration of what shipit tells and asks other systems: notifications and deploy markers (`notify`),
hooks run around a release (`hooks`), and the gates that read a metrics system or an error tracker
(`gates.metrics`, `gates.errors`, `gates.on_inconclusive`). Tokens are accepted only as `${VAR}` references, so they
live in the environment, where the redactor knows them, and never in the file."""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import TYPE_CHECKING, Any, Callable

from shipit.core import config_values as v
from shipit.core.durations import parse_duration
from shipit.core.errors import ConfigError

if TYPE_CHECKING:
    from shipit.core.config import _Node, _Reader


class Inconclusive(enum.Enum):
    """What an unreachable metrics or error provider means for its gate."""

    FAIL = "fail"
    PASS = "pass"


class ErrorProvider(enum.Enum):
    ROLLBAR = "rollbar"
    SENTRY = "sentry"


@dataclasses.dataclass(frozen=True)
class MetricGateConfig:
    name: str
    prometheus: str  # base URL of the Prometheus HTTP API
    query: str  # PromQL, one scalar or a one-element vector
    max: float | None = None  # exactly one of max and min
    min: float | None = None
    hold: float = 0.0  # `for:` how long it must be within bounds before the code rolls out
    interval: float = 5.0
    timeout: float = 5.0


@dataclasses.dataclass(frozen=True)
class ErrorGateConfig:
    provider: ErrorProvider
    token: str = dataclasses.field(repr=False)  # read scope (Rollbar project token; Sentry with project:read)
    threshold: float = 1.0  # errors per minute since the release start; above it AND above ratio x before: failed
    ratio: float = 2.0
    environment: str | None = None  # Rollbar environment filter
    organization: str | None = None  # Sentry
    project: str | None = None  # Sentry
    api_url: str = ""  # default: the provider's public API
    interval: float = 30.0
    timeout: float = 5.0


@dataclasses.dataclass(frozen=True)
class SlackNotify:
    token: str = dataclasses.field(repr=False)
    channel: str
    api_url: str = "https://slack.com/api/"


@dataclasses.dataclass(frozen=True)
class GithubNotify:
    token: str = dataclasses.field(repr=False)
    repository: str  # owner/name
    environment: str = "production"
    api_url: str = "https://api.github.com"


@dataclasses.dataclass(frozen=True)
class RollbarNotify:
    token: str = dataclasses.field(repr=False)  # post_server_item scope
    environment: str = "production"
    api_url: str = "https://api.rollbar.com"


@dataclasses.dataclass(frozen=True)
class SentryNotify:
    token: str = dataclasses.field(repr=False)  # project:releases scope
    organization: str
    projects: tuple[str, ...]
    environment: str = "production"
    api_url: str = "https://sentry.io"


@dataclasses.dataclass(frozen=True)
class NotifyConfig:
    slack: SlackNotify | None = None
    github: GithubNotify | None = None
    rollbar: RollbarNotify | None = None
    sentry: SentryNotify | None = None
    webhook: str | None = None  # POST of the release state as JSON
    timeout: float = 5.0  # per attempt
    attempts: int = 3


@dataclasses.dataclass(frozen=True)
class HooksConfig:
    pre_release: tuple[str, ...] = ()  # argv; non-zero exit stops the release before anything changes
    post_release: tuple[str, ...] = ()
    on_failure: tuple[str, ...] = ()
    timeout: float = 60.0


NOTIFY_KEYS = ("slack", "github", "rollbar", "sentry", "webhook", "timeout", "attempts")
_SECRET = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, got {v!r}")
    return float(v)


def _secret(r: _Reader, key: str) -> str:
    """A token: only as `${VAR}`, so it lives in the environment (masked by the redactor), never in the file."""
    n = r.raw(key)
    if n is not None and n.value is not None and not (isinstance(n.value, str) and _SECRET.fullmatch(n.value)):
        raise ConfigError(f"{r._key(key)} (line {n.line}): a secret must come from the environment: put it in a "
                          f"variable and write its reference, like ${{SLACK_BOT_TOKEN}}, instead of the value")
    return r.get(key, v.text)


def _metric_gate(node: _Node, where: str, env: dict[str, str]) -> MetricGateConfig:
    from shipit.core.config import _Reader  # the reader lives with the loader, which imports this module

    m = _Reader(node, where, env, ("name", "prometheus", "query", "max", "min", "for", "interval", "timeout"))
    gate = MetricGateConfig(
        name=m.get("name", v.text), prometheus=m.get("prometheus", v.http_url), query=m.get("query", v.text),
        max=m.get("max", _number, None), min=m.get("min", _number, None), hold=m.get("for", parse_duration, 0.0),
        interval=m.get("interval", parse_duration, 5.0), timeout=m.get("timeout", parse_duration, 5.0),
    )
    if (gate.max is None) == (gate.min is None):
        raise ConfigError(f"{where} (line {node.line}): give exactly one of max and min")
    return gate


def _error_gate(r: _Reader) -> ErrorGateConfig | None:
    if r.node.value == {}:
        return None
    provider = r.get("provider", _enum(ErrorProvider))
    gate = ErrorGateConfig(
        provider=provider, token=_secret(r, "token"),
        threshold=r.get("threshold", _number, 1.0), ratio=r.get("ratio", _number, 2.0),
        environment=r.get("environment", v.text, None), organization=r.get("organization", v.text, None),
        project=r.get("project", v.text, None), api_url=r.get("api_url", v.text, ""),
        interval=r.get("interval", parse_duration, 30.0), timeout=r.get("timeout", parse_duration, 5.0),
    )
    if provider is ErrorProvider.SENTRY and not (gate.organization and gate.project):
        raise ConfigError(f"{r.path} (line {r.node.line}): provider sentry needs organization and project")
    return gate


def _enum(kind: type[enum.Enum]) -> Callable[[Any], Any]:
    def conv(v: Any) -> Any:
        try:
            return kind(v)
        except ValueError:
            raise ValueError(f"expected one of {', '.join(k.value for k in kind)}, got {v!r}") from None
    return conv


def signal_gates(g: _Reader, env: dict[str, str]) -> dict[str, Any]:
    """The keys of `gates` that watch metrics and error rates (fields of GatesConfig)."""
    metrics = [_metric_gate(node, where, env) for node, where in g.items("metrics")]
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ConfigError(f"gates.metrics: names must be unique, got {names}")
    errors = _error_gate(g.section("errors", ("provider", "token", "threshold", "ratio", "environment",
                                              "organization", "project", "api_url", "interval", "timeout")))
    inconclusive = g.raw("on_inconclusive")
    on_inconclusive = Inconclusive.FAIL
    if inconclusive is not None and inconclusive.value is not None:
        value = {True: "pass", False: "fail"}.get(inconclusive.value, inconclusive.value)  # YAML 1.1 booleans
        on_inconclusive = _conv(_enum(Inconclusive), value, "gates.on_inconclusive", inconclusive.line)
    return {"metrics": tuple(metrics), "errors": errors, "on_inconclusive": on_inconclusive}


def _conv(conv: Callable[[Any], Any], value: Any, key: str, line: int) -> Any:
    try:
        return conv(value)
    except ValueError as e:
        raise ConfigError(f"{key} (line {line}): {e}") from None


def notify_config(n: _Reader, env: dict[str, str]) -> NotifyConfig:
    def part(key: str, keys: tuple[str, ...], build: Callable[[_Reader], Any]) -> Any:
        return build(n.section(key, keys)) if n.raw(key) is not None and n.raw(key).value is not None else None

    return NotifyConfig(
        slack=part("slack", ("token", "channel", "api_url"), lambda r: SlackNotify(
            token=_secret(r, "token"), channel=r.get("channel", v.text),
            api_url=r.get("api_url", v.text, SlackNotify.api_url))),
        github=part("github", ("token", "repository", "environment", "api_url"), lambda r: GithubNotify(
            token=_secret(r, "token"), repository=r.get("repository", _repository),
            environment=r.get("environment", v.text, "production"), api_url=r.get("api_url", v.text, GithubNotify.api_url))),
        rollbar=part("rollbar", ("token", "environment", "api_url"), lambda r: RollbarNotify(
            token=_secret(r, "token"), environment=r.get("environment", v.text, "production"),
            api_url=r.get("api_url", v.text, RollbarNotify.api_url))),
        sentry=part("sentry", ("token", "organization", "projects", "environment", "api_url"), lambda r: SentryNotify(
            token=_secret(r, "token"), organization=r.get("organization", v.text), projects=r.get("projects", v.names),
            environment=r.get("environment", v.text, "production"), api_url=r.get("api_url", v.text, SentryNotify.api_url))),
        webhook=n.get("webhook", v.http_url, None),
        timeout=n.get("timeout", parse_duration, 5.0),
        attempts=max(1, n.get("attempts", v.whole_number, 3)),
    )


def _repository(value: Any) -> str:
    s = v.text(value)
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", s):
        raise ValueError(f"expected owner/name, got {s!r}")
    return s


def hooks_config(h: _Reader) -> HooksConfig:
    return HooksConfig(
        pre_release=h.get("pre_release", v.command, ()), post_release=h.get("post_release", v.command, ()),
        on_failure=h.get("on_failure", v.command, ()), timeout=h.get("timeout", parse_duration, 60.0),
    )
