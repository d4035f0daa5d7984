"""TTL-after-finished controller: deletes a finished Job `ttlSecondsAfterFinished` after its terminal
condition, with Foreground propagation and a UID precondition, so its pods go too."""

from __future__ import annotations

import time

from tests.kubesim.clock import Clock, parse_time
from tests.kubesim.controllers.queue import WorkQueue, key_of, stored
from tests.kubesim.errors import ApiError
from tests.kubesim.resources import JOBS


def finished_at(job: dict) -> float | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None


class TTLController:
    def __init__(self, store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._seen_finished: dict[str, float] = {}
        self.queue = WorkQueue("ttl-after-finished-controller", self._sync)

    def on_event(self, type_: str, res, obj: dict) -> None:
        if res is JOBS and type_ != "DELETED" and obj["spec"].get("ttlSecondsAfterFinished") is not None:
            self.queue.add(key_of(obj))

    def _sync(self, key: tuple[str, str]) -> None:
        namespace, name = key
        job = stored(self._store, JOBS, key)
        if job is None:
            return
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None or job["metadata"].get("deletionTimestamp") or finished_at(job) is None:
            return
        uid = job["metadata"]["uid"]
        # The condition's timestamp has whole seconds (1 s of truncation is `speed` cluster seconds): when we see the
        # Job within that second, the moment we saw it finished is the precise one.
        stamp, now = finished_at(job) or 0.0, time.time()
        since = self._seen_finished.setdefault(uid, now if stamp > now - 1.0 else stamp)
        left = ttl - self._clock.elapsed(since)
        if left > 0:
            self.queue.add(key, after=self._clock.real(left) + 0.01)
            return
        try:
            self._store.delete(JOBS, namespace, name, propagation="Foreground", preconditions={"uid": uid})
        except ApiError:
            pass
        self._seen_finished.pop(uid, None)
