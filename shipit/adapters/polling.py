"""A poll on its own thread for the life of a `with` block (a migration Job): the metadata-lock watchdog and the
index-build progress both watch the database while the Job runs, and stop with it."""

from __future__ import annotations

import threading


class BackgroundPoll:
    """Subclasses implement `tick()`, called every `interval` seconds; returning True ends the poll early."""

    name = "shipit-poll"

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.tick():
                return

    def tick(self) -> bool:
        raise NotImplementedError
