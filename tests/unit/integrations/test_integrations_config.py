"""The notify, hooks and signal-gate configuration: defaults, tokens only from the environment and masked, and
errors that name the key and line."""

from __future__ import annotations

import pytest

from shipit.core import config, redact
from shipit.core.config_integrations import ErrorProvider, Inconclusive
from shipit.core.errors import ConfigError

MINIMAL = """\
app: shop
image: {repository: reg/shop}
deployments: [{name: web}]
migration: {from_deployment: web, container: web}
database: {url: "mysql://root@127.0.0.1:3306/shop"}
"""
ENV = {"SLACK_TOKEN": "xoxb-unit-secret", "SENTRY": "sntrys-unit-secret"}


def parse(extra: str, env: dict | None = None) -> config.Config:
    return config.parse(MINIMAL + extra, env=ENV if env is None else env)


def test_nothing_configured_means_no_notifier_no_hook_and_inconclusive_fails():
    cfg = parse("")
    assert cfg.notify == config.NotifyConfig() and cfg.hooks == config.HooksConfig()
    assert cfg.gates.metrics == () and cfg.gates.errors is None and cfg.gates.on_inconclusive is Inconclusive.FAIL


def test_every_key_parses():
    cfg = parse("""\
gates:
  metrics:
    - {name: error-ratio, prometheus: "http://prometheus:9090", query: "sum(x)", max: 0.05, for: 30s}
  errors: {provider: sentry, token: "${SENTRY}", organization: acme, project: shop, threshold: 5, ratio: 4}
  on_inconclusive: pass
notify:
  slack: {token: "${SLACK_TOKEN}", channel: "#deploys"}
  webhook: https://hooks.example/shipit
  timeout: 3s
hooks:
  pre_release: scripts/check-freeze --strict
  on_failure: ["scripts/page", "team-a"]
""")
    m = cfg.gates.metrics[0]
    assert (m.name, m.max, m.min, m.hold, m.interval) == ("error-ratio", 0.05, None, 30.0, 5.0)
    e = cfg.gates.errors
    assert (e.provider, e.token, e.threshold, e.ratio, e.project) == (ErrorProvider.SENTRY, "sntrys-unit-secret", 5, 4, "shop")
    assert cfg.gates.on_inconclusive is Inconclusive.PASS
    assert cfg.notify.slack.token == "xoxb-unit-secret" and cfg.notify.slack.api_url == "https://slack.com/api/"
    assert cfg.notify.webhook == "https://hooks.example/shipit" and cfg.notify.timeout == 3
    assert cfg.hooks.pre_release == ("scripts/check-freeze", "--strict") and cfg.hooks.on_failure == ("scripts/page", "team-a")
    assert "xoxb-unit-secret" not in repr(cfg) and "sntrys-unit-secret" not in repr(cfg)
    assert redact.redact("token xoxb-unit-secret") == "token ***"


@pytest.mark.parametrize("extra, message", [
    ("notify:\n  slack: {token: xoxb-literal-value, channel: c}\n",
     "notify.slack.token (line 7): a secret must come from the environment"),
    ("notify:\n  github: {token: \"${MISSING}\", repository: acme/shop}\n",
     "notify.github.token (line 7): environment variable MISSING is not set"),
    ("notify:\n  github: {token: \"${SLACK_TOKEN}\", repository: shop}\n", "notify.github.repository (line 7): expected owner/name"),
    ("notify:\n  teams: {url: x}\n", "notify.teams (line 7): unknown key"),
    ("gates:\n  metrics:\n    - {name: a, prometheus: http://p:9090, query: q}\n", "gates.metrics[0] (line 8): give exactly one of max and min"),
    ("gates:\n  metrics:\n    - {name: a, prometheus: http://p:9090, query: q, max: 1, min: 0}\n", "give exactly one of max and min"),
    ("gates:\n  metrics:\n    - {name: a, prometheus: http://p:9090, query: q, max: high}\n", "gates.metrics[0].max (line 8): expected a number"),
    ("gates:\n  metrics:\n    - {name: a, prometheus: http://p:9090, query: q, max: 1, for: soon}\n", "gates.metrics[0].for (line 8): 'soon' is not a duration"),
    ("gates:\n  errors: {provider: datadog, token: \"${SENTRY}\"}\n", "gates.errors.provider (line 7): expected one of rollbar, sentry"),
    ("gates:\n  errors: {provider: sentry, token: \"${SENTRY}\"}\n", "gates.errors (line 7): provider sentry needs organization and project"),
    ("gates:\n  on_inconclusive: maybe\n", "gates.on_inconclusive (line 7): expected one of fail, pass"),
    ("hooks:\n  pre_release: []\n", "hooks.pre_release (line 7): must not be empty"),
])
def test_bad_values_name_the_key_and_line(extra, message):
    with pytest.raises(ConfigError) as e:
        parse(extra)
    assert message in str(e.value)
    assert "xoxb-literal-value" not in str(e.value)


def test_the_example_documents_every_integration_key_and_it_parses_uncommented():
    """The example keeps token-bearing sections commented (they need variables); uncommented, they must parse."""
    from pathlib import Path

    example = (Path(__file__).resolve().parents[3] / "config" / "shipit.example.yaml").read_text()
    lines = example.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# notify:"))
    uncommented = [line[2:] if i >= start and line.startswith("# ") and not line.startswith("# Commands")
                   and not line.startswith("# Notifications") and not line.startswith("# never")
                   else line for i, line in enumerate(lines)]
    errors_at = next(i for i, line in enumerate(uncommented) if line.startswith("  # errors:"))
    for i in range(errors_at, errors_at + 14):
        if uncommented[i].startswith("  # ") and not uncommented[i].startswith("  #   # "):
            uncommented[i] = "  " + uncommented[i][4:]
    text = "\n".join(uncommented)
    env = {"SHIPIT_DB_PASSWORD": "pw-example", "ROLLBAR_READ_TOKEN": "rb-read", "SLACK_BOT_TOKEN": "xoxb-example",
           "GITHUB_TOKEN": "ghp-example", "ROLLBAR_DEPLOY_TOKEN": "rb-deploy", "SENTRY_AUTH_TOKEN": "sentry-example"}
    cfg = config.parse(text, env=env)
    assert cfg.gates.metrics[0].hold == 30 and cfg.gates.metrics[0].max == 0.05
    assert cfg.gates.errors.provider is ErrorProvider.ROLLBAR and cfg.gates.errors.threshold == 1
    n = cfg.notify
    assert (n.slack.channel, n.github.repository, n.rollbar.environment, n.sentry.projects) == (
        "#deploys", "acme/shop", "production", ("shop",))
    assert n.webhook == "https://hooks.example/shipit" and n.attempts == 3
    assert cfg.hooks.pre_release == ("scripts/check-freeze",) and cfg.hooks.timeout == 60
