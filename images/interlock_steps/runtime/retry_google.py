"""google.api_core's Retry, built from the policy, for Google clients.

api_core retries with its own exponential backoff and full jitter, and stops when
its timeout would pass; we set that timeout to the time left before the step's
deadline. It has no attempt limit of its own, so the predicate counts: after
`policy.total` retries the error is raised as it is (a persistent quota error then
fails the step with Google's message instead of retrying until the deadline). It cannot read Retry-After (Google APIs signal backoff through 429/503
and the backoff handles them). When the timeout runs out api_core raises
`google.api_core.exceptions.RetryError`, which `run()` maps to the deadline exit code.
Per-request timeouts go on each call: `client.method(..., retry=r, timeout=policy.timeout)`.
"""

from __future__ import annotations

import itertools
import typing
from collections.abc import Callable

from .deadline import Deadline
from .retry_policy import RetryPolicy, is_retryable_exception

if typing.TYPE_CHECKING:
    from google.api_core.retry import Retry


def is_retryable_google_error(exc: BaseException) -> bool:
    """429/5xx answers (TooManyRequests, InternalServerError, BadGateway,
    ServiceUnavailable, GatewayTimeout) and connection errors; never another 4xx."""
    return is_retryable_exception(exc)


def google_retry(policy: RetryPolicy, deadline: Deadline | None = None, *,
                 on_error: Callable[[BaseException], None] | None = None) -> Retry:
    """An api_core Retry whose overall timeout is what is left of the deadline, retrying
    at most `policy.total` times; `on_error(exc)` runs before each retry's wait.

    Build it right before the call it guards: the timeout and the count are its own.
    """
    from google.api_core.retry import Retry

    deadline = deadline or Deadline(policy.deadline)
    left = deadline.remaining()
    failures = itertools.count(1)

    def predicate(exc: BaseException) -> bool:
        return is_retryable_google_error(exc) and next(failures) <= policy.total

    return Retry(
        predicate=predicate,
        on_error=on_error,
        initial=max(policy.backoff, 0.01),  # api_core needs a positive initial delay
        maximum=max(policy.max_backoff, 0.01),
        multiplier=2.0,
        timeout=None if left == float("inf") else left,
    )
