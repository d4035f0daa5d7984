"""Bad configuration files and command lines: exit 3, the key/line or option named, one JSON object, no traceback.

Run through the real `main()` in-process (the CLI's error handling is the point; nothing here needs a cluster), plus a
few through the real entry point as a subprocess."""

from __future__ import annotations

import pytest

from tests.badinput.support import assert_clear, run_cli, run_inprocess

PASSWORD = "Pw-badinput-4711"

GOOD = """\
app: shop
repo: .
image:
  repository: reg/shop
deployments:
  - name: web
migration:
  from_deployment: web
  container: web
database:
  url: mysql://shop:${BI_PW}@db:3306/shop
"""

# (id, edit of GOOD or whole text, env password, words the message must contain)
CASES = [
    ("pw-at", None, "p@ss" + PASSWORD, ["database.url (line 11)", "percent-encoded", "${BI_PW}"]),
    ("pw-colon", None, "pa:" + PASSWORD, ["database.url (line 11)", "percent-encoded"]),
    ("pw-slash", None, "pa/" + PASSWORD, ["database.url (line 11)", "percent-encoded"]),
    ("pw-hash", None, "pa#" + PASSWORD, ["database.url (line 11)", "percent-encoded"]),
    ("port-not-number", ("@db:3306/shop", "@db:33x6/shop"), PASSWORD, ["database.url (line 11)", "port is not a number"]),
    ("no-database", ("@db:3306/shop", "@db:3306/"), PASSWORD, ["database.url (line 11)", "must name one database"]),
    ("no-database-no-slash", ("@db:3306/shop", "@db:3306"), PASSWORD, ["database.url (line 11)", "must name one database"]),
    ("postgres", ("mysql://", "postgres://"), PASSWORD, ["database.url (line 11)", "scheme must be mysql://"]),
    ("url-option", ("3306/shop\n", "3306/shop?pool=5\n"), PASSWORD, ["database.url (line 11)", "unknown option 'pool'"]),
    ("no-host", ("@db:3306", "@:3306"), PASSWORD, ["database.url (line 11)", "no host"]),
    ("gate-not-url", ("app: shop", "app: shop\ngates:\n  http:\n    - url: shop/healthz"), PASSWORD, ["gates.http[0].url (line 4)", "http://"]),
    ("gate-url-space", ("app: shop", "app: shop\ngates:\n  http:\n    - url: 'http://exa mple.com/healthz'"), PASSWORD, ["gates.http[0].url (line 4)", "spaces"]),
    ("gate-ftp", ("app: shop", "app: shop\ngates:\n  http:\n    - url: ftp://x/"), PASSWORD, ["gates.http[0].url (line 4)", "https://"]),
    ("gate-status", ("app: shop", "app: shop\ngates:\n  http:\n    - url: http://x/\n      expect_status: 42"), PASSWORD, ["gates.http[0].expect_status (line 5)", "100-599"]),
    ("app-space", ("app: shop", "app: my shop"), PASSWORD, ["app (line 1)", "label value"]),
    ("app-long", ("app: shop", "app: " + "a" * 70), PASSWORD, ["app (line 1)", "label value"]),
    ("app-slash", ("app: shop", "app: shop/web"), PASSWORD, ["app (line 1)", "label value"]),
    ("app-bool", ("app: shop", "app: true"), PASSWORD, ["app (line 1)", "expected a string"]),
    ("tag-latest", ("  repository: reg/shop", "  repository: reg/shop\n  tag: latest"), PASSWORD, ["image.tag (line 5)", "{sha}"]),
    ("tag-unknown-field", ("  repository: reg/shop", "  repository: reg/shop\n  tag: '{branch}'"), PASSWORD, ["image.tag (line 5)", "{sha}"]),
    ("rollout-timeout-0", ("app: shop", "app: shop\nrollout:\n  timeout: 0"), PASSWORD, ["rollout.timeout (line 3)", "more than 0"]),
    ("keep-0", ("app: shop", "app: shop\nrecords:\n  keep: 0"), PASSWORD, ["records.keep (line 3)", "more than 0"]),
    ("keep-negative", ("app: shop", "app: shop\nrecords:\n  keep: -1"), PASSWORD, ["records.keep (line 3)", "negative"]),
    ("keep-text", ("app: shop", "app: shop\nrecords:\n  keep: many"), PASSWORD, ["records.keep (line 3)", "whole number"]),
    ("lock-duration-0", ("app: shop", "app: shop\nlock:\n  duration: 0s"), PASSWORD, ["lock.duration (line 3)", "more than 0"]),
    ("duration-garbage", ("  container: web", "  container: web\n  timeout: soon"), PASSWORD, ["migration.timeout (line 10)", "not a duration"]),
    ("lock-wait-max", ("  container: web", "  container: web\n  timeout: 1m\n  lock_wait_max: 5m"), PASSWORD, ["migration.lock_wait_max", "less than migration.timeout"]),
    ("unknown-top-key", ("app: shop", "app: shop\nrolout: {}"), PASSWORD, ["rolout (line 2)", "unknown key"]),
    ("typo-nested", ("  container: web", "  container: web\n  comand: x"), PASSWORD, ["migration.comand (line 10)", "unknown key"]),
    ("missing-app", ("app: shop\n", ""), PASSWORD, ["app: required key is missing"]),
    ("missing-deployments", ("deployments:\n  - name: web\n", ""), PASSWORD, ["deployments: at least one Deployment"]),
    ("duplicate-deployments", ("  - name: web", "  - name: web\n  - name: web"), PASSWORD, ["names must be unique"]),
    ("from-deployment-unknown", ("  from_deployment: web", "  from_deployment: api"), PASSWORD, ["migration.from_deployment", "'api'"]),
    ("env-unset", ("${BI_PW}", "${BI_NOT_SET}"), PASSWORD, ["database.url (line 11)", "BI_NOT_SET is not set"]),
    ("image-list", ("image:\n  repository: reg/shop", "image: [reg/shop]"), PASSWORD, ["image (line 3)", "expected a mapping"]),
    ("deployments-mapping", ("deployments:\n  - name: web", "deployments:\n  name: web"), PASSWORD, ["deployments (line 6)", "expected a list"]),
    ("yaml-syntax", ("app: shop", "app: [shop"), PASSWORD, ["not valid YAML"]),
    ("yaml-python-tag", ("app: shop", "app: !!python/name:os.system x"), PASSWORD, ["line 1", "unsupported YAML value"]),
    ("duplicate-key", ("app: shop", "app: shop\napp: shop2"), PASSWORD, ["line 2: duplicate key 'app'"]),
    ("git-revert", ("app: shop", "app: shop\nrollback:\n  git_revert: sideways"), PASSWORD, ["rollback.git_revert (line 3)", "off, branch or push"]),
    ("automatic-text", ("app: shop", "app: shop\nrollback:\n  automatic: maybe"), PASSWORD, ["rollback.automatic (line 3)", "true or false"]),
    ("command-empty", ("  container: web", "  container: web\n  command: []"), PASSWORD, ["migration.command (line 10)", "must not be empty"]),
    ("replica-bad-port", ("3306/shop\n", "3306/shop\n  replicas:\n    - mysql://r@replica:xx/shop\n"), PASSWORD, ["database.replicas[0] (line 13)", "port is not a number"]),
    ("databases-typo", ("3306/shop\n", "3306/shop\n  databases:\n    queue:\n      uri: mysql://r@db/q\n"), PASSWORD, ["database.databases.queue.uri (line 14)", "unknown key"]),
    ("databases-primary", ("3306/shop\n", "3306/shop\n  databases:\n    primary:\n      url: mysql://r@db/q\n"), PASSWORD, ["database.databases.primary", "database.url itself"]),
    ("empty-file", "", PASSWORD, ["configuration file is empty"]),
    ("top-level-list", "- app: shop\n", PASSWORD, ["top level (line 1): expected a mapping"]),
]


@pytest.mark.parametrize("case_id, edit, password, words", CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_exit_3_with_key_and_line(tmp_path, capsys, monkeypatch, case_id, edit, password, words):
    text = edit if isinstance(edit, str) else (GOOD.replace(*edit) if edit else GOOD)
    assert edit is None or isinstance(edit, str) or text != GOOD, "the edit did not apply"
    path = tmp_path / "shipit.yaml"
    path.write_text(text)
    monkeypatch.setenv("BI_PW", password)
    run = run_inprocess(capsys, "validate", "--config", str(path), "--output", "json")
    obj = assert_clear(run, 3, *words, secrets=(password, PASSWORD))
    assert obj["exit_code"] == 3 and obj["status"] == "error" and words[0] in obj["message"]


def test_good_config_validates_and_masks_the_password(tmp_path, capsys, monkeypatch):
    path = tmp_path / "shipit.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv("BI_PW", PASSWORD)
    run = run_inprocess(capsys, "validate", "--config", str(path), "--output", "json")
    assert run.code == 0 and PASSWORD not in run.stdout + run.stderr
    assert run_inprocess(capsys, "validate", "--config", str(path)).code == 0


def test_repo_without_db_migrate_warns(tmp_path, capsys, monkeypatch):
    path = tmp_path / "shipit.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv("BI_PW", PASSWORD)
    run = run_inprocess(capsys, "validate", "--config", str(path))
    assert run.code == 0 and "has no db/migrate folder" in run.stderr and "`repo`" in run.stderr


FILE_CASES = [
    ("missing", lambda p: None, ["configuration file not found"]),
    ("directory", lambda p: p.mkdir(), ["cannot read"]),
    ("not-utf8", lambda p: p.write_bytes(GOOD.encode().replace(b"reg/shop", b"reg/sh\xe9op")), ["line 4: not UTF-8", "0xe9"]),
    ("utf16", lambda p: p.write_bytes(GOOD.encode("utf-16")), ["not UTF-8"]),
    ("binary", lambda p: p.write_bytes(bytes(range(256))), ["not UTF-8"]),
]


@pytest.mark.parametrize("case_id, make, words", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unreadable_config_files(tmp_path, capsys, case_id, make, words):
    path = tmp_path / "shipit.yaml"
    make(path)
    for command in ("validate", "status", "history"):
        assert_clear(run_inprocess(capsys, command, "--config", str(path), "--output", "json"), 3, *words)


ARG_CASES = [
    ("unknown-command", ["deploy"], ["see stderr"], 3),
    ("unknown-option", ["status", "--colour"], ["see stderr"], 3),
    ("history-limit-0", ["history", "--limit", "0"], ["see stderr"], 3),
    ("history-limit-text", ["history", "--limit", "ten"], ["see stderr"], 3),
    ("output-format", ["status", "--output", "yaml"], [], 3),
    ("lock-wait", ["release", "--lock-wait", "forever"], ["--lock-wait"], 3),
    ("resume-with-from", ["release", "--resume", "--from", "HEAD"], ["--resume"], 3),
]


@pytest.mark.parametrize("case_id, argv, words, code", ARG_CASES, ids=[c[0] for c in ARG_CASES])
def test_bad_arguments(tmp_path, capsys, monkeypatch, case_id, argv, words, code):
    path = tmp_path / "shipit.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv("BI_PW", PASSWORD)
    as_json = "--output" not in argv
    full = [argv[0], "--config", str(path), *argv[1:], *(["--output", "json"] if as_json else [])]
    run = run_inprocess(capsys, *full)
    obj = assert_clear(run, code, as_json=as_json)
    if as_json:
        assert obj["exit_code"] == code
    for w in words:
        assert w in run.stderr + run.stdout, run.text


def test_the_real_entry_point_never_prints_a_traceback(tmp_path):
    """Through `python -m shipit.cli`: the subprocess a CI job runs."""
    path = tmp_path / "shipit.yaml"
    path.write_bytes(b"app: sh\xffop\n")
    assert_clear(run_cli("validate", "--config", str(path), "--output", "json"), 3, "not UTF-8")
    path.write_text(GOOD.replace("app: shop", "app: my shop"))
    env = {"PATH": "/usr/bin:/bin", "BI_PW": "p@" + PASSWORD, "HOME": str(tmp_path)}
    assert_clear(run_cli("validate", "--config", str(path), "--output", "json", env=env), 3, "database.url (line 11)",
                 "percent-encoded", secrets=(PASSWORD,))
    assert_clear(run_cli("nosuchcommand", "--output", "json", env=env), 3)
