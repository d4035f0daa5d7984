"""The migration Job's log, streamed live while the container runs and resumed where it broke off."""

from __future__ import annotations

import collections
import math
import threading
import time
from datetime import datetime
from typing import Any, Callable

from shipit.core.log import get_logger
from shipit.kube.client import Kube
from shipit.kube.watch import response_lines, shutdown_response

log = get_logger()

LOG_TAIL = 25


def _log_time(stamp: str) -> tuple[int, int] | None:
    """An RFC3339Nano log timestamp as (epoch seconds, nanoseconds), comparable whatever its fraction's width."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    try:
        seconds = int(datetime.fromisoformat(whole + "+00:00").timestamp())
        return seconds, int((frac + "000000000")[:9]) if frac else 0
    except ValueError:
        return None


class LogFollower:
    """Streams one pod's container log to on_log as it is written. A stream that ends while the container still runs
    (an idle proxy cut it, the API server restarted) is resumed from the last line's timestamp without repeats, so a
    long migration's log stays live to the end."""

    RESUME_MARGIN = 5  # seconds asked for before the last line (clock skew); the repeats are dropped by timestamp
    MAX_FAILURES = 5  # consecutive failed resumes before the live log is given up (the final tail is re-read anyway)

    def __init__(self, kube: Kube, pod: str, container: str, on_log: Callable[[str], None] | None, finished: Callable[[], bool]):
        self.kube, self.pod, self.container, self.on_log = kube, pod, container, on_log
        self.finished = finished  # has the container terminated, as the pod watch last saw it
        self.lines: collections.deque[str] = collections.deque(maxlen=LOG_TAIL)
        self.done = threading.Event()
        self.failed = False
        self.requests = 0
        self._last: tuple[int, int] | None = None  # timestamp of the last line shown
        self._at_last: set[str] = set()  # lines shown with exactly that timestamp
        self._resp: Any = None
        self._wake = threading.Event()  # cuts the pause between follow requests short (stop, or the Job completed)
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"shipit-log-{pod}", daemon=True)
        self._thread.start()

    def _show(self, raw: str) -> bool:
        """Pass one timestamped line on unless a resumed stream repeats it; True when it was new."""
        stamp, _, text = raw.partition(" ")
        at = _log_time(stamp)
        if at is not None and self._last is not None:
            if at < self._last or (at == self._last and raw in self._at_last):
                return False
        if at is not None:
            if at != self._last:
                self._last, self._at_last = at, set()
            self._at_last.add(raw)
        else:
            text = raw
        self.lines.append(text)
        if self.on_log:
            self.on_log(text)
        return True

    def _follow_once(self) -> bool:
        """One follow request until its stream ends; True when it brought new lines."""
        kw: dict[str, Any] = {"container": self.container, "follow": True, "timestamps": True}
        if self._last is not None:
            kw["since_seconds"] = max(1, math.ceil(time.time() - self._last[0]) + self.RESUME_MARGIN)
        self.requests += 1
        self._resp = self.kube.call(self.kube.core.read_namespaced_pod_log, self.pod, self.kube.namespace, _preload_content=False, **kw)
        new = False
        try:
            if self._stop:  # stop() ran while the request was in flight
                return False
            for raw in response_lines(self._resp):
                if self._stop:
                    return new
                new = self._show(raw) or new
            return new
        finally:
            self._resp.close()

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop:
                try:
                    new = self._follow_once()
                except Exception as e:  # noqa: BLE001 - a log stream problem must not fail the migration
                    if self._stop:
                        return
                    failures += 1
                    log.debug("migration log stream broke; resuming", pod=self.pod, error=str(e)[:200])
                    if failures >= self.MAX_FAILURES:
                        self.failed = True
                        return
                    self._wake.wait(min(0.2 * 2**failures, 2.0))
                    continue
                failures = 0
                if self._stop or (self.finished() and not new):
                    return  # the container is done and a last read brought nothing more
                if not self.finished():  # a cut stream (or a pod watch that lags): pause before resuming; a finished
                    self._wake.wait(0.2)  # container's last re-read goes at once (it held up every release by 0.2 s)
        finally:
            self.done.set()

    def container_done(self) -> None:
        """The Job completed, so the container has ended even if the pod watch has not said so yet: read to the end
        without pausing."""
        self.finished = lambda: True
        self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self._resp is not None:
            shutdown_response(self._resp)


def container_finished(pod: dict | None, container: str) -> bool:
    if pod is None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return True
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == container:
            return bool((cs.get("state") or {}).get("terminated"))
    return False


def container_started(pod: dict, container: str) -> bool:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == container:
            state = cs.get("state") or {}
            return bool(state.get("running") or state.get("terminated"))
    return False
