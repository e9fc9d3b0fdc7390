"""The one retry policy of a step, and what counts as retryable.

Retry on 429, 5xx (500, 502, 503, 504) and connection errors only; never on any other
4xx, whose cause a retry cannot fix. The adapters in retry_urllib3, retry_requests,
retry_kubernetes, retry_google and retry_tenacity turn this policy into each client's
own mechanism.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import urllib3.exceptions
from urllib3.util.retry import Retry

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How a step retries: counts in attempts, times in seconds.

    total: retries after the first attempt. backoff: first exponential backoff step.
    max_backoff: cap of one wait. jitter: up to this many random seconds added to a
    backoff (urllib3's backoff_jitter). timeout: per-request timeout. deadline: the
    step's overall budget, shared by every call and retry.
    """

    total: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5
    timeout: float = 30.0
    deadline: float | None = 600.0

    def __post_init__(self) -> None:
        for name in ("total", "backoff", "max_backoff", "jitter", "timeout"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"RetryPolicy.{name} must not be negative, got {value!r}")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError(f"RetryPolicy.deadline must be positive or None, got {self.deadline!r}")


def is_retryable_status(status: int | None) -> bool:
    return status in RETRYABLE_STATUSES


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, whichever client raised it."""
    response = getattr(exc, "response", None)
    for candidate in (
        getattr(response, "status_code", None),  # requests.HTTPError
        getattr(exc, "status", None),  # kubernetes ApiException, urllib3
        getattr(exc, "code", None),  # google.api_core exceptions, urllib.error.HTTPError
        getattr(exc, "status_code", None),
    ):
        if isinstance(candidate, int) and not isinstance(candidate, bool):
            return candidate
    return None


def _connection_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [
        ConnectionError,
        TimeoutError,
        urllib3.exceptions.NewConnectionError,
        urllib3.exceptions.ConnectTimeoutError,
        urllib3.exceptions.ProtocolError,
        urllib3.exceptions.ReadTimeoutError,
    ]
    # requests is optional (only some images have it); if its exception was raised,
    # the module is already imported.
    requests_exceptions = sys.modules.get("requests.exceptions")
    if requests_exceptions is not None:
        types += [requests_exceptions.ConnectionError, requests_exceptions.Timeout]
    return tuple(types)


def is_retryable_exception(exc: BaseException) -> bool:
    """Retry on 429/5xx answers and on connection errors; never on another status."""
    status = status_of(exc)
    if status is not None:
        return is_retryable_status(status)
    return isinstance(exc, _connection_error_types())


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the server asked to wait (Retry-After on the exception's response)."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or getattr(exc, "headers", None)
    if not headers:
        return None
    if not hasattr(headers, "items"):
        return None
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        # urllib3's parser handles both delay-seconds and HTTP-date forms.
        return Retry(respect_retry_after_header=True).parse_retry_after(str(value))
    except urllib3.exceptions.InvalidHeader:
        return None
