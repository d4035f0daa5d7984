"""What a container image does when the fake kubelet runs it.

The tag suffix picks the behaviour (`web:v2-missing`, `app:1-crash`, ...), so a test says what it wants in the
manifest itself; `ImageRegistry.add` overrides single images. Durations are cluster seconds (see clock.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading


@dataclasses.dataclass(frozen=True)
class ImageBehaviour:
    pullable: bool = True
    exit_code: int | None = None        # None: runs until the pod is deleted
    run_seconds: float = 0.0            # from start to exit (when exit_code is set)
    ready_after: float | None = 0.0     # from start to Ready; None: readiness never passes
    oom: bool = False                   # exit reported as OOMKilled (exit code 137)
    log_lines: tuple[str, ...] = ()

    @property
    def exit_reason(self) -> str:
        if self.oom:
            return "OOMKilled"
        return "Completed" if self.exit_code == 0 else "Error"


def split_image(image: str) -> tuple[str, str]:
    """(repository, tag); a missing tag means `latest` as for a real runtime."""
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, "latest"


def runtime_name(image: str) -> tuple[str, str]:
    """(repository, tag) as the container runtime names them: a bare name lives in docker.io/library."""
    repo, tag = split_image(image)
    return (repo if "/" in repo else f"docker.io/library/{repo}"), tag


class ImageRegistry:
    """Images exist unless their tag ends in `-missing`; behaviour by tag suffix:
    `-missing` ErrImagePull, `-crash` exit 1, `-oom` OOMKilled, `-unready` never Ready, `-slow` Ready after
    `slow_ready`, `-fail` logs a few lines then exit 1. Other images serve forever under restartPolicy Always and
    run to completion (exit 0 after `run_seconds`) in Job pods."""

    def __init__(self, *, start_delay: float = 0.3, crash_after: float = 0.3, slow_ready: float = 5.0,
                 run_seconds: float = 0.3) -> None:
        self.start_delay = start_delay
        self.crash_after = crash_after
        self.slow_ready = slow_ready
        self.run_seconds = run_seconds
        self._overrides: dict[str, ImageBehaviour] = {}
        self._lock = threading.Lock()

    def add(self, image: str, behaviour: ImageBehaviour) -> None:
        with self._lock:
            self._overrides[image] = behaviour

    def behaviour(self, image: str, *, restart_policy: str = "Always") -> ImageBehaviour:
        with self._lock:
            override = self._overrides.get(image)
        if override is not None:
            return override
        _, tag = split_image(image)
        if tag.endswith("-missing"):
            return ImageBehaviour(pullable=False)
        if tag.endswith("-crash"):
            return ImageBehaviour(exit_code=1, run_seconds=self.crash_after,
                                  log_lines=(f"starting {image}", "panic: cannot connect to database"))
        if tag.endswith("-oom"):
            return ImageBehaviour(exit_code=137, oom=True, run_seconds=self.crash_after,
                                  log_lines=(f"starting {image}", "allocating cache"))
        if tag.endswith("-fail"):
            return ImageBehaviour(exit_code=1, run_seconds=self.run_seconds,
                                  log_lines=(f"starting {image}", "running task", "error: task failed"))
        if tag.endswith("-unready"):
            return ImageBehaviour(ready_after=None, log_lines=(f"starting {image}", "warming up"))
        if tag.endswith("-slow"):
            return ImageBehaviour(ready_after=self.slow_ready, log_lines=(f"starting {image}", "warming up slowly"))
        if restart_policy == "Always":
            return ImageBehaviour(log_lines=(f"starting {image}", "listening on :8080"))
        return ImageBehaviour(exit_code=0, run_seconds=self.run_seconds,
                              log_lines=(f"starting {image}", "done"))

    @staticmethod
    def image_id(image: str) -> str:
        """`imageID` as containerd reports it: repository@sha256 digest (stable per image)."""
        repo, _ = runtime_name(image)
        return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"

    @staticmethod
    def qualified(image: str) -> str:
        """The image as the runtime reports it in containerStatuses (`docker.io/library/web:v1`)."""
        return ":".join(runtime_name(image))
