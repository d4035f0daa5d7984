"""Whatever escapes a command is one line and a distinct exit code, never a traceback or raw HTTP headers."""

import json

import pytest
from kubernetes.client.exceptions import ApiException

from shipit.cli.app import command_of, main, wants_json
from shipit.core.errors import ExitCode
from shipit.core.unexpected import describe


class _Resp:
    headers = {"Content-Type": "application/json", "Audit-Id": "abc-123", "X-Kubernetes-Pf-Flowschema-Uid": "zzz"}

    def __init__(self, status, reason, body):
        self.status, self.reason, self.data = status, reason, body

    def getheaders(self):
        return self.headers


def api_error(status, reason, message):
    return ApiException(http_resp=_Resp(status, reason, json.dumps({"kind": "Status", "message": message}).encode()))


def test_api_503_on_a_patch_is_one_line_without_headers():
    out = describe(api_error(503, "Service Unavailable", "the server is currently unable to handle the request"),
                   command="release")
    assert "503" in out.message and "unable to handle" in out.message
    assert "Audit-Id" not in out.message and "HTTP response headers" not in out.message and "\n" not in out.message
    assert out.exit_code is ExitCode.NEEDS_PERSON and "revert failed" not in out.message


def test_api_400_for_a_bad_label_is_bad_input():
    out = describe(api_error(400, "Bad Request", 'metadata.labels: Invalid value: "Shop Store"'), command="release")
    assert out.exit_code is ExitCode.BAD_INPUT and "check `app`" in out.message


def test_unknown_error_in_a_read_only_command_failed_safely():
    out = describe(KeyError("sequence"), command="history")
    assert out.exit_code is ExitCode.FAILED_SAFELY and "KeyError" in out.message and "nothing was changed" in out.message


def test_unknown_error_in_release_needs_a_person():
    assert describe(RuntimeError("boom"), command="release").exit_code is ExitCode.NEEDS_PERSON


def test_non_utf8_is_bad_input():
    try:
        b"abc\xff".decode()
    except UnicodeDecodeError as e:
        err = e
    out = describe(err, command="plan")
    assert out.exit_code is ExitCode.BAD_INPUT and "0xff" in out.message and "UTF-8" in out.message


@pytest.mark.parametrize("argv, expected", [
    (["status", "--output", "json"], True), (["status", "-o", "json"], True), (["status", "--output=json"], True),
    (["status", "-ojson"], True), (["status"], False), (["status", "--output", "text"], False),
])
def test_wants_json(argv, expected):
    assert wants_json(argv) is expected


def test_command_of_skips_global_options():
    assert command_of(["--log-format", "json", "-v", "history", "--limit", "3"]) == "history"
    assert command_of(["--help"]) is None


def test_main_turns_a_config_error_into_one_json_object(capsys, tmp_path):
    code = main(["validate", "--config", str(tmp_path / "missing.yaml"), "--output", "json"])
    out, err = capsys.readouterr()
    assert code == ExitCode.BAD_INPUT
    assert json.loads(out)["exit_code"] == 3 and "not found" in err and "Traceback" not in err + out
