"""Google API errors as Vertex AI sends them over REST: the `google.rpc.Status` envelope.

    {"error": {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED",
               "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]}}

`code` is the HTTP status; `status` the canonical code's name. Inside a resource (a job's
`error`, an operation's `error`) a Status carries the canonical code's number instead.
"""
from __future__ import annotations

from typing import Any

from tests.fakes.loopback import Reply

# canonical code name -> (HTTP status, google.rpc.Code number), from google/rpc/code.proto
CODES = {
    "CANCELLED": (499, 1), "UNKNOWN": (500, 2), "INVALID_ARGUMENT": (400, 3), "DEADLINE_EXCEEDED": (504, 4),
    "NOT_FOUND": (404, 5), "ALREADY_EXISTS": (409, 6), "PERMISSION_DENIED": (403, 7),
    "RESOURCE_EXHAUSTED": (429, 8), "FAILED_PRECONDITION": (400, 9), "ABORTED": (409, 10),
    "OUT_OF_RANGE": (400, 11), "UNIMPLEMENTED": (501, 12), "INTERNAL": (500, 13), "UNAVAILABLE": (503, 14),
    "DATA_LOSS": (500, 15), "UNAUTHENTICATED": (401, 16),
}
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
DOMAIN = "aiplatform.googleapis.com"


class VertexError(Exception):
    """An error answer; handlers raise it, the server sends `reply()`."""

    def __init__(self, status: str, message: str, *details: dict[str, Any]) -> None:
        if status not in CODES:
            raise ValueError(f"unknown canonical code {status!r}")
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.details = status, message, list(details)

    @property
    def http_status(self) -> int:
        return CODES[self.status][0]

    def reply(self) -> Reply:
        error: dict[str, Any] = {"code": self.http_status, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return Reply(self.http_status, {"error": error})

    def rpc_status(self) -> dict[str, Any]:
        """As a resource's `error` field (GoogleRpcStatus)."""
        return {"code": CODES[self.status][1], "message": self.message}


def retry_info(seconds: float) -> dict[str, Any]:
    return {"@type": RETRY_INFO, "retryDelay": f"{seconds:g}s"}


def error_info(reason: str, **metadata: str) -> dict[str, Any]:
    return {"@type": ERROR_INFO, "reason": reason, "domain": DOMAIN, "metadata": metadata}


def rate_limited(seconds: float = 1.0) -> VertexError:
    return VertexError("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", retry_info(seconds))


def quota_exceeded(metric: str, project: str = "interlock-test") -> VertexError:
    message = f"The following quota metrics exceed quota limits: {metric}"
    return VertexError("RESOURCE_EXHAUSTED", message,
                       {"@type": QUOTA_FAILURE, "violations": [{"subject": f"project:{project}", "description": message}]},
                       error_info("RATE_LIMIT_EXCEEDED", quota_metric=metric))


def unavailable(seconds: float = 1.0) -> VertexError:
    return VertexError("UNAVAILABLE", "The service is currently unavailable.", retry_info(seconds))


def unauthenticated(missing: bool = False) -> VertexError:
    if missing:
        return VertexError("UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 "
                                              "access token, login cookie or other valid authentication credential.",
                           error_info("CREDENTIALS_MISSING"))
    return VertexError("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access "
                                          "token, login cookie or other valid authentication credential.",
                       error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED"))


def permission_denied(permission: str, resource: str) -> VertexError:
    return VertexError("PERMISSION_DENIED",
                       f"Permission '{permission}' denied on resource '//{DOMAIN}/{resource}' (or it may not exist).",
                       error_info("IAM_PERMISSION_DENIED", permission=permission, resource=resource))


def not_found(resource: str) -> VertexError:
    return VertexError("NOT_FOUND", f"{resource} not found.")


def invalid(message: str) -> VertexError:
    return VertexError("INVALID_ARGUMENT", message)
