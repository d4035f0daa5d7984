"""Container logs kept per container instance: the current one and the `previous`, with timestamps so
`sinceSeconds`, `timestamps` and `tailLines` behave like the kubelet's log endpoint.

Lines are stored and returned without their trailing newline."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator

from tests.kubesim.clock import rfc3339_nano

Key = tuple[str, str, str]


@dataclasses.dataclass
class _Instance:
    lines: list[tuple[float, str]] = dataclasses.field(default_factory=list)
    finished: bool = False


class PodLogs:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._current: dict[Key, _Instance] = {}
        self._previous: dict[Key, _Instance] = {}

    def append(self, namespace: str, pod: str, container: str, line: str, *, at: float | None = None) -> None:
        with self._cond:
            inst = self._current.setdefault((namespace, pod, container), _Instance())
            inst.lines.append((time.time() if at is None else at, line.rstrip("\n")))
            self._cond.notify_all()

    def rotate(self, namespace: str, pod: str, container: str) -> None:
        """A container restart: the current instance becomes `previous`, a new empty one starts."""
        key = (namespace, pod, container)
        with self._cond:
            old = self._current.pop(key, None)
            if old is not None:
                old.finished = True
                self._previous[key] = old
            self._current[key] = _Instance()
            self._cond.notify_all()

    def finish(self, namespace: str, pod: str, container: str) -> None:
        """The container terminated: followers stop once they have read everything."""
        with self._cond:
            self._current.setdefault((namespace, pod, container), _Instance()).finished = True
            self._cond.notify_all()

    def forget_pod(self, namespace: str, pod: str) -> None:
        """The pod is gone: its logs go with it and every follower ends."""
        with self._cond:
            for store in (self._current, self._previous):
                for key in [k for k in store if k[0] == namespace and k[1] == pod]:
                    store.pop(key).finished = True
            self._cond.notify_all()

    def is_finished(self, namespace: str, pod: str, container: str) -> bool:
        with self._cond:
            inst = self._current.get((namespace, pod, container))
            return inst is None or inst.finished

    def read(self, namespace: str, pod: str, container: str, *, previous: bool = False, tail_lines: int | None = None,
             since_seconds: float | None = None, timestamps: bool = False) -> list[str]:
        with self._cond:
            inst = (self._previous if previous else self._current).get((namespace, pod, container))
            lines = list(inst.lines) if inst else []
        return [_render(at, text, timestamps) for at, text in _select(lines, tail_lines, since_seconds)]

    def follow(self, namespace: str, pod: str, container: str, *, stop: Callable[[], bool], previous: bool = False,
               tail_lines: int | None = None, since_seconds: float | None = None,
               timestamps: bool = False) -> Iterator[str]:
        """Existing lines (filtered), then new lines as they arrive, until the instance finishes or `stop()`."""
        key = (namespace, pod, container)
        with self._cond:
            inst = (self._previous if previous else self._current).get(key)
            if inst is None:
                inst = self._current.setdefault(key, _Instance())
            first = _select(list(inst.lines), tail_lines, since_seconds)
            sent = len(inst.lines)
        for at, text in first:
            yield _render(at, text, timestamps)
        while True:
            with self._cond:
                while len(inst.lines) == sent and not inst.finished and not stop():
                    self._cond.wait(0.1)
                new = inst.lines[sent:]
                sent = len(inst.lines)
                done = inst.finished or stop()
            for at, text in new:
                yield _render(at, text, timestamps)
            if done:
                return


def _select(lines: list[tuple[float, str]], tail_lines: int | None,
            since_seconds: float | None) -> list[tuple[float, str]]:
    if since_seconds is not None:
        cutoff = time.time() - since_seconds
        lines = [(at, text) for at, text in lines if at >= cutoff]
    if tail_lines is not None:
        lines = lines[-tail_lines:] if tail_lines > 0 else []
    return lines


def _render(at: float, text: str, timestamps: bool) -> str:
    return f"{rfc3339_nano(at)} {text}" if timestamps else text
