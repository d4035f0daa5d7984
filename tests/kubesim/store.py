"""The cluster state: an etcd-like object store with one global resourceVersion, an event log for watches,
and the garbage collector's ownerReference/finalizer semantics. Everything that writes — HTTP handlers and
in-process controllers alike — goes through here, so RV, generation and watch rules apply to all writers.

Stored objects are never mutated after they are committed (writes build new dicts), so readers inside the package
may serialise them without copying; public readers get deep copies."""
from __future__ import annotations

import bisect
import copy
import random
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator

from tests.kubesim import strategy
from tests.kubesim.errors import already_exists, bad_request, conflict, expired, invalid, not_found
from tests.kubesim.errors import namespace_not_found
from tests.kubesim.resources import ALL, EVENTS_V1, JOBS, LEASES, NAMESPACES, PODS, Resource, storage_key
from tests.kubesim.selectors import parse_field_selector, parse_label_selector

_RES_BY_KEY = {storage_key(r): r for r in ALL if r is not EVENTS_V1}
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"

Subscriber = Callable[[str, Resource, dict], None]


@dataclass(frozen=True)
class Change:
    """One committed write, as retained for watches."""
    rv: int
    type: str                 # ADDED | MODIFIED | DELETED
    key: str                  # storage key (both Event APIs share one)
    namespace: str
    obj: dict                 # state after the write (for DELETED: the final state, carrying the new RV)
    prev: dict | None         # state before the write


def format_time(ts: float) -> str:
    """metav1.Time: RFC3339 seconds, UTC, Z."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


class Store:
    def __init__(self, *, history: int = 10000, now: Callable[[], float] = time.time,
                 namespaces: tuple[str, ...] = ()):
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._now = now
        self._rv = 1
        self._objects: dict[str, dict[tuple[str, str], dict]] = {k: {} for k in _RES_BY_KEY}
        self._uids: dict[str, tuple[str, str, str]] = {}            # uid -> (key, namespace, name)
        self._dependents: dict[str, set[str]] = {}                  # owner uid -> dependent uids
        self._log: list[Change] = []
        self._log_rvs: list[int] = []
        self._history = history
        self._floor = 1                                              # watches from RV < floor are too old
        self._subscribers: list[Subscriber] = []
        self._pending: deque[tuple[str, Resource, dict]] = deque()
        self._deliver_lock = threading.Lock()
        self._local = threading.local()
        self.bookmark_interval = 60.0                                # seconds between watch bookmarks
        self.watch_timeout_range = (30.0, 60.0)                      # seconds a watch lasts when the client sends no timeoutSeconds
        for ns in namespaces:
            self.create(NAMESPACES, None, {"metadata": {"name": ns}})

    # -- bookkeeping -----------------------------------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def timestamp(self, offset: float = 0.0) -> str:
        return format_time(self._now() + offset)

    def subscribe(self, callback: Subscriber) -> None:
        """`callback(type, res, obj)` after every committed write, in commit order, outside the store lock."""
        with self._lock:
            self._subscribers.append(callback)

    def expire_history(self) -> None:
        """Fault injection: every RV up to now becomes too old to watch from."""
        with self._lock:
            self._floor = self._rv
            self._log.clear()
            self._log_rvs.clear()
            self._changed.notify_all()

    @contextmanager
    def _writing(self):
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            with self._lock:
                yield
        finally:
            self._local.depth = depth
        if depth == 0:
            self._deliver()

    def _deliver(self) -> None:
        # Whoever holds the delivery lock drains the queue for everyone: writers never block on callbacks, and a
        # callback that writes to the store queues its own events behind the current one.
        while self._pending:
            if not self._deliver_lock.acquire(blocking=False):
                return
            try:
                while self._pending:
                    event_type, res, obj = self._pending.popleft()
                    for cb in list(self._subscribers):
                        cb(event_type, res, copy.deepcopy(obj))
            finally:
                self._deliver_lock.release()

    def _commit(self, event_type: str, res: Resource, ns: str, obj: dict, prev: dict | None) -> dict:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        key = storage_key(res)
        name = obj["metadata"]["name"]
        uid = obj["metadata"].get("uid")
        if event_type == "DELETED":
            self._objects[key].pop((ns, name), None)
            self._uids.pop(uid, None)
        else:
            self._objects[key][(ns, name)] = obj
            self._uids[uid] = (key, ns, name)
        self._index_owners(uid, prev, obj if event_type != "DELETED" else None)
        change = Change(self._rv, event_type, key, ns, obj, prev)
        self._log.append(change)
        self._log_rvs.append(self._rv)
        if len(self._log) > 2 * self._history:
            cut = len(self._log) - self._history
            self._floor = self._log_rvs[cut - 1]
            del self._log[:cut]
            del self._log_rvs[:cut]
        if self._subscribers:
            self._pending.append((event_type, _RES_BY_KEY[key], obj))
        self._changed.notify_all()
        return obj

    def _index_owners(self, uid: str, prev: dict | None, new: dict | None) -> None:
        for ref in _meta(prev or {}).get("ownerReferences") or []:
            self._dependents.get(ref.get("uid"), set()).discard(uid)
        for ref in _meta(new or {}).get("ownerReferences") or []:
            self._dependents.setdefault(ref.get("uid"), set()).add(uid)

    def _lookup_uid(self, uid: str) -> tuple[Resource, dict] | None:
        loc = self._uids.get(uid)
        if loc is None:
            return None
        key, ns, name = loc
        return _RES_BY_KEY[key], self._objects[key][(ns, name)]

    @staticmethod
    def _view(res: Resource, obj: dict) -> dict:
        return strategy.event_to_v1(obj) if res is EVENTS_V1 else obj

    def _require(self, res: Resource, namespace: str | None, name: str) -> dict:
        obj = self._objects[storage_key(res)].get(((namespace or "") if res.namespaced else "", name))
        if obj is None:
            raise not_found(res, name)
        return obj

    # -- reads -----------------------------------------------------------------------------------------------------

    def get(self, res: Resource, namespace: str | None, name: str) -> dict:
        return copy.deepcopy(self.get_shared(res, namespace, name))

    def get_shared(self, res: Resource, namespace: str | None, name: str) -> dict:
        """The stored object itself (never mutate it): for serialising without a copy."""
        with self._lock:
            return self._view(res, self._require(res, namespace, name))

    def list(self, res: Resource, namespace: str | None = None, *, label_selector: str = "",
             field_selector: str = "") -> tuple[list[dict], str]:
        items, rv = self.list_shared(res, namespace, label_selector=label_selector, field_selector=field_selector)
        return copy.deepcopy(items), rv

    def list_shared(self, res: Resource, namespace: str | None = None, *, label_selector: str = "",
                    field_selector: str = "") -> tuple[list[dict], str]:
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(res, field_selector)
        with self._lock:
            bucket = self._objects[storage_key(res)]
            keys = sorted(k for k in bucket if not (namespace and res.namespaced) or k[0] == namespace)
            items = [bucket[k] for k in keys]
            rv = str(self._rv)
        items = [self._view(res, o) for o in items if labels.matches(o) and fields.matches(o)]
        return items, rv

    # -- writes ----------------------------------------------------------------------------------------------------

    def create(self, res: Resource, namespace: str | None, obj: dict, *, dry_run: bool = False) -> dict:
        obj = copy.deepcopy(obj)
        if not isinstance(obj.get("metadata") or {}, dict):
            raise bad_request("metadata must be an object")
        obj["metadata"] = dict(obj.get("metadata") or {})
        if res is EVENTS_V1:
            obj = strategy.event_from_v1(obj)
        meta = obj["metadata"]
        with self._writing():
            ns = self._check_namespace(res, namespace, meta)
            bucket = self._objects[storage_key(res)]
            name = meta.get("name") or ""
            if not name:
                base = meta.get("generateName") or ""
                if not base:
                    raise invalid(res, "", [("metadata.name", "FieldValueRequired",
                                             "Required value: name or generateName is required")])
                name = base[:58] + "".join(random.choice(_NAME_CHARS) for _ in range(5))
                while (ns, name) in bucket:
                    name = base[:58] + "".join(random.choice(_NAME_CHARS) for _ in range(5))
            if (ns, name) in bucket:
                raise already_exists(res, name)
            uid = str(uuid.uuid4())
            for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "managedFields"):
                meta.pop(key, None)
            meta.update(name=name, uid=uid, creationTimestamp=self.timestamp())
            if res.namespaced:
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            if res.has_generation:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            stored_res = _RES_BY_KEY[storage_key(res)]
            obj["kind"], obj["apiVersion"] = stored_res.kind, stored_res.api_version
            strategy.prepare_create(stored_res, obj, uid)
            if dry_run:
                return copy.deepcopy(self._view(res, obj))
            self._commit("ADDED", res, ns, obj, None)
            return copy.deepcopy(self._view(res, obj))

    def _check_namespace(self, res: Resource, namespace: str | None, meta: dict) -> str:
        """The body namespace must agree with the URL, and the namespace must exist."""
        if not res.namespaced:
            return ""
        body_ns = meta.get("namespace")
        ns = namespace or body_ns
        if not ns:
            raise bad_request("the namespace of the object is required")
        if body_ns and body_ns != ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if ("", ns) not in self._objects[storage_key(NAMESPACES)]:
            raise namespace_not_found(ns)
        return ns

    def update(self, res: Resource, namespace: str | None, obj: dict, *, subresource: str | None = None) -> dict:
        """PUT: 409 on a stale resourceVersion; Leases refuse unconditional updates."""
        obj = copy.deepcopy(obj)
        if res is EVENTS_V1:
            obj = strategy.event_from_v1(obj)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name") or ""
        with self._writing():
            old = self._require(res, namespace, name)
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            if not rv and res is LEASES:
                raise invalid(res, name, [("metadata.resourceVersion", "FieldValueInvalid",
                                           "Invalid value: 0x0: must be specified for an update")])
            return copy.deepcopy(self._view(res, self._replace(res, old, obj, subresource)))

    def patch(self, res: Resource, namespace: str | None, name: str, patch_body, content_type: str, *,
              subresource: str | None = None) -> dict:
        from tests.kubesim.patch import apply_patch
        with self._writing():
            old = self._require(res, namespace, name)
            patched = apply_patch(copy.deepcopy(self._view(res, old)), patch_body, content_type)
            if not isinstance(patched, dict):
                raise invalid(res, name, [("", "FieldValueInvalid", "Invalid value: the patched object is not an "
                                                                    "object")])
            rv = _meta(patched).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            patched.setdefault("metadata", {})["name"] = name
            if res is EVENTS_V1:
                patched = strategy.event_from_v1(patched)
            return copy.deepcopy(self._view(res, self._replace(res, old, patched, subresource)))

    def mutate(self, res: Resource, namespace: str | None, name: str, fn: Callable[[dict], None], *,
               subresource: str | None = None) -> dict:
        """Read-modify-write under the lock for controllers: `fn` edits a copy in place; the same rules as update."""
        with self._writing():
            old = self._require(res, namespace, name)
            new = copy.deepcopy(old)
            fn(new)
            return copy.deepcopy(self._view(res, self._replace(res, old, new, subresource)))

    def _replace(self, res: Resource, old: dict, new: dict, subresource: str | None) -> dict:
        stored_res = _RES_BY_KEY[storage_key(res)]
        strategy.prepare_update(stored_res, old, new, subresource)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:                                                   # no-op writes change nothing
            return old
        ns = old["metadata"].get("namespace", "")
        if self._should_delete_during_update(res, old, new):
            return self._finally_remove(res, new)
        self._commit("MODIFIED", res, ns, new, old)
        if new["metadata"].get("deletionTimestamp") and set(new["metadata"].get("finalizers") or []) & \
                {"orphan", "foregroundDeletion"}:
            self._run_gc_finalizers(res, new)
        return self._objects[storage_key(res)].get((ns, new["metadata"]["name"]), new)

    @staticmethod
    def _should_delete_during_update(res: Resource, old: dict, new: dict) -> bool:
        meta = new["metadata"]
        if not meta.get("deletionTimestamp") or meta.get("finalizers") or not old["metadata"].get("finalizers"):
            return False
        if res is PODS:   # a terminating pod still waits for the kubelet's final grace-0 delete
            return meta.get("deletionGracePeriodSeconds") == 0 or \
                (new.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        return True

    def delete(self, res: Resource, namespace: str | None, name: str, *, propagation: str | None = None,
               preconditions: dict | None = None, grace_period_seconds: int | None = None,
               dry_run: bool = False) -> dict:
        """DELETE. Jobs default to Orphan propagation; others to Background.
        Pods bound to a node and not terminal linger with a deletionTimestamp until deleted with grace 0."""
        if propagation not in (None, "Orphan", "Background", "Foreground"):
            raise bad_request(f'Unsupported value: "{propagation}": supported values: "Foreground", "Background", '
                              f'"Orphan"')
        with self._writing():
            old = self._require(res, namespace, name)
            self._check_preconditions(res, old, preconditions or {})
            if dry_run:
                return copy.deepcopy(self._view(res, old))
            return copy.deepcopy(self._view(res, self._delete_locked(res, old, propagation, grace_period_seconds)))

    def _check_preconditions(self, res: Resource, obj: dict, pre: dict) -> None:
        meta = obj["metadata"]
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise conflict(res, meta["name"], f"Precondition failed: UID in precondition: {pre['uid']}, "
                                              f"UID in object meta: {meta.get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise conflict(res, meta["name"], f"Precondition failed: ResourceVersion in precondition: "
                                              f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                              f"{meta.get('resourceVersion')}")

    def _delete_locked(self, res: Resource, old: dict, propagation: str | None, grace: int | None) -> dict:
        policy = propagation or ("Orphan" if res is JOBS else "Background")
        meta = old["metadata"]
        ns = meta.get("namespace", "")
        new = copy.deepcopy(old)
        new_meta = new["metadata"]
        if res is NAMESPACES:
            self._empty_namespace(meta["name"])
        if res is PODS:
            if grace is None:
                grace = (old.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            bound = bool((old.get("spec") or {}).get("nodeName"))
            terminal = (old.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if not bound or terminal:
                grace = 0
            current = meta.get("deletionGracePeriodSeconds")
            if grace > 0:
                if current is not None and current <= grace:
                    return old                                    # already terminating at least this fast
                new_meta["deletionTimestamp"] = self.timestamp(grace)
                new_meta["deletionGracePeriodSeconds"] = grace
                self._commit("MODIFIED", res, ns, new, old)
                return new
            if meta.get("deletionTimestamp"):
                new_meta["deletionTimestamp"] = self.timestamp()
                new_meta["deletionGracePeriodSeconds"] = 0
        finalizers = list(new_meta.get("finalizers") or [])
        gc_finalizer = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(policy)
        if gc_finalizer and gc_finalizer not in finalizers and self._dependents.get(meta.get("uid")):
            finalizers.append(gc_finalizer)
        if not finalizers:
            return self._finally_remove(res, new)
        new_meta["finalizers"] = finalizers
        new_meta.setdefault("deletionTimestamp", self.timestamp())
        new_meta.setdefault("deletionGracePeriodSeconds", 0)
        if new != old:
            self._commit("MODIFIED", res, ns, new, old)
        self._run_gc_finalizers(res, new)
        return self._objects[storage_key(res)].get((ns, meta["name"]), new)

    def _finally_remove(self, res: Resource, obj: dict) -> dict:
        """Remove for good (DELETED with a fresh RV), then collect what depended on it (Background propagation)."""
        final = copy.deepcopy(obj)
        meta = final["metadata"]
        self._commit("DELETED", res, meta.get("namespace", ""), final, obj)
        uid = meta.get("uid")
        for dep_uid in sorted(self._dependents.pop(uid, set())):
            found = self._lookup_uid(dep_uid)
            if found is None:
                continue
            dep_res, dep = found
            owners = [r.get("uid") for r in _meta(dep).get("ownerReferences") or []]
            if all(self._lookup_uid(o) is None for o in owners) and not _meta(dep).get("deletionTimestamp"):
                self._delete_locked(dep_res, dep, "Background", None)
        for ref in meta.get("ownerReferences") or []:                  # a foreground owner may now be free to go
            owner = self._lookup_uid(ref.get("uid"))
            if owner and "foregroundDeletion" in (_meta(owner[1]).get("finalizers") or []):
                self._run_gc_finalizers(*owner)
        return final

    def _run_gc_finalizers(self, res: Resource, owner: dict) -> None:
        """The garbage collector's side of the orphan and foregroundDeletion finalizers."""
        meta = owner["metadata"]
        uid, ns, name = meta["uid"], meta.get("namespace", ""), meta["name"]
        finalizers = meta.get("finalizers") or []
        dependents = [d for d in (self._lookup_uid(u) for u in sorted(self._dependents.get(uid, set()))) if d]
        if "orphan" in finalizers:
            for dep_res, dep in dependents:
                self._strip_owner(dep_res, dep, uid)
            self._remove_finalizer(res, ns, name, "orphan")
        elif "foregroundDeletion" in finalizers:
            for dep_res, dep in dependents:
                if not _meta(dep).get("deletionTimestamp"):
                    self._delete_locked(dep_res, dep, "Foreground", None)
            blocking = [d for d in (self._lookup_uid(u) for u in self._dependents.get(uid, set())) if d and any(
                r.get("uid") == uid and r.get("blockOwnerDeletion") for r in _meta(d[1]).get("ownerReferences") or [])]
            if not blocking:
                self._remove_finalizer(res, ns, name, "foregroundDeletion")

    def _strip_owner(self, res: Resource, dep: dict, owner_uid: str) -> None:
        new = copy.deepcopy(dep)
        refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self._replace(res, dep, new, None)

    def _remove_finalizer(self, res: Resource, ns: str, name: str, finalizer: str) -> None:
        current = self._objects[storage_key(res)].get((ns, name))
        if current is None or finalizer not in (current["metadata"].get("finalizers") or []):
            return
        new = copy.deepcopy(current)
        remaining = [f for f in new["metadata"]["finalizers"] if f != finalizer]
        if remaining:
            new["metadata"]["finalizers"] = remaining
        else:
            new["metadata"].pop("finalizers")
        self._replace(res, current, new, None)

    def _empty_namespace(self, namespace: str) -> None:
        """Simplified namespace controller: deleting a namespace deletes everything in it at once."""
        for key, bucket in self._objects.items():
            res = _RES_BY_KEY[key]
            for (ns, _name), obj in sorted(bucket.items()):
                if ns == namespace and (ns, _name) in bucket:
                    self._delete_locked(res, obj, "Background", 0)

    # -- watch -----------------------------------------------------------------------------------------------------

    def watch(self, res: Resource, namespace: str | None, *, resource_version: str | None,
              label_selector: str = "", field_selector: str = "", timeout: float | None, bookmarks: bool,
              stop: Callable[[], bool] | None = None) -> Iterator[dict]:
        """Selectors are checked now (a bad one is a plain 400); a too-old RV raises ApiError(410, Expired) from the
        first `next()`, which the server turns into an ERROR event."""
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(res, field_selector)
        if resource_version not in (None, "", "0"):
            try:
                int(resource_version)
            except ValueError:
                raise bad_request(f'resourceVersion: Invalid value: "{resource_version}": must be an integer') \
                    from None
        if timeout is None:
            timeout = random.uniform(*self.watch_timeout_range)
        return self._watch(res, namespace if res.namespaced else None, resource_version,
                           lambda o: labels.matches(o) and fields.matches(o), timeout, bookmarks, stop)

    def _watch(self, res: Resource, namespace: str | None, resource_version: str | None,
               matches: Callable[[dict], bool], timeout: float, bookmarks: bool,
               stop: Callable[[], bool] | None) -> Iterator[dict]:
        key = storage_key(res)
        start = time.monotonic()
        deadline = start + timeout
        # One bookmark per interval, and one about 2 s before the deadline.
        next_bookmark = start + self.bookmark_interval if bookmarks else float("inf")
        last_bookmark = deadline - 2.0 if bookmarks and deadline - 2.0 > start else float("inf")
        with self._lock:
            if resource_version in (None, "", "0"):
                bucket = self._objects[key]
                initial = [bucket[k] for k in sorted(bucket) if not namespace or k[0] == namespace]
                initial = [o for o in initial if matches(o)]
                pos = self._rv
            else:
                pos = int(resource_version)
                initial = []
                if pos < self._floor:
                    raise expired(f"too old resource version: {pos} ({self._floor})")
        for obj in initial:
            yield {"type": "ADDED", "object": self._view(res, obj)}
        while True:
            now = time.monotonic()
            if now >= deadline or (stop and stop()):
                return
            if now >= min(next_bookmark, last_bookmark):
                if now >= last_bookmark:
                    last_bookmark = float("inf")
                else:
                    next_bookmark = now + self.bookmark_interval
                yield {"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                                      "metadata": {"resourceVersion": str(pos)}}}
                continue
            with self._lock:
                if pos < self._floor:
                    raise expired(f"too old resource version: {pos} ({self._floor})")
                if self._rv == pos:
                    wake = min(deadline, next_bookmark, last_bookmark) - now
                    self._changed.wait(min(wake, 0.25))
                start_index = bisect.bisect_right(self._log_rvs, pos)
                changes = self._log[start_index:]
                if self._rv > pos:
                    pos = self._rv
            for change in changes:
                if change.key != key or (namespace and change.namespace != namespace):
                    continue
                event = self._watch_event(change, matches)
                if event:
                    yield {"type": event[0], "object": self._view(res, event[1])}

    @staticmethod
    def _watch_event(change: Change, matches: Callable[[dict], bool]) -> tuple[str, dict] | None:
        """Selector transitions per event."""
        if change.type == "DELETED":
            return ("DELETED", change.obj) if matches(change.obj) else None
        now_matches = matches(change.obj)
        if change.type == "ADDED":
            return ("ADDED", change.obj) if now_matches else None
        before = change.prev is not None and matches(change.prev)
        if now_matches:
            return ("MODIFIED" if before else "ADDED", change.obj)
        if before:
            gone = copy.deepcopy(change.prev)
            gone["metadata"]["resourceVersion"] = str(change.rv)
            return "DELETED", gone
        return None

