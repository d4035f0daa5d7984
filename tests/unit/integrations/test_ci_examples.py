"""The CI examples parse, and every `shipit ...` they run uses only commands and flags the CLI has: the command
tree is read from the Typer app itself, so a renamed flag breaks this test, not a team's pipeline."""

from __future__ import annotations

import enum
import shlex
from pathlib import Path

import pytest
import yaml
from typer.main import get_command

from shipit.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SEPARATORS = {";", "&&", "||", "|", "&"}
REDIRECTS = {">", ">>", "<", "2>", "2>&1", "&>"}
KEYWORDS = {"then", "else", "do", "if", "!"}


def scripts(path: Path) -> list[str]:
    """Every shell script a workflow runs: GitHub steps' `run`, GitLab jobs' script, before_script and after_script."""
    doc = yaml.safe_load(path.read_text())
    found: list[str] = []
    for job in (doc.get("jobs") or {}).values():
        found += [step["run"] for step in job.get("steps", []) if "run" in step]
    for name, job in doc.items():
        if isinstance(job, dict) and name != "variables":
            for key in ("before_script", "script", "after_script"):
                found += list(job.get(key) or [])
    return found


def invocations(script: str) -> list[list[str]]:
    """The argument lists of the `shipit` commands in a shell script."""
    out: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token in SEPARATORS:
                while command and command[0] in KEYWORDS:
                    command.pop(0)
                if command and command[0] == "shipit":
                    out.append(command[1:])
                command = []
            else:
                command.append(token)
    return out


def choices(param) -> list[str]:
    """The values an option accepts, when it is a choice (an Enum in Typer, a Choice in click)."""
    found = getattr(getattr(param, "type", None), "choices", None)
    if found is None:
        annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            found = [e.value for e in annotation]
    return list(found or [])


def check(args: list[str], root=None) -> list[str]:
    """Problems with one `shipit` argument list: unknown command, unknown flag, a value outside its choices."""
    cmd = root or get_command(app)
    problems: list[str] = []
    i, path = 0, []
    while i < len(args):
        token = args[i]
        if token in REDIRECTS or token.startswith((">", "2>")):
            break
        if token.startswith("-"):
            flag, _, inline = token.partition("=")
            param = next((p for p in cmd.params if flag in (*p.opts, *p.secondary_opts)), None)
            if param is None:
                problems.append(f"shipit {' '.join(path)}: no option {flag}")
                i += 1
                continue
            if not getattr(param, "is_flag", False) and not inline:
                i += 1
                value = args[i] if i < len(args) else None
                if value is None:
                    problems.append(f"shipit {' '.join(path)} {flag}: missing its value")
                elif "$" not in value and choices(param) and value not in choices(param):
                    problems.append(f"shipit {' '.join(path)} {flag}: {value!r} is not one of {choices(param)}")
            i += 1
            continue
        sub = getattr(cmd, "commands", {}).get(token)
        if sub is None:
            problems.append(f"shipit {' '.join(path)}: no command or argument {token!r} expected here")
        else:
            cmd, path = sub, path + [token]
        i += 1
    if getattr(cmd, "commands", None):
        problems.append(f"shipit {' '.join(path)}: a command is missing")
    return problems


WORKFLOWS = sorted(p for p in EXAMPLES.rglob("*.yml"))


def test_the_examples_are_there():
    names = {p.relative_to(EXAMPLES).as_posix() for p in WORKFLOWS}
    assert names == {"github-actions/release.yml", "github-actions/rollback.yml", "gitlab-ci/gitlab-ci.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.relative_to(EXAMPLES).as_posix())
def test_every_shipit_command_in_the_examples_exists_with_its_flags(workflow):
    calls = [args for script in scripts(workflow) for args in invocations(script)]
    assert calls, f"{workflow} runs no shipit command"
    problems = [p for args in calls for p in check(args)]
    assert problems == []


def test_the_release_examples_release_with_yes_and_json_and_can_roll_back():
    commands = {p.relative_to(EXAMPLES).as_posix(): [a for s in scripts(p) for a in invocations(s)] for p in WORKFLOWS}
    for name in ("github-actions/release.yml", "gitlab-ci/gitlab-ci.yml"):
        assert any(a[0] == "release" and "--yes" in a and a[a.index("--output") + 1] == "json" for a in commands[name])
    assert any(a[0] == "rollback" for a in commands["github-actions/rollback.yml"])
    assert any(a[0] == "rollback" and "--to" in a for a in commands["gitlab-ci/gitlab-ci.yml"])
    release = yaml.safe_load((EXAMPLES / "github-actions/release.yml").read_text())
    checkout = next(s for s in release["jobs"]["release"]["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    gitlab = yaml.safe_load((EXAMPLES / "gitlab-ci/gitlab-ci.yml").read_text())
    assert gitlab["variables"]["GIT_DEPTH"] == "0" and gitlab["rollback"]["when"] == "manual"
    assert gitlab["release"]["environment"]["name"] == "production"


@pytest.mark.parametrize("script, problem", [
    ("shipit release --force", "shipit release: no option --force"),
    ("shipit deploy --yes", "no command or argument 'deploy'"),
    ("shipit release --output yaml", "'yaml' is not one of"),
    ("cd app && shipit db --output json", "shipit db: no option --output"),
    ("shipit history --limit", "--limit: missing its value"),
])
def test_the_check_catches_what_shipit_does_not_have(script, problem):
    problems = [p for args in invocations(script) for p in check(args)]
    assert any(problem in p for p in problems), problems


def test_invocations_are_found_in_conditionals_pipes_and_continuations():
    script = 'if [ -n "$TO" ]; then shipit rollback --to "$TO"; else shipit rollback; fi\nshipit status \\\n  --output json | tee x'
    assert invocations(script) == [["rollback", "--to", "$TO"], ["rollback"], ["status", "--output", "json"]]
