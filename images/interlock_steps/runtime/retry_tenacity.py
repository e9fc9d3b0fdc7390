"""tenacity's Retrying, built from the policy, for calls no client retries itself
(polling a job until it is done, a raw call through a client without a retry hook).

Waits are full-jitter exponential (`wait_random_exponential`) unless the error
carries Retry-After, which is then honoured. It stops after `policy.total` retries
or when the next wait would pass the deadline, and then raises DeadlineExceeded
(deadline) or the last error itself (attempts used up), never tenacity's RetryError.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import tenacity

from .deadline import Deadline
from .retry_policy import RetryPolicy, is_retryable_exception, retry_after_of


class _RetryAfterOrBackoff(tenacity.wait.wait_base):
    def __init__(self, policy: RetryPolicy) -> None:
        self.backoff = tenacity.wait_random_exponential(multiplier=policy.backoff, max=policy.max_backoff)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if error is not None:
            retry_after = retry_after_of(error)
            if retry_after is not None:
                return retry_after
        return self.backoff(retry_state)


class _StopBeforeDeadline(tenacity.stop.stop_base):
    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        # tenacity computes the wait before asking stop, so upcoming_sleep is known.
        return retry_state.upcoming_sleep >= self.deadline.remaining()


def retrying(
    policy: RetryPolicy,
    deadline: Deadline | None = None,
    *,
    retry_on: Callable[[BaseException], bool] = is_retryable_exception,
    sleep: Callable[[float], None] = time.sleep,
    doing: str = "the next attempt",
    before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
) -> tenacity.Retrying:
    """A tenacity.Retrying: use as `retrying(...)(fn, *args)` or as a decorator.

    `retry_on` decides which exceptions are retried (default: 429/5xx/connection
    errors). For polling, raise your own "not ready yet" exception and pass
    `retry_on=lambda e: isinstance(e, NotReady)`.
    """
    deadline = deadline or Deadline(policy.deadline)

    def give_up(retry_state: tenacity.RetryCallState) -> None:
        outcome = retry_state.outcome
        assert outcome is not None  # tenacity only gives up after an attempt
        last_error = outcome.exception()
        if retry_state.upcoming_sleep >= deadline.remaining():
            raise deadline.exceeded(retry_state.upcoming_sleep, doing) from last_error
        outcome.result()  # re-raises the last error: attempts are used up

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.total + 1) | _StopBeforeDeadline(deadline),
        wait=_RetryAfterOrBackoff(policy),
        retry=tenacity.retry_if_exception(retry_on),
        sleep=sleep,
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )
