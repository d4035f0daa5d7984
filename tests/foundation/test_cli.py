import json
import os
import subprocess
import sys
from pathlib import Path

from shipit.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "shipit.cli", *args], capture_output=True, text=True, env=e, cwd=ROOT)


def test_help_lists_commands_with_a_purpose():
    r = run("--help")
    assert r.returncode == 0
    assert "validate" in r.stdout and "Commands" in r.stdout


def test_usage_error_is_exit_3_not_click_2():
    assert run("no-such-command").returncode == 3
    assert run("validate", "--bogus-flag").returncode == 3


def test_missing_config_is_exit_3(tmp_path):
    r = run("validate", "--config", str(tmp_path / "absent.yaml"))
    assert r.returncode == 3
    assert "configuration file not found" in r.stderr


def test_validate_json_masks_the_password(tmp_path):
    cfg = tmp_path / "shipit.yaml"
    cfg.write_text((ROOT / "config" / "shipit.example.yaml").read_text())
    r = run("validate", "--config", str(cfg), "--output", "json", env={"SHIPIT_DB_PASSWORD": "zz-top-secret"})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["valid"] is True and out["config"]["deployments"] == ["web", "worker"]
    assert "zz-top-secret" not in r.stdout + r.stderr


def test_invalid_config_exit_code_in_process(tmp_path, capsys):
    cfg = tmp_path / "shipit.yaml"
    cfg.write_text("app: shop\nbogus: 1\n")
    assert main(["validate", "--config", str(cfg)]) == 3
    assert "bogus (line 2): unknown key" in capsys.readouterr().err


def test_json_logs_in_ci_are_redacted(monkeypatch):
    import io

    from shipit import log

    buf = io.StringIO()
    monkeypatch.setenv("CI", "true")
    fmt = log.configure(log.LogFormat.AUTO, stream=buf)
    assert fmt is log.LogFormat.JSON
    log.get_logger().info("connecting", url="mysql://u:pw-not-shown@h/db")
    line = json.loads(buf.getvalue().strip())
    assert line["event"] == "connecting" and "pw-not-shown" not in buf.getvalue()
