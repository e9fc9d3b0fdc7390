"""One client that owns Looker API calls for every Looker step.

looker-sdk raises `SDKError` with the remote message but not the HTTP status, and renews
its token only when the token's own clock says it expired. This client adds what steps
need on top of the runtime's retrying session: the status of each failure (read from the
response by a session hook), one re-login when Looker answers 401 mid-run (a token revoked
or expired early), and errors that name the object, the status and Looker's message.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from interlock_steps.runtime import TargetFailed

T = TypeVar("T")


class LookerError(TargetFailed):
    """A Looker call failed; the message names what was asked, the HTTP status and Looker's answer."""

    def __init__(self, what: str, status: int | None, message: str):
        self.status = status
        status_text = f"HTTP {status}" if status else "no HTTP status"
        super().__init__(f"{what}: {status_text}: {message}", target=what, status=status)


class LookerClient:
    def __init__(self, sdk: Any, session: Any | None = None):
        self.sdk = sdk
        self._last = threading.local()
        if session is not None:
            session.hooks["response"].append(self._remember_status)

    def _remember_status(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self._last.status = response.status_code
        return response

    def call(self, what: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`method(*args, **kwargs)`, logging in again once on 401; LookerError on failure."""
        from looker_sdk.error import SDKError

        for attempt in (1, 2):
            self._last.status = None
            try:
                return method(*args, **kwargs)
            except SDKError as error:
                status = getattr(self._last, "status", None)
                if status == 401 and attempt == 1:
                    self.relogin()
                    continue
                raise LookerError(what, status, _remote_message(error)) from None
        raise AssertionError("unreachable")

    def relogin(self) -> None:
        """Drop the current token so the SDK logs in again on its next call."""
        from looker_sdk.rtl import auth_token

        self.sdk.auth.token = auth_token.AuthToken()


def _remote_message(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error)
    details = [d.message for d in getattr(error, "errors", None) or [] if getattr(d, "message", None)]
    text = "; ".join([message.strip(), *details]) if details else message.strip()
    return " ".join(text.split())[:500]


def connect(step: Any, *, idempotent: bool) -> LookerClient:
    """A LookerClient from the step's retrying session and LOOKERSDK_* settings.

    `idempotent=True` lets POST/PATCH be retried too (only for calls that are safe to repeat).
    """
    from interlock_steps.runtime.retry_requests import looker40_sdk

    session = step.requests_session(idempotent=idempotent)
    try:
        sdk = looker40_sdk(session, timeout=step.policy.timeout)
    except Exception as error:  # looker-sdk raises a bare SDKError or ValueError for missing settings
        from interlock_steps.runtime import BadInput

        raise BadInput(f"Looker settings: {_remote_message(error)} (set LOOKERSDK_BASE_URL, "
                       "LOOKERSDK_CLIENT_ID and LOOKERSDK_CLIENT_SECRET)") from None
    return LookerClient(sdk, session)
