"""Kubernetes `Status` answers (meta/v1 Status), shaped as the API server sends them.

Messages follow k8s.io/apimachinery/pkg/api/errors (NewNotFound, NewConflict, NewForbidden,
NewInvalid, NewBadRequest, NewUnauthorized, NewMethodNotSupported, NewInternalError), so a
client's error handling meets the text it would meet in a cluster.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..loopback import Reply


@dataclass(frozen=True)
class Cause:
    """One field error of a 422 Invalid answer (metav1.StatusCause)."""

    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueTypeInvalid, FieldValueNotSupported…
    message: str
    field: str

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> Reply:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return Reply(code, body)


def resource_name(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> Reply:
    return status(404, "NotFound", f'{resource_name(plural, group)} "{name}" not found',
                  {"name": name, "group": group, "kind": plural})


def conflict(plural: str, group: str, name: str) -> Reply:
    return status(409, "Conflict",
                  f'Operation cannot be fulfilled on {resource_name(plural, group)} "{name}": the object has been '
                  "modified; please apply your changes to the latest version and try again",
                  {"name": name, "group": group, "kind": plural})


def already_exists(plural: str, group: str, name: str) -> Reply:
    return status(409, "AlreadyExists", f'{resource_name(plural, group)} "{name}" already exists',
                  {"name": name, "group": group, "kind": plural})


def forbidden(user: str, verb: str, plural: str, group: str, namespace: str | None, name: str | None) -> Reply:
    what = f'{resource_name(plural, group)} "{name}"' if name else resource_name(plural, group)
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = (f'{what} is forbidden: User "{user}" cannot {verb} resource "{plural}" in API group "{group}"{scope}')
    return status(403, "Forbidden", message, {"name": name or "", "group": group, "kind": plural})


def unauthorized() -> Reply:
    return status(401, "Unauthorized", "Unauthorized")


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> Reply:
    summary = ", ".join(cause.message if cause.message.startswith(cause.field) else f"{cause.field}: {cause.message}"
                        for cause in causes)
    return status(422, "Invalid", f'{kind}.{group} "{name}" is invalid: [{summary}]' if len(causes) > 1
                  else f'{kind}.{group} "{name}" is invalid: {summary}',
                  {"name": name, "group": group, "kind": kind, "causes": [c.as_dict() for c in causes]})


def bad_request(message: str) -> Reply:
    return status(400, "BadRequest", message)


def unsupported_media_type(content_type: str) -> Reply:
    return status(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types "
                  f"include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml "
                  f"(got {content_type or 'none'})")


def method_not_supported(plural: str, group: str, verb: str) -> Reply:
    return status(405, "MethodNotAllowed", f"{verb} is not supported on resources of kind \"{resource_name(plural, group)}\"")


def internal_error(message: str) -> Reply:
    return status(500, "InternalError", f"Internal error occurred: {message}")


def too_many_requests(retry_after: int) -> Reply:
    reply = status(429, "TooManyRequests", "Too many requests, please try again later.",
                   {"retryAfterSeconds": retry_after})
    reply.headers["Retry-After"] = str(retry_after)
    return reply


def service_unavailable(message: str = "the server is currently unable to handle the request") -> Reply:
    return status(503, "ServiceUnavailable", message)
