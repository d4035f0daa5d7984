"""One release at a time per app and namespace: a coordination.k8s.io/v1 Lease, renewed in the background.

Helm's lock is a release status that stays "pending" forever when the client dies. A Lease expires instead: if the
holder stops renewing (crashed CI runner, closed laptop) the next release takes it over after `lock.duration`. The
server only offers create-if-absent and compare-and-swap, so the protocol lives here. Lease times are MicroTime
strings formatted here with exactly six fractional digits (the API server rejects any other width) and sent as given.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import re
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from shipit.core.errors import BadInput, ExitCode, ShipitError
from shipit.kube.client import Kube
from shipit.kube.pods import parse_time, utcnow
from shipit.core.log import get_logger

log = get_logger()

ANN_USER = "shipit.dev/user"
ANN_HOST = "shipit.dev/host"
ANN_CI = "shipit.dev/ci-url"
ANN_RELEASE = "shipit.dev/release"


_RETRY = object()
MAX_RACES = 20  # lost compare-and-swap races in a row before giving up: only a misbehaving actor loses that many


def micro_time(dt: datetime) -> str:
    """metav1.MicroTime: `2006-01-02T15:04:05.000000Z`, always six fractional digits, always UTC."""
    if dt.tzinfo is None:
        raise ValueError("MicroTime needs an aware datetime")
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ci_url(env: dict[str, str] | None = None) -> str | None:
    """The CI job running this release, when there is one (GitHub Actions, GitLab CI, Jenkins, Buildkite)."""
    env = dict(os.environ) if env is None else env
    if env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY") and env.get("GITHUB_RUN_ID"):
        return f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    for key in ("CI_JOB_URL", "BUILDKITE_BUILD_URL", "BUILD_URL"):
        if env.get(key):
            return env[key]
    return None


def _user(env: dict[str, str]) -> str:
    for key in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER"):
        if env.get(key):
            return env[key]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclasses.dataclass(frozen=True)
class LockHolder:
    identity: str
    user: str
    host: str
    ci_url: str | None
    acquired: datetime
    renewed: datetime
    expires: datetime
    release_id: str | None

    def describe(self, now: datetime | None = None) -> str:
        now = now or utcnow()
        parts = [f"{self.user} on {self.host}"]
        if self.release_id:
            parts.append(f"release {self.release_id}")
        if self.ci_url:
            parts.append(f"CI {self.ci_url}")
        since = int((now - self.acquired).total_seconds())
        left = (self.expires - now).total_seconds()  # not truncated first: 0.4 s past expiry is expired, not "in 0s"
        when = f"since {self.acquired:%Y-%m-%d %H:%M:%S}Z ({since}s ago), " + (
            f"expires in {int(left)}s unless renewed" if left > 0 else f"expired {int(-left)}s ago"
        )
        return ", ".join(parts) + f"; {when}"


class LockHeld(ShipitError):
    exit_code = ExitCode.LOCKED

    def __init__(self, holder: LockHolder, lease: str, namespace: str):
        self.holder = holder
        super().__init__(
            f"another release holds the lock (Lease {lease} in {namespace}): {holder.describe()}. "
            f"Wait for it (--lock-wait 10m), or if that run is dead: shipit unlock --force"
        )


def holder_from_lease(lease: dict) -> LockHolder | None:
    """Who holds a Lease, or None for a released one. Pure."""
    spec = lease.get("spec") or {}
    identity = spec.get("holderIdentity")
    if not identity:
        return None
    ann = (lease.get("metadata") or {}).get("annotations") or {}
    renewed = parse_time(spec.get("renewTime")) or parse_time(lease["metadata"].get("creationTimestamp")) or utcnow()
    acquired = parse_time(spec.get("acquireTime")) or renewed
    duration = spec.get("leaseDurationSeconds") or 0
    return LockHolder(
        identity=identity,
        user=ann.get(ANN_USER, identity),
        host=ann.get(ANN_HOST, ""),
        ci_url=ann.get(ANN_CI) or None,
        acquired=acquired,
        renewed=renewed,
        expires=renewed + timedelta(seconds=duration),
        release_id=ann.get(ANN_RELEASE) or None,
    )


def lease_name(app: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"shipit-{app}".lower()).strip("-")[:63]


class ReleaseLock:
    """The app's release lock; `with ReleaseLock(...)` acquires and releases."""

    def __init__(self, kube: Kube, app: str, *, duration: float, release_id: str | None = None, env: dict[str, str] | None = None):
        env = dict(os.environ) if env is None else env
        self.kube = kube
        self.app = app
        self.name = lease_name(app)
        self.duration = max(1, int(round(duration)))
        self.release_id = release_id
        self.user = _user(env)
        self.host = socket.gethostname()
        self.ci_url = ci_url(env)
        self.identity = f"{self.user}@{self.host}/{uuid.uuid4().hex[:8]}"
        self.lost = threading.Event()  # set when renewal finds someone else holding the lease
        self._lease: dict | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()

    @property
    def _path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.kube.namespace}/leases"

    def _get(self) -> dict | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self.kube.request_json("GET", f"{self._path}/{self.name}", name="read_namespaced_lease")
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def _annotations(self) -> dict[str, str]:
        """Who holds the lease, masked: a CI URL or a host name may carry a token."""
        from shipit.core.redact import redact_value

        ann = {ANN_USER: self.user, ANN_HOST: self.host}
        if self.ci_url:
            ann[ANN_CI] = self.ci_url
        if self.release_id:
            ann[ANN_RELEASE] = self.release_id
        return redact_value(ann)

    def _mine(self, lease: dict, *, transitions: int, acquired: str | None = None) -> dict:
        now = micro_time(utcnow())
        meta = dict(lease.get("metadata") or {})
        ann = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("shipit.dev/")}
        meta["annotations"] = {**ann, **self._annotations()}
        meta["name"] = self.name
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": meta,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.duration,
                "acquireTime": acquired or now,
                "renewTime": now,
                "leaseTransitions": transitions,
            },
        }

    def _try_acquire(self) -> LockHolder | None | object:
        """One attempt: None when acquired, the live holder, or _RETRY after losing a compare-and-swap race."""
        from kubernetes.client.exceptions import ApiException

        lease = self._get()
        try:
            if lease is None:
                meta = {"metadata": {"labels": {"app.kubernetes.io/managed-by": "shipit", "shipit.dev/app": self.app}}}
                try:
                    self._lease = self.kube.request_json("POST", self._path, body=self._mine(meta, transitions=0),
                                                         name="create_namespaced_lease")
                except ApiException as e:
                    if e.status == 404:  # a create answered 404 names a missing namespace, not a race
                        raise BadInput(f"namespace {self.kube.namespace} does not exist in the cluster "
                                       f"(kubernetes.namespace in the configuration)") from None
                    raise
                return None
            holder = holder_from_lease(lease)
            spec = lease.get("spec") or {}
            if holder is not None and holder.identity != self.identity and holder.expires > utcnow():
                return holder
            transitions = spec.get("leaseTransitions") or 0
            mine = holder is not None and holder.identity == self.identity
            if not mine:
                transitions += 1
                if holder is not None:
                    log.warning("taking over an expired release lock", previous=holder.describe())
            body = self._mine(lease, transitions=transitions, acquired=spec.get("acquireTime") if mine else None)
            self._lease = self.kube.request_json("PUT", f"{self._path}/{self.name}", body=body, name="replace_namespaced_lease")
            return None
        except ApiException as e:
            if e.status in (404, 409):  # someone else created, took or deleted it first: look again
                return _RETRY
            raise

    def acquire(self, *, wait: float = 0.0) -> None:
        """Take the lock (or an expired one); wait up to `wait` seconds for a live holder, then raise LockHeld."""
        deadline = time.monotonic() + wait
        races = 0
        while True:
            holder = self._try_acquire()
            if holder is None:
                break
            if holder is _RETRY:
                races += 1
                if races > MAX_RACES:
                    raise ShipitError(f"could not take the release lock {self.kube.namespace}/{self.name}: it changed "
                                      f"under us {races} times in a row")
                time.sleep(0.02 * races)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockHeld(holder, self.name, self.kube.namespace)
            until_expiry = (holder.expires - utcnow()).total_seconds()
            time.sleep(max(0.05, min(remaining, 1.0, until_expiry + 0.01)))
        log.info("release lock acquired", lease=self.name, identity=self.identity)
        self.lost.clear()
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew_loop, name="shipit-lock-renew", daemon=True)
        self._thread.start()

    def renew(self) -> None:
        """Push renewTime forward (compare-and-swap); sets `lost` if someone else holds it now."""
        from kubernetes.client.exceptions import ApiException

        with self._mutex:
            lease = self._lease or self._get()
            for _ in range(3):
                if lease is None:
                    self.lost.set()
                    return
                holder = holder_from_lease(lease)
                if holder is None or holder.identity != self.identity:
                    self.lost.set()
                    log.error("release lock lost", holder=holder.describe() if holder else None)
                    return
                body = self._mine(lease, transitions=(lease.get("spec") or {}).get("leaseTransitions") or 0, acquired=lease["spec"].get("acquireTime"))
                try:
                    self._lease = self.kube.request_json("PUT", f"{self._path}/{self.name}", body=body, name="replace_namespaced_lease")
                    return
                except ApiException as e:
                    if e.status not in (404, 409):
                        raise
                    lease = self._get()

    def _renew_loop(self) -> None:
        interval = self.duration / 3
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception as e:  # noqa: BLE001 - keep trying until the lease would expire
                log.warning("release lock renewal failed", error=str(e)[:200])
            if self.lost.is_set():
                return

    def release(self) -> None:
        """Give the lock up at once (clear the holder) so the next release need not wait for expiry."""
        from kubernetes.client.exceptions import ApiException

        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._mutex:
            # the Lease as this run last wrote it: its resourceVersion makes the write a compare-and-swap, and a
            # Lease changed since then is read again before deciding
            lease, fresh = (self._lease, False) if self._lease is not None else (self._get(), True)
            while True:
                holder = holder_from_lease(lease) if lease else None
                if lease is None or holder is None or holder.identity != self.identity:
                    self._lease = None
                    return
                spec = dict(lease["spec"])
                spec.pop("holderIdentity", None)
                spec.pop("acquireTime", None)
                spec["renewTime"] = micro_time(utcnow())
                meta = dict(lease["metadata"])
                meta["annotations"] = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("shipit.dev/")}
                try:
                    self.kube.request_json("PUT", f"{self._path}/{self.name}", body={**lease, "metadata": meta, "spec": spec}, name="replace_namespaced_lease")
                except ApiException as e:
                    if e.status not in (404, 409):
                        raise
                    if not fresh:
                        lease, fresh = self._get(), True
                        continue
                break
            self._lease = None
        log.info("release lock released", lease=self.name)

    def holder(self) -> LockHolder | None:
        lease = self._get()
        return holder_from_lease(lease) if lease else None

    def force_unlock(self) -> LockHolder | None:
        """Delete the Lease whoever holds it; returns who did."""
        from kubernetes.client.exceptions import ApiException

        lease = self._get()
        if lease is None:
            return None
        try:
            self.kube.request_json("DELETE", f"{self._path}/{self.name}", name="delete_namespaced_lease")
        except ApiException as e:
            if e.status != 404:
                raise
        holder = holder_from_lease(lease)
        log.warning("release lock forcibly removed", previous=holder.describe() if holder else None)
        return holder

    def __enter__(self) -> "ReleaseLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
