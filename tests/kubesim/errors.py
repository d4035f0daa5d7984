"""API errors as metav1 Status objects."""
from __future__ import annotations

from typing import Any

from tests.kubesim.resources import Resource


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, *, details: dict | None = None,
                 retry_after: int | None = None, warnings: tuple[str, ...] = ()):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after = retry_after
        self.warnings = warnings

    def to_status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.status
        return body


def _details(res: Resource, name: str) -> dict:
    d: dict[str, Any] = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.plural
    return d


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', details=_details(res, name))


def namespace_not_found(namespace: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                    details={"name": namespace, "kind": "namespaces"})


def already_exists(res: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists', details=_details(res, name))


def conflict(res: Resource, name: str, msg: str = "the object has been modified; please apply your changes "
             "to the latest version and try again") -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": {msg}',
                    details=_details(res, name))


def invalid(res: Resource, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """causes: (field, cause type e.g. FieldValueRequired, message after the field), as the API server words them."""
    text = ", ".join(f"{field}: {msg}" for field, _t, msg in causes)
    if len(causes) > 1:
        text = f"[{text}]"
    details: dict[str, Any] = {"name": name}
    if res.group:
        details["group"] = res.group
    details["kind"] = res.kind
    details["causes"] = [{"reason": t, "message": msg, "field": field} for field, t, msg in causes]
    return ApiError(422, "Invalid", f'{res.kind}{"." + res.group if res.group else ""} "{name}" is invalid: {text}',
                    details=details)


def bad_request(msg: str) -> ApiError:
    return ApiError(400, "BadRequest", msg)


def gone(msg: str) -> ApiError:
    return ApiError(410, "Gone", msg)


def expired(msg: str) -> ApiError:
    return ApiError(410, "Expired", msg)


def method_not_allowed(msg: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", msg, details={})


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                    f"accepted media types include: application/json-patch+json, application/merge-patch+json, "
                    f"application/apply-patch+yaml, application/strategic-merge-patch+json; got {content_type!r}")


def path_not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", details={})


def internal(msg: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {msg}", details={"causes": [{"message": msg}]})
