"""A rate-free work queue like client-go's: keys are deduplicated, a key being synced is re-queued if it changes
meanwhile, and `add(key, after=...)` requeues for deadlines and back-offs. One worker thread per controller. Also the
lookups every controller makes: an object's key, its controller's ownerReference, the object as stored now."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Hashable

from tests.kubesim.errors import ApiError
from tests.kubesim.log_errors import report


class WorkQueue:
    def __init__(self, name: str, sync: Callable[[Hashable], None]) -> None:
        self.name = name
        self._sync = sync
        self._cond = threading.Condition()
        self._ready: list[Hashable] = []
        self._queued: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._dirty: set[Hashable] = set()
        self._timers: list[tuple[float, int, Hashable]] = []
        self._seq = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"kubesim-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def add(self, key: Hashable, *, after: float = 0.0) -> None:
        """Queue `key` now, or after `after` real seconds."""
        with self._cond:
            if after > 0:
                heapq.heappush(self._timers, (time.monotonic() + after, next(self._seq), key))
            elif key in self._processing:
                self._dirty.add(key)
            elif key not in self._queued:
                self._queued.add(key)
                self._ready.append(key)
            self._cond.notify_all()

    def idle(self) -> bool:
        with self._cond:
            return not self._ready and not self._processing

    def _run(self) -> None:
        while True:
            with self._cond:
                key = self._next()
                if key is None:
                    return
            try:
                self._sync(key)
            except Exception as exc:  # a controller bug must not kill the cluster; it is reported and retried
                report(self.name, key, exc)
                self.add(key, after=0.5)
            finally:
                with self._cond:
                    self._processing.discard(key)
                    if key in self._dirty:
                        self._dirty.discard(key)
                        if key not in self._queued:
                            self._queued.add(key)
                            self._ready.append(key)

    def _next(self) -> Hashable | None:
        while not self._stopped:
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                _, _, key = heapq.heappop(self._timers)
                if key in self._processing:
                    self._dirty.add(key)
                elif key not in self._queued:
                    self._queued.add(key)
                    self._ready.append(key)
            if self._ready:
                key = self._ready.pop(0)
                self._queued.discard(key)
                self._processing.add(key)
                return key
            timeout = self._timers[0][0] - now if self._timers else None
            self._cond.wait(timeout)
        return None


def key_of(obj: dict) -> tuple[str, str]:
    """An object's work-queue key: (namespace, name)."""
    return obj["metadata"]["namespace"], obj["metadata"]["name"]


def controller_ref(obj: dict, kind: str) -> dict | None:
    """The ownerReference of the controller of `kind` managing `obj`, if one does."""
    return next((r for r in obj["metadata"].get("ownerReferences") or []
                 if r.get("controller") and r.get("kind") == kind), None)


def controller_uid(obj: dict, kind: str) -> str | None:
    return (controller_ref(obj, kind) or {}).get("uid")


def stored(store, res, key: tuple[str, str]) -> dict | None:
    """The object as stored now, or None once it is gone: a sync for a deleted object has nothing to do."""
    try:
        return store.get(res, *key)
    except ApiError:
        return None
