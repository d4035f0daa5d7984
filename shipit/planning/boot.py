"""Migrations the app runs by itself when it boots, which would race the staged release.

Rails 7.1+ images run `bin/rails db:prepare` from `bin/docker-entrypoint` when the server starts; some Procfiles and
container commands run `db:migrate`. New pods would then apply every pending migration during the rollout,
concurrently, including the ones the plan holds back for after the code or for a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

FILES = ("bin/docker-entrypoint", "Procfile", "Procfile.prod", "Procfile.production", "Dockerfile")
_MIGRATE = re.compile(r"\bdb:(prepare|migrate)\b")
_GUARD = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")


@dataclass(frozen=True)
class BootMigration:
    where: str  # "bin/docker-entrypoint line 8" or "Deployment command"
    task: str  # db:prepare | db:migrate
    guards: tuple[str, ...] = ()  # environment variables in the condition around it


def find_boot_migrations(files: Mapping[str, str], commands: tuple[str, ...] = ()) -> tuple[BootMigration, ...]:
    """Boot-time migrate calls in the image's files at --to and in the Deployment's command/args."""
    out = []
    for path in FILES:
        text = files.get(path)
        if not text:
            continue
        lines = text.splitlines()
        for n, line in enumerate(lines, 1):
            code = line.split("#", 1)[0]
            match = _MIGRATE.search(code)
            if match:
                conditions = [c for c in lines[max(0, n - 4):n] if re.match(r"\s*(if|elif|\[\[?|test)\b", c)]
                guards = tuple(dict.fromkeys(g for c in conditions + [code] for g in _GUARD.findall(c)))
                out.append(BootMigration(f"{path} line {n}", f"db:{match.group(1)}", guards))
    for command in commands:
        match = _MIGRATE.search(command)
        if match:
            out.append(BootMigration("the Deployment's command/args", f"db:{match.group(1)}"))
    return tuple(out)


@dataclass(frozen=True)
class BootDecision:
    stop: bool
    message: str


def boot_decision(found: tuple[BootMigration, ...], held_back: tuple[str, ...],
                  deployment_env: frozenset[str] = frozenset()) -> BootDecision | None:
    """Stop before anything changes when boot would apply migrations the plan holds back; else warn.

    `held_back` are the versions planned after the code or for a person; `deployment_env` the environment variable
    names the Deployment sets (a guard it sets switches the boot-time migrate off)."""
    live = [b for b in found if not (set(b.guards) & deployment_env)]
    if not live:
        return None
    where = "; ".join(f"{b.task} in {b.where}" for b in live)
    fix = ("guard it with an environment variable the Deployment sets: "
           "`if [ -z \"$SHIPIT_MANAGED_MIGRATIONS\" ]; then ./bin/rails db:prepare; fi` in the script and "
           "`SHIPIT_MANAGED_MIGRATIONS=1` in the Deployment's env")
    if held_back:
        return BootDecision(True, (
            f"the app migrates at boot ({where}): the new pods would apply {', '.join(held_back)} during the "
            f"rollout, concurrently, before shipit's post-deploy step or a person; {fix}"))
    return BootDecision(False, f"the app migrates at boot ({where}): harmless for this release, since every pending "
                               f"migration runs before the code; before a release holds one back, {fix}")
