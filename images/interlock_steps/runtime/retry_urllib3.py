"""urllib3's Retry, configured from the policy and bounded by the step's deadline.

urllib3 does the real work (status_forcelist, Retry-After, backoff with jitter,
connection vs read errors, method allow-list). The subclass only adds what urllib3
lacks: before each sleep it asks the deadline, and it lets tests inject the sleep.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Callable

from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from .deadline import Deadline
from .retry_policy import RETRYABLE_STATUSES, RetryPolicy

# urllib3 retries only these methods by default, on errors after the request was
# sent and on retryable statuses. POST and PATCH join only when the caller says the
# call is idempotent (a lookup-by-label create, a merge patch that sets a value).
IDEMPOTENT_METHODS = frozenset(Retry.DEFAULT_ALLOWED_METHODS)
NON_IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})


class DeadlineRetry(Retry):
    """A urllib3 Retry whose sleeps never pass the step's deadline."""

    def __init__(
        self,
        *args: typing.Any,
        deadline: Deadline | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: typing.Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline or Deadline(None)
        self.sleep_for = sleep

    def new(self, **kw: typing.Any) -> DeadlineRetry:
        # urllib3 makes a fresh Retry after every attempt; carry our two fields along.
        kw.setdefault("deadline", self.deadline)
        kw.setdefault("sleep", self.sleep_for)
        return super().new(**kw)

    def planned_wait(self, response: BaseHTTPResponse | None = None) -> float:
        """What urllib3 would sleep now: Retry-After if the server sent one, else backoff."""
        if self.respect_retry_after_header and response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after:
                return retry_after
        return self.get_backoff_time()

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait = self.planned_wait(response)
        last = self.history[-1] if self.history else None
        doing = f"retrying {last.method} {last.url}" if last else "retrying"
        self.deadline.ensure_time_for(wait, doing)
        if wait > 0:
            self.sleep_for(wait)


def urllib3_retry(
    policy: RetryPolicy,
    deadline: Deadline | None = None,
    *,
    idempotent: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> DeadlineRetry:
    """The policy as a urllib3 Retry, for requests sessions and the kubernetes client.

    `idempotent=True` adds POST and PATCH to the retried methods; leave it False
    unless every POST/PATCH sent through this client is safe to repeat.
    """
    methods = IDEMPOTENT_METHODS | (NON_IDEMPOTENT_METHODS if idempotent else frozenset())
    return DeadlineRetry(
        total=policy.total,
        status_forcelist=RETRYABLE_STATUSES,
        allowed_methods=methods,
        backoff_factor=policy.backoff,
        backoff_max=policy.max_backoff,
        backoff_jitter=policy.jitter,
        respect_retry_after_header=True,
        # Hand the last 429/5xx response back to the client instead of raising
        # MaxRetryError: the client's own error then carries the status, the URL and
        # the server's message (looker-sdk turns it into SDKError, kubernetes into
        # ApiException).
        raise_on_status=False,
        deadline=deadline,
        sleep=sleep,
    )
