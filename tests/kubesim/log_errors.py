"""Controller and kubelet failures are printed, not swallowed: a silent fake hides its own bugs."""

from __future__ import annotations

import sys
import traceback


def report(component: str, key: object, exc: BaseException) -> None:
    print(f"kubesim {component}: error syncing {key!r}: {exc!r}", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
