"""One client that owns Looker API calls for every Looker step.

looker-sdk raises `SDKError` with the remote message but not the HTTP status, and renews
its token only when the token's own clock says it expired. This client adds what steps
need on top of the runtime's retrying session: the status of each failure (read from the
response by a session hook), one re-login when Looker answers 401 mid-run (a token revoked
or expired early), and errors that name the object, the status and Looker's message. A
failed login gets its own message: Looker answers wrong API credentials with 404 "Not found",
which would otherwise read as a missing datagroup or dashboard.

The connection settings reach looker-sdk as LOOKERSDK_* variables, which the Tasks fill from
params (base-url, verify-ssl) and a Secret (secret-name); `connect` checks them first, so a
bad value is named instead of surfacing as an empty looker-sdk error.
"""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from interlock_steps.runtime import BadInput, TargetFailed

T = TypeVar("T")
# What looker-sdk's ApiSettings._bool accepts for LOOKERSDK_VERIFY_SSL (anything else: a bare TypeError).
_VERIFY_SSL = {"", "yes", "y", "true", "t", "1", "no", "n", "false", "f", "0"}
CREDENTIALS_HINT = ("check the keys client_id and client_secret of the Secret named by param 'secret-name' "
                    "(env LOOKERSDK_CLIENT_ID, LOOKERSDK_CLIENT_SECRET) and that param 'base-url' is your "
                    "Looker API host")


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
        self._last.login = response.request.path_url.split("?")[0].rstrip("/").endswith("/login")
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
                if getattr(self._last, "login", False) and status in (400, 401, 403, 404):
                    raise LookerError(f"{what}: logging in to Looker failed", status,
                                      f"the API credentials were refused; {CREDENTIALS_HINT}") from None
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


def check_settings(environ: Mapping[str, str]) -> None:
    """BadInput naming the param (or Secret key) behind a LOOKERSDK_* value looker-sdk would refuse."""
    verify = environ.get("LOOKERSDK_VERIFY_SSL", "")
    if verify.strip().lower() not in _VERIFY_SSL:
        raise BadInput(f"param 'verify-ssl' (env LOOKERSDK_VERIFY_SSL) must be true or false, got {verify!r}",
                       param="verify-ssl")
    base = environ.get("LOOKERSDK_BASE_URL", "")
    if not re.match(r"^https?://[^/\s]+", base.strip()):
        raise BadInput("param 'base-url' (env LOOKERSDK_BASE_URL) must be the Looker API URL, such as "
                       f"https://example.cloud.looker.com (without /api/4.0), got {base!r}", param="base-url")
    missing = [key for key in ("LOOKERSDK_CLIENT_ID", "LOOKERSDK_CLIENT_SECRET") if not environ.get(key, "").strip()]
    if missing:
        raise BadInput(f"Looker API credentials missing ({', '.join(missing)} empty): {CREDENTIALS_HINT}")


def connect(step: Any, *, idempotent: bool) -> LookerClient:
    """A LookerClient from the step's retrying session and LOOKERSDK_* settings (checked first).

    `idempotent=True` lets POST/PATCH be retried too (only for calls that are safe to repeat).
    """
    from interlock_steps.runtime.retry_requests import looker40_sdk

    check_settings(os.environ)
    session = step.requests_session(idempotent=idempotent)
    try:
        sdk = looker40_sdk(session, timeout=step.policy.timeout)
    except Exception as error:  # looker-sdk raises a bare SDKError, ValueError or TypeError for bad settings
        raise BadInput(f"Looker settings: {_remote_message(error) or type(error).__name__} (set LOOKERSDK_BASE_URL, "
                       "LOOKERSDK_CLIENT_ID and LOOKERSDK_CLIENT_SECRET)") from None
    return LookerClient(sdk, session)
