"""The lease port over the Kubernetes Lease (`kube.lock.ReleaseLock`): taken for one run, its loss relayed."""

from __future__ import annotations

import threading
import time
from typing import Callable

from shipit.core.config import Config
from shipit.core.log import get_logger
from shipit.release.ports import LockLoss

log = get_logger("shipit.release")

LOCK_LOSS_POLL = 0.5  # how soon a lost lease stops the run's waits, after the renewal found it lost


class KubeLease:
    def __init__(self, kube, cfg: Config):
        self.kube, self.cfg = kube, cfg
        self._lock = None
        self._loss: LockLoss | None = None
        self._confirmed = 0.0

    def acquire_lock(self, release_id: str, *, on_lost: Callable[[], None]) -> None:
        from shipit.kube.lock import ReleaseLock

        lock = ReleaseLock(self.kube, self.cfg.app, duration=self.cfg.lock.duration, release_id=release_id)
        lock.acquire(wait=self.cfg.lock.wait)
        self._lock, self._loss, self._confirmed = lock, None, time.time()
        # the renewal thread only sets `lost`: relay it so the run's waits stop too
        threading.Thread(target=self._relay, args=(lock, on_lost), name="shipit-lock-lost", daemon=True).start()

    def _relay(self, lock, on_lost: Callable[[], None]) -> None:
        while self._lock is lock:
            if lock.lost.wait(LOCK_LOSS_POLL):
                on_lost()
                return

    def lock_lost(self) -> LockLoss | None:
        lock = self._lock
        if lock is None:
            return None
        if not lock.lost.is_set() and time.time() - self._confirmed > lock.duration / 2:
            # the background renewal may not have run for a while (process paused, laptop asleep): confirm the
            # lease now, before this run records or changes anything more
            try:
                lock.renew()
                self._confirmed = time.time()
            except Exception as e:  # noqa: BLE001 - the background renewal keeps trying
                log.warning("release lock check failed", error=str(e)[:200])
        if not lock.lost.is_set():
            return None
        if self._loss is None:  # read once: every record write asks
            try:
                holder = lock.holder()
            except Exception as e:  # noqa: BLE001 - the loss is certain; who holds it now is only detail
                return LockLoss(f"another run (the Lease could not be read: {type(e).__name__})")
            self._loss = (LockLoss(holder.describe(), holder.release_id) if holder else
                          LockLoss("nobody (the Lease was removed, e.g. by `shipit unlock --force`)"))
        return self._loss

    def release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()  # clears the holder only if it is still this run's identity
            self._lock = None
