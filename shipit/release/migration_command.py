"""Which command the pre-deploy migration Job runs: a correctness rule, so a pure function."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from shipit.core.errors import ShipitError


def pre_deploy_command(
    command: tuple[str, ...], pending: tuple[str, ...], post_deploy: tuple[str, ...], applied: frozenset[str], *,
    databases: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """The pre-deploy Job's command, which must apply exactly `pending` and leave the post-deploy ones for later.

    Plain `db:migrate` would run the post-deploy migrations too. `db:migrate VERSION=<last pre-deploy>` runs every
    pending migration up to it, and when a newer one is already applied Rails migrates that one DOWN (its
    current_version > target): a late-merged, older-timestamped migration would drop a live column. So VERSION=
    only when neither can happen; otherwise one `db:migrate:up VERSION=v` per migration, in order.

    In an app with several databases (`databases`: each pending version's database) `applied` is every database's
    versions, since VERSION= migrates each database to it, and Rails runs only the namespaced
    `db:migrate:up:<database>`.
    """
    if not post_deploy:
        return command
    target = max(pending, key=int)
    if all(int(v) <= int(target) for v in applied) and all(int(v) > int(target) for v in post_deploy):
        return command + (f"VERSION={target}",)
    if command[-1] != "db:migrate":
        raise ShipitError(
            f"cannot apply only the pre-deploy migrations {', '.join(pending)} with migration.command "
            f"{shlex.join(command)!r}: `VERSION={target}` would also run or revert others. Use a command ending in "
            "db:migrate (shipit then runs db:migrate:up per version), or release these migrations separately"
        )
    def up(version: str) -> str:
        return "db:migrate:up" if databases is None else f"db:migrate:up:{databases.get(version, 'primary')}"

    steps = [shlex.join(command[:-1] + (up(v), f"VERSION={v}")) for v in sorted(pending, key=int)]
    return ("sh", "-c", " && ".join(steps))
