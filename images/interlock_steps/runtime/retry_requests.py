"""A requests Session that retries per the policy and times every request out.

For requests-based clients; looker-sdk among them: its RequestsTransport takes a
session (`looker_sdk.rtl.requests_transport.RequestsTransport(settings, session)`),
and `looker40_sdk` below builds the SDK around one. Imports requests lazily:
only images with the looker or istio extra have it.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Callable

from .deadline import Deadline
from .retry_policy import RetryPolicy
from .retry_urllib3 import urllib3_retry

if typing.TYPE_CHECKING:
    import requests
    from looker_sdk.sdk.api40.methods import Looker40SDK


def _timeout_adapter_class() -> type:
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        """Gives every request a timeout (requests has no default) capped by the deadline."""

        def __init__(self, *, timeout: float, deadline: Deadline, **kwargs: typing.Any) -> None:
            self.default_timeout = timeout
            self.deadline = deadline
            super().__init__(**kwargs)

        def send(
            self,
            request: typing.Any,
            stream: bool = False,
            timeout: typing.Any = None,
            verify: typing.Any = True,
            cert: typing.Any = None,
            proxies: typing.Any = None,
        ) -> typing.Any:
            self.deadline.check(f"{request.method} {request.url}")
            if timeout is None:
                timeout = self.default_timeout
            if isinstance(timeout, tuple):
                timeout = tuple(self.deadline.cap(part) for part in timeout)
            else:
                timeout = self.deadline.cap(timeout)
            return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)

    return TimeoutAdapter


def requests_session(
    policy: RetryPolicy,
    deadline: Deadline | None = None,
    *,
    idempotent: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    session: requests.Session | None = None,
) -> requests.Session:
    """A Session (new, or `session` reconfigured) with the policy mounted for http and https."""
    import requests

    deadline = deadline or Deadline(policy.deadline)
    session = session or requests.Session()
    adapter = _timeout_adapter_class()(
        timeout=policy.timeout,
        deadline=deadline,
        max_retries=urllib3_retry(policy, deadline, idempotent=idempotent, sleep=sleep),
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def looker40_sdk(
    session: requests.Session, *, timeout: float | None = None, settings: typing.Any = None
) -> Looker40SDK:
    """looker-sdk's Looker40SDK wired to `session` (what `looker_sdk.init40()` does
    with a plain Session). Settings default to the LOOKERSDK_* environment variables;
    `timeout` replaces their per-request timeout (LOOKERSDK_TIMEOUT, 120 s by default).
    """
    from looker_sdk import constants
    from looker_sdk.rtl import api_settings, auth_session, requests_transport, serialize
    from looker_sdk.sdk.api40 import methods as methods40

    if settings is None:
        settings = api_settings.ApiSettings(
            filename="", sdk_version=constants.sdk_version, env_prefix=constants.environment_prefix
        )
    if timeout is not None:
        # looker-sdk passes settings.timeout with every request; the adapter caps it
        # by the deadline.
        settings.timeout = timeout
    settings.is_configured()
    transport = requests_transport.RequestsTransport(settings, session)
    return methods40.Looker40SDK(
        auth_session.AuthSession(settings, transport, serialize.deserialize40, "4.0"),
        serialize.deserialize40,
        serialize.serialize40,
        transport,
        "4.0",
    )
