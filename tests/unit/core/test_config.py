from pathlib import Path

import pytest

from shipit.core import config
from shipit.core import redact
from shipit.core.config import GitRevert
from shipit.core.errors import ConfigError, ExitCode
from tests.unit.core.configs import MINIMAL

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "shipit.example.yaml"
ENV = {"SHIPIT_DB_PASSWORD": "s3cret-pw"}



def test_example_documents_every_key_and_parses():
    cfg = config.load(EXAMPLE, env=ENV)
    assert cfg.app == "shop"
    assert cfg.kubernetes.namespace == "shop" and cfg.kubernetes.context == "production"
    assert [d.name for d in cfg.deployments] == ["web", "worker"]
    assert cfg.deployments[0].containers == ("web",) and cfg.deployments[1].containers == ()
    assert cfg.migration.command == ("bin/rails", "db:migrate") and cfg.migration.timeout == 1800
    assert cfg.database.replicas[0].name == "replica1"
    assert cfg.gates.ddl_timeout == 3600 and cfg.gates.bake == 120 and cfg.gates.replica_lag_max == 10
    assert cfg.gates.http[0].consecutive == 3 and cfg.gates.http[0].timeout == 5
    assert cfg.rollback.git_revert is GitRevert.OFF  # YAML reads bare `off` as false
    assert cfg.repo == EXAMPLE.parent.parent.resolve()


def test_defaults_for_a_minimal_file():
    cfg = config.parse(MINIMAL, env={})
    assert cfg.kubernetes.namespace == "default"
    assert cfg.image.for_commit("a" * 40) == "reg/shop:" + "a" * 40
    assert cfg.rollback.automatic is True and cfg.records.keep == 20 and cfg.lock.wait == 0
    assert cfg.migration.lock_wait_max == 10 and cfg.migration.kill_idle_blockers == ()


def test_image_tag_template_short_sha():
    cfg = config.parse(MINIMAL.replace("repository: reg/shop", "repository: reg/shop\n  tag: 'v-{short_sha}'"), env={})
    assert cfg.image.for_commit("0123456789abcdef" * 2 + "01234567") == "reg/shop:v-0123456"


@pytest.mark.parametrize(
    "edit, message",
    [
        (("  container: web", "  container: web\n  timout: 5m"), "migration.timout (line 9): unknown key (expected one of: from_deployment"),
        (("app: shop\n", ""), "app: required key is missing"),
        (("  from_deployment: web", "  from_deployment: api"), "migration.from_deployment: 'api' is not one of"),
        (("  container: web", "  container: web\n  timeout: soon"), "migration.timeout (line 9): 'soon' is not a duration"),
        (("mysql://root@", "postgres://root@"), "database.url (line 10): database URL 'postgres://root@127.0.0.1:3306/shop': scheme must be mysql://"),
        (("  - name: web", "  - name: web\n  - name: web"), "names must be unique"),
        (("  container: web", "  container: web\n  lock_wait_max: 0s"), "migration.lock_wait_max: must be more than 0"),
        (("  container: web", "  container: web\n  timeout: 1m\n  lock_wait_max: 2m"), "less than migration.timeout (60s)"),
        (("  container: web", "  container: web\n  kill_idle_blockers: [\"\"]"), "migration.kill_idle_blockers (line 9): expected a list of names"),
        (("app: shop", "app: shop\nrollback:\n  git_revert: sideways"), "rollback.git_revert (line 3): expected off, branch or push"),
        (("app: shop", "app: [shop"), "not valid YAML"),
    ],
)
def test_errors_name_the_key_and_line(edit, message):
    with pytest.raises(ConfigError) as e:
        config.parse(MINIMAL.replace(*edit), env={})
    assert message in str(e.value)
    assert e.value.exit_code is ExitCode.BAD_INPUT


def test_env_interpolation_registers_the_secret():
    text = MINIMAL.replace("mysql://root@", "mysql://app:${DB_PW}@")
    cfg = config.parse(text, env={"DB_PW": "hunter2-very-secret"})
    assert cfg.database.url == "mysql://app:hunter2-very-secret@127.0.0.1:3306/shop"
    assert "hunter2-very-secret" not in redact.redact(f"connecting with token {cfg.database.url.split(':')[2]}")


def test_missing_env_var_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"database.url \(line 10\): environment variable DB_PW is not set"):
        config.parse(MINIMAL.replace("mysql://root@", "mysql://app:${DB_PW}@"), env={})


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        config.load(tmp_path / "nope.yaml")
