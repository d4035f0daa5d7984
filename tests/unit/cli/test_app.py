import json
import os
import subprocess
import sys
from pathlib import Path

from shipit.cli.app import main

ROOT = Path(__file__).resolve().parents[3]


def run(*args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "shipit.cli", *args], capture_output=True, text=True, env=e, cwd=ROOT)


COMMANDS = ("validate", "plan", "preflight", "release", "rollback", "status", "history", "unlock", "diagnose", "db")


def test_help_lists_commands_with_a_purpose():
    r = run("--help")
    assert r.returncode == 0
    listed = r.stdout.split("Commands:")[1].splitlines()
    purposes = {line.split()[0]: line.split(None, 1)[1] for line in listed if line.startswith("  ") and len(line.split()) > 1}
    assert tuple(purposes) == COMMANDS
    assert all(len(p) > 10 for p in purposes.values()), purposes


def test_help_and_validate_import_no_heavy_library():
    """The CLI starts fast: the Kubernetes client, pymysql, GitPython and tree-sitter load only in commands that use them."""
    probe = (
        "import sys\n"
        "from shipit.cli.app import main\n"
        "main(sys.argv[1:])\n"
    )
    heavy = ("kubernetes", "pymysql", "git", "tree_sitter", "tree_sitter_ruby")
    for args in (["--help"], ["validate", "--config", str(ROOT / "config" / "shipit.example.yaml")]):
        code = probe.replace("main(sys.argv[1:])", "try:\n    main(sys.argv[1:])\nfinally:\n"
                             "    print(sorted(m for m in sys.modules if m.split('.')[0] in %r))" % (heavy,))
        r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT,
                           env=dict(os.environ, SHIPIT_DB_PASSWORD="x"))
        assert r.stdout.strip().splitlines()[-1] == "[]", (args, r.stdout[-500:], r.stderr[-500:])


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

    from shipit.core import log

    buf = io.StringIO()
    monkeypatch.setenv("CI", "true")
    fmt = log.configure(log.LogFormat.AUTO, stream=buf)
    assert fmt is log.LogFormat.JSON
    log.get_logger().info("connecting", url="mysql://u:pw-not-shown@h/db")
    line = json.loads(buf.getvalue().strip())
    assert line["event"] == "connecting" and "pw-not-shown" not in buf.getvalue()


def test_release_start_up_skips_unconfigured_notifiers_and_filtered_log_events():
    """A notifier's SDK loads only when its kind is configured, httpx only when a metric or error-rate gate is; an event
    below the log level never loads structlog, one at or above it is written."""
    code = (
        "import io, sys\n"
        "from shipit.adapters.notify import listener\n"
        "from shipit.adapters import gates\n"
        "from shipit.core import log\n"
        "buf = io.StringIO()\n"
        "log.configure(log.LogFormat.CONSOLE, stream=buf)\n"
        "log.get_logger('t').info('quiet event')\n"
        "print(sorted(m for m in ('github', 'slack_sdk', 'httpx', 'structlog') if m in sys.modules))\n"
        "log.get_logger('t').warning('loud event')\n"
        "print('structlog' in sys.modules, 'loud event' in buf.getvalue(), 'quiet event' in buf.getvalue())\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.splitlines() == ["[]", "True True False"], r.stdout
