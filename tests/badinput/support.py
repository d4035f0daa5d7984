"""What every bad-input case asserts: the exit code, a message naming what to fix, no traceback, and with
`--output json` exactly one JSON object on stdout."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return f"exit {self.code}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


def run_inprocess(capsys, *argv: str) -> Run:
    """The real `main()` in this process: fast for cases where the CLI's own handling is the point."""
    from shipit.cli.app import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return Run(code, out, err)


def run_cli(*argv: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120) -> Run:
    """The real `shipit` entry point as a subprocess: what a CI job sees."""
    proc = subprocess.run([sys.executable, "-m", "shipit.cli", *argv], cwd=cwd or ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_clear(run: Run, code: int, *words: str, as_json: bool = True, secrets: tuple[str, ...] = ()) -> dict | None:
    """The exit code, the words that name what to fix (in stderr, and in the JSON message), no traceback, no secret,
    and with --output json one JSON object and nothing else on stdout."""
    assert run.code == code, run.text
    assert "Traceback" not in run.stdout + run.stderr, run.text
    assert "HTTP response headers" not in run.stdout + run.stderr, run.text
    for s in secrets:
        assert s not in run.stdout + run.stderr, f"secret leaked\n{run.text}"
    for w in words:
        assert w in run.stderr, f"{w!r} not in stderr\n{run.text}"
    if not as_json:
        return None
    obj = json.loads(run.stdout)  # raises on zero or several objects, or any other text
    assert isinstance(obj, dict), run.text
    return obj
