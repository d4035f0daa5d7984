"""The options' plain coercion gives what typer's pydantic adapter gives, and the usual commands never load pydantic."""

import subprocess
import sys
from pathlib import Path

import pytest

from shipit.cli import coercion

ROOT = Path(__file__).resolve().parents[3]

VALUES = ("json", "text", "JSON", "xml", "auto", "console", "HEAD", "main~2", "", "config/shipit.yaml", "/tmp", "-", "20",
          0, 1, 20, -3)


def options():
    import typer.main

    from shipit.cli.app import app

    root = typer.main.get_command(app)
    yield from ((f"shipit {p.name}", p) for p in root.params)
    for name, command in root.commands.items():
        yield from ((f"{name} {p.name}", p) for p in getattr(command, "params", ()))
        for sub_name, sub in getattr(command, "commands", {}).items():
            yield from ((f"{name} {sub_name} {p.name}", p) for p in sub.params)


def adapter_result(param, value, ctx):
    from typer import _coercion

    try:
        return "ok", _coercion.build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)
    except Exception as e:  # noqa: BLE001 - the error's type and text are what is compared
        return "error", f"{type(e).__name__}: {e}"


@pytest.mark.parametrize("label,param", list(options()), ids=lambda x: x if isinstance(x, str) else "")
def test_plain_value_is_the_adapters(label, param):
    import typer.main

    from shipit.cli.app import app

    ctx = typer.main.get_command(app).make_context("shipit", ["--help"], resilient_parsing=True)
    compared = 0
    for value in VALUES + ((param.default,) if param.default is not None else ()):
        plain = coercion.plain_value(param.type_descriptor, value, param, ctx)
        if plain is coercion._NO:
            continue  # handed to the adapter itself
        expected = adapter_result(param, value, ctx)
        assert ("ok", plain) == expected and type(plain) is type(expected[1]), (label, value)
        compared += 1
    assert compared or param.type_descriptor.annotation is bool, label


def test_commands_load_no_pydantic():
    code = ("import sys\nfrom shipit.cli.app import main\ntry:\n    main(sys.argv[1:])\nfinally:\n"
            "    print('pydantic' in sys.modules)\n")
    example = str(ROOT / "config" / "shipit.example.yaml")
    for args in (["--help"], ["validate", "--config", example, "--output", "json"], ["--log-format", "json", "validate"]):
        r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
        assert r.stdout.splitlines()[-1] == "False", (args, r.stdout, r.stderr)
