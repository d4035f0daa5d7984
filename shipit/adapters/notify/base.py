"""What every notifier is: three moments of a release, each call raising ServiceError when it could not be made."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipit.core.redact import redact_value

if TYPE_CHECKING:
    from shipit.release.orchestrator import ReleaseState
    from shipit.release.phases import PhaseResult


class Notifier:
    """One kind of notification. The moments it does not care about are no-ops."""

    kind = ""

    def started(self, state: ReleaseState) -> None:
        pass

    def phase_ended(self, state: ReleaseState, result: PhaseResult) -> None:
        pass

    def finished(self, state: ReleaseState) -> None:
        pass


def release_json(state: ReleaseState) -> dict:
    """The release as the summary's JSON object, secrets masked: what webhooks and hooks receive."""
    from shipit.report.summary import to_json

    return redact_value(to_json(state))  # type: ignore[return-value]
