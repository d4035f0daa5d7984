"""The HTTP face of kubesim: Kubernetes REST routing over the Store, watch and log streaming, discovery, OpenAPI and
the fault endpoint. HTTP/1.1 with keep-alive; every response body is JSON except pod logs."""
from __future__ import annotations

import base64
import json
import select
import socket
import sys
import threading
import time
import traceback
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.kubesim import discovery, openapi, strategy, tables
from tests.kubesim.errors import (ApiError, bad_request, conflict, internal, invalid, method_not_allowed,
                                  path_not_found)
from tests.kubesim.faults import Faults
from tests.kubesim.patch import APPLY, CONTENT_TYPES, apply_patch, media_type
from tests.kubesim.resources import JOBS, PODS, Resource, by_path
from tests.kubesim.store import Store

BINARY_BODIES = ("application/vnd.kubernetes.protobuf", "application/cbor")
JOB_ORPHAN_WARNING = ("child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
                      "to remove them or set propagationPolicy=Orphan to suppress this warning")


def parse_bool(value: str | None) -> bool:
    """Kubernetes query booleans: absent, "false" or "0" (any case) are false; anything else is true."""
    return value is not None and value.lower() not in ("false", "0")


def _int(query: dict, key: str) -> int | None:
    value = query.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'{key}: Invalid value: "{value}": must be an integer') from None


def selector_string(selector: dict | None) -> str:
    """A LabelSelector as the string form Scale.status.selector and kubectl use."""
    selector = selector or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        op = e["operator"]
        if op in ("In", "NotIn"):
            terms.append(f"{e['key']} {op.lower()} ({','.join(sorted(e.get('values') or []))})")
        else:
            terms.append(e["key"] if op == "Exists" else f"!{e['key']}")
    return ",".join(terms)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    kubesim: "KubeSimServer"

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return                                  # a client that went away (kubectl -f interrupted) is normal
        super().handle_error(request, client_address)


class KubeSimServer:
    def __init__(self, store: Store, *, logs=None, k8s_version: str = "1.33", host: str = "127.0.0.1",
                 port: int = 0, faults: Faults | None = None, aggregated_discovery: bool = False,
                 openapi: bool = True):
        self.store = store
        self.logs = logs
        self.k8s_version = k8s_version
        self.faults = faults if faults is not None else Faults(store)
        if self.faults.store is None:
            self.faults.store = store
        self.aggregated_discovery = aggregated_discovery
        self.minor = int(k8s_version.split(".")[1])
        self.openapi = openapi
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.kubesim = self
        self.host = host
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="kubesim-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread:
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()
        with self._conn_lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubesim"
    sys_version = ""
    timeout = 120                          # idle keep-alive connections are closed eventually
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.kubesim._track(self.connection, True)

    def finish(self) -> None:
        self.server.kubesim._track(self.connection, False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing --------------------------------------------------------------------------------------------------

    @property
    def sim(self) -> KubeSimServer:
        return self.server.kubesim

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        self._streaming = False
        self._warnings: list[str] = []
        try:
            body = self._read_body()
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            path = url.path.rstrip("/") or "/"
            if path == "/kubesim/faults":
                return self._faults_endpoint(method, body)
            fault = self.sim.faults.take_request_fault(method, self.path)
            if fault is not None:
                raise fault
            self._route(method, path, query, body)
        except ApiError as e:
            self._send_error(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:                                  # a kubesim bug: say so loudly, answer 500
            traceback.print_exc(file=sys.stderr)
            self._send_error(internal(repr(e)))

    def _send_bytes(self, status: int, data: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for warning in self._warnings:
            self.send_header("Warning", f'299 - "{warning}"')
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, status: int, obj: Any, content_type: str = "application/json",
                   headers: dict | None = None) -> None:
        self._send_bytes(status, json.dumps(obj, separators=(",", ":")).encode(), content_type, headers)

    def _send_error(self, err: ApiError) -> None:
        if self._streaming:
            self.close_connection = True
            return
        headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
        self._warnings.extend(err.warnings)
        try:
            self._send_json(err.status, err.to_status(), headers=headers)
        except OSError:
            self.close_connection = True

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self._streaming = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _json_body(self, body: bytes) -> Any:
        if body and media_type(self.headers.get("Content-Type")) in BINARY_BODIES:
            # kubectl 1.33's typed clients send protobuf bodies; kubesim decodes JSON only.
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json, application/yaml")
        try:
            return json.loads(body or b"null")
        except ValueError as e:
            raise bad_request(f"couldn't get version/kind; json parse error: {e}") from None

    # -- routing ---------------------------------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict, body: bytes) -> None:
        sim = self.sim
        accept = self.headers.get("Accept")
        if path in ("/healthz", "/readyz", "/livez"):
            return self._send_bytes(200, b"ok", "text/plain; charset=utf-8")
        if method == "GET" and path == "/version":
            return self._send_json(200, discovery.version(sim.k8s_version))
        if method == "GET" and path in ("/api", "/apis"):
            if sim.aggregated_discovery and discovery.wants_aggregated(accept):
                return self._send_json(200, discovery.aggregated(core=path == "/api"), discovery.AGGREGATED_V2)
            if path == "/api":
                return self._send_json(200, discovery.api_versions(f"{sim.host}:{sim.port}"))
            return self._send_json(200, discovery.api_group_list())
        if method == "GET" and path.startswith("/openapi/"):
            return self._openapi(path)
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        elif parts[0] == "apis" and len(parts) == 2 and method == "GET":
            doc = discovery.api_group(parts[1])
            if doc is None:
                raise path_not_found(path)
            return self._send_json(200, doc)
        else:
            raise path_not_found(path)
        if not rest:
            doc = discovery.resource_list(group, version) if method == "GET" else None
            if doc is None:
                raise path_not_found(path)
            return self._send_json(200, doc)
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and by_path(group, version, rest[2]) is not None:
            namespace, rest = rest[1], rest[2:]
        res = by_path(group, version, rest[0])
        if res is None or len(rest) > 3 or (namespace is not None and not res.namespaced) or \
                (res.namespaced and namespace is None and len(rest) > 1):
            raise path_not_found(path)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and res.subresource(sub) is None:
            raise path_not_found(path)
        if name is None:
            return self._collection(method, res, namespace, query, body)
        return self._item(method, res, namespace, name, sub, query, body)

    def _openapi(self, path: str) -> None:
        sim = self.sim
        if not sim.openapi or not path.startswith("/openapi/v3"):
            raise path_not_found(path)
        if path == "/openapi/v3":
            return self._send_json(200, openapi.index(sim.k8s_version))
        parts = path[len("/openapi/v3/"):].split("/")
        doc = None
        if parts[0] == "api" and len(parts) == 2:
            doc = openapi.group_version_doc("", parts[1], sim.k8s_version)
        elif parts[0] == "apis" and len(parts) == 3:
            doc = openapi.group_version_doc(parts[1], parts[2], sim.k8s_version)
        if doc is None:
            raise path_not_found(path)
        self._send_json(200, doc)

    def _faults_endpoint(self, method: str, body: bytes) -> None:
        if method == "POST":
            spec = self._json_body(body)
            if not isinstance(spec, dict):
                raise bad_request("a fault is a JSON object")
            self.sim.faults.apply(spec)
        elif method == "DELETE":
            self.sim.faults.clear()
        else:
            raise method_not_allowed()
        self._send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 200})

    # -- collections -----------------------------------------------------------------------------------------------

    def _collection(self, method: str, res: Resource, namespace: str | None, query: dict, body: bytes) -> None:
        store = self.sim.store
        if method == "GET":
            if parse_bool(query.get("watch")):
                return self._watch(res, namespace, query)
            return self._list(res, namespace, query)
        if method == "POST":
            if res.namespaced and namespace is None:
                raise method_not_allowed()
            obj = self._json_body(body)
            if not isinstance(obj, dict):
                raise bad_request("the body of the request must be a JSON object")
            strategy.check_body_kind(res, obj)
            created = store.create(res, namespace, obj, dry_run=query.get("dryRun") == "All")
            return self._send_json(201, created)
        if method == "DELETE":
            items, _ = store.list_shared(res, namespace, label_selector=query.get("labelSelector", ""),
                                         field_selector=query.get("fieldSelector", ""))
            opts = self._delete_options(query, body)
            deleted = []
            for obj in items:
                meta = obj["metadata"]
                try:
                    deleted.append(store.delete(res, meta.get("namespace"), meta["name"], **opts))
                except ApiError as e:
                    if e.status != 404:
                        raise
            return self._send_json(200, {"kind": res.list_kind, "apiVersion": res.api_version,
                                         "metadata": {"resourceVersion": store.resource_version}, "items": deleted})
        raise method_not_allowed()

    def _list(self, res: Resource, namespace: str | None, query: dict) -> None:
        """The list shape; `limit`/`continue` over the name-ordered result."""
        items, rv = self.sim.store.list_shared(res, namespace, label_selector=query.get("labelSelector", ""),
                                               field_selector=query.get("fieldSelector", ""))
        meta: dict[str, Any] = {"resourceVersion": rv}
        token = query.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                after = tuple(state["after"])
                meta["resourceVersion"] = rv = state["rv"]
            except (ValueError, KeyError, TypeError):
                raise bad_request("continue key is not valid: incorrect encoded start resourceVersion") from None
            items = [o for o in items if _key(o) > after]
        limit = _int(query, "limit")
        if limit and limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": rv, "after": list(_key(items[-1]))}).encode()).decode()
            meta["remainingItemCount"] = rest
        if tables.wants_table(self.headers.get("Accept")):
            return self._send_json(200, tables.table(res, items, now=time.time(), minor=self.sim.minor,
                                                     list_meta=meta))
        self._send_json(200, {"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta,
                              "items": items})

    def _watch(self, res: Resource, namespace: str | None, query: dict) -> None:
        """Chunked stream of one JSON event per line; a too-old RV becomes an ERROR event."""
        sim = self.sim
        drop_after = sim.faults.take_watch_drop()
        started = time.monotonic()

        def stop() -> bool:
            return sim.stopping.is_set() or (drop_after is not None and time.monotonic() - started >= drop_after) \
                or self._client_gone()
        timeout = _int(query, "timeoutSeconds")
        events = sim.store.watch(res, namespace, resource_version=query.get("resourceVersion"),
                                 label_selector=query.get("labelSelector", ""),
                                 field_selector=query.get("fieldSelector", ""),
                                 timeout=float(timeout) if timeout else None,
                                 bookmarks=parse_bool(query.get("allowWatchBookmarks")), stop=stop)
        as_table = tables.wants_table(self.headers.get("Accept"))
        self._start_stream("application/json")
        try:
            for event in events:
                if stop():
                    break
                if as_table and event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    event = {"type": event["type"], "object": tables.table(
                        res, [event["object"]], now=time.time(), minor=sim.minor,
                        list_meta={"resourceVersion": event["object"]["metadata"].get("resourceVersion", "")})}
                self._chunk(json.dumps(event, separators=(",", ":")).encode() + b"\n")
        except ApiError as e:
            self._chunk(json.dumps({"type": "ERROR", "object": e.to_status()}, separators=(",", ":")).encode()
                        + b"\n")
        if drop_after is not None or sim.stopping.is_set():
            self.close_connection = True
        self._end_stream()

    # -- single objects --------------------------------------------------------------------------------------------

    def _item(self, method: str, res: Resource, namespace: str | None, name: str, sub: str | None, query: dict,
              body: bytes) -> None:
        store = self.sim.store
        if sub == "log" and method == "GET":
            return self._log(namespace, name, query)
        if sub == "scale":
            return self._scale(method, res, namespace, name, body)
        if sub not in (None, "status"):
            raise method_not_allowed()
        if method == "GET":
            obj = store.get_shared(res, namespace, name)
            if sub is None and tables.wants_table(self.headers.get("Accept")):
                return self._send_json(200, tables.table(res, [obj], now=time.time(), minor=self.sim.minor,
                                                         list_meta={"resourceVersion": obj["metadata"].get(
                                                             "resourceVersion", "")}))
            return self._send_json(200, obj)
        if method == "PUT":
            obj = self._json_body(body)
            if not isinstance(obj, dict):
                raise bad_request("the body of the request must be a JSON object")
            strategy.check_body_kind(res, obj)
            body_name = (obj.get("metadata") or {}).get("name")
            if body_name and body_name != name:
                raise bad_request(f"the name of the object ({body_name}) does not match the name on the URL ({name})")
            obj.setdefault("metadata", {})["name"] = name
            return self._send_json(200, store.update(res, namespace, obj, subresource=sub))
        if method == "PATCH":
            content_type = media_type(self.headers.get("Content-Type"))
            if content_type not in CONTENT_TYPES:
                raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                               f"accepted media types include: {', '.join(CONTENT_TYPES)}")
            if content_type == APPLY:
                if not query.get("fieldManager"):
                    raise bad_request("PATCH requests with apply-patch content type must specify fieldManager")
                try:
                    store.get_shared(res, namespace, name)
                except ApiError as e:
                    if e.status != 404 or sub:
                        raise
                    obj = apply_patch({}, body, content_type)
                    obj.setdefault("metadata", {})["name"] = name
                    return self._send_json(201, store.create(res, namespace, obj))
            return self._send_json(200, store.patch(res, namespace, name, body, content_type, subresource=sub))
        if method == "DELETE":
            opts = self._delete_options(query, body)
            if res is JOBS and opts["propagation"] is None:
                self._warnings.append(JOB_ORPHAN_WARNING)                      # a Job deleted without propagation orphans its pods
            return self._send_json(200, store.delete(res, namespace, name, **opts))
        raise method_not_allowed()

    def _delete_options(self, query: dict, body: bytes) -> dict:
        """DeleteOptions from the JSON body or from query parameters."""
        opts = self._json_body(body) if body.strip() else {}
        if not isinstance(opts, dict):
            raise bad_request("DeleteOptions must be a JSON object")
        propagation = opts.get("propagationPolicy") or query.get("propagationPolicy")
        orphan = opts.get("orphanDependents")
        if orphan is None and "orphanDependents" in query:
            orphan = parse_bool(query["orphanDependents"])
        if propagation is None and orphan is not None:
            propagation = "Orphan" if orphan else "Background"
        grace = opts.get("gracePeriodSeconds")
        if grace is None:
            grace = _int(query, "gracePeriodSeconds")
        dry_run = opts.get("dryRun") or ([query["dryRun"]] if query.get("dryRun") else [])
        return {"propagation": propagation, "preconditions": opts.get("preconditions"),
                "grace_period_seconds": grace, "dry_run": "All" in dry_run}

    def _scale(self, method: str, res: Resource, namespace: str | None, name: str, body: bytes) -> None:
        """/scale speaks autoscaling/v1 Scale, never the workload itself."""
        store = self.sim.store
        if method == "GET":
            return self._send_json(200, _scale_of(store.get_shared(res, namespace, name)))
        if method not in ("PUT", "PATCH"):
            raise method_not_allowed()
        content_type = media_type(self.headers.get("Content-Type"))
        if method == "PUT":
            scale = self._json_body(body)
            if not isinstance(scale, dict):
                raise bad_request("the body of the request must be a JSON object")
            strategy.check_body_kind(res, scale, "scale")
        elif content_type not in CONTENT_TYPES:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format")

        def set_replicas(obj: dict) -> None:
            current = _scale_of(obj)
            new = scale if method == "PUT" else apply_patch(current, body, content_type)
            rv = (new.get("metadata") or {}).get("resourceVersion")
            if rv and rv != obj["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            replicas = (new.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise invalid(res, name, [("spec.replicas", "FieldValueInvalid",
                                           f"Invalid value: {replicas}: must be greater than or equal to 0")])
            obj["spec"]["replicas"] = replicas
        updated = store.mutate(res, namespace, name, set_replicas)
        self._send_json(200, _scale_of(updated))

    def _log(self, namespace: str | None, name: str, query: dict) -> None:
        """Container selection and state checks against the pod, then lines from PodLogs."""
        sim = self.sim
        pod = sim.store.get_shared(PODS, namespace, name)
        container, previous_instance = _log_source(pod, query.get("container") or "",
                                                   parse_bool(query.get("previous")), sim.logs, namespace)
        tail = _int(query, "tailLines")
        since = _int(query, "sinceSeconds")
        limit = _int(query, "limitBytes")
        if query.get("sinceSeconds") and query.get("sinceTime"):
            raise ApiError(422, "Invalid", "at most one of `sinceTime` or `sinceSeconds` may be specified")
        if since is None and query.get("sinceTime"):
            try:
                t = datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise bad_request(f'sinceTime: Invalid value: "{query["sinceTime"]}"') from None
            since = max(0, int(time.time() - t))
        if tail is not None and tail < 0:
            raise ApiError(422, "Invalid", f"tailLines: Invalid value: {tail}: must be greater than or equal to 0")
        opts = {"previous": previous_instance, "tail_lines": tail, "since_seconds": since,
                "timestamps": parse_bool(query.get("timestamps"))}
        if container is None or sim.logs is None:                               # pod not bound yet
            return self._send_bytes(200, b"", "text/plain")
        if not parse_bool(query.get("follow")):
            text = "".join(line + "\n" for line in sim.logs.read(namespace, name, container, **opts)).encode()
            return self._send_bytes(200, text[:limit] if limit else text, "text/plain")
        self._start_stream("text/plain")
        sent = 0

        def stop() -> bool:
            return sim.stopping.is_set() or self._client_gone() or bool(limit and sent >= limit)
        for line in sim.logs.follow(namespace, name, container, stop=stop, **opts):
            data = (line + "\n").encode()
            if limit:
                data = data[:max(0, limit - sent)]
            if data:
                self._chunk(data)
                sent += len(data)
        self._end_stream()


def _key(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


def _scale_of(obj: dict) -> dict:
    meta = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": selector_string((obj.get("spec") or {}).get("selector"))}}


def _log_source(pod: dict, container: str, previous: bool, logs, namespace: str | None) -> tuple[str | None, bool]:
    """Which container and which instance (current or previous in PodLogs terms) a log request reads.
    Returns container None for a pod with no node yet (empty 200)."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    init_names = [c["name"] for c in spec.get("initContainers") or []]
    if not container:
        if len(names) != 1:
            msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
            if init_names:
                msg += f" or one of the init containers: [{' '.join(init_names)}]"
            raise bad_request(msg)
        container = names[0]
    elif container not in names + init_names:
        raise bad_request(f"container {container} is not valid for pod {name}")
    if not spec.get("nodeName"):
        return None, False
    status = pod.get("status") or {}
    statuses = (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    cs = next((s for s in statuses if s.get("name") == container), None)
    if cs is None:
        raise bad_request(f'container "{container}" in pod "{name}" is not available')
    state = cs.get("state") or {}
    last = (cs.get("lastState") or {}).get("terminated")
    # PodLogs rotates when a container restarts: until then the instance that just died is still "current".
    current_finished = logs is None or logs.is_finished(namespace, name, container)
    if previous:
        if not last or not last.get("containerID"):
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        return container, bool("terminated" in state or not current_finished or "running" in state)
    if "running" in state:
        return container, False
    if "terminated" in state:
        if not state["terminated"].get("containerID"):
            raise bad_request(f'container "{container}" in pod "{name}" is terminated')
        return container, False
    if last:
        return container, not current_finished
    reason = (state.get("waiting") or {}).get("reason")
    if reason == "ErrImagePull":
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: image can\'t be pulled')
    if reason == "ImagePullBackOff":
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: trying and failing to '
                          f'pull image')
    if reason:
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    raise bad_request(f'container "{container}" in pod "{name}" is waiting to start - no logs yet')

