"""tenacity adapter: retry-on predicate, Retry-After, attempts and the deadline."""

from __future__ import annotations

import pytest

from interlock_steps.runtime import Deadline, DeadlineExceeded, RetryPolicy, retrying
from interlock_steps.runtime.retry_policy import is_retryable_exception, retry_after_of, status_of


class HttpError(Exception):
    """An error shaped like requests.HTTPError: a response with status and headers."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.response = type("Response", (), {"status_code": status, "headers": headers or {}})()


def flaky(errors: list[Exception], result: str = "done"):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return call, calls


POLICY = RetryPolicy(total=4, backoff=1, max_backoff=8, deadline=600)


def test_retry_after_on_the_error_is_honoured(clock):
    call, calls = flaky([HttpError(429, {"retry-after": "7"}), HttpError(503)])
    assert retrying(POLICY, Deadline(600, clock=clock), sleep=clock.sleep)(call) == "done"
    assert len(calls) == 3
    assert clock.sleeps[0] == 7
    assert 0 <= clock.sleeps[1] <= 2  # full jitter within the second backoff window


def test_4xx_is_not_retried(clock):
    call, calls = flaky([HttpError(404)])
    with pytest.raises(HttpError, match="404"):
        retrying(POLICY, Deadline(600, clock=clock), sleep=clock.sleep)(call)
    assert len(calls) == 1 and clock.sleeps == []


def test_used_up_attempts_raise_the_last_error_itself(clock):
    call, calls = flaky([HttpError(503)] * 10)
    with pytest.raises(HttpError, match="503"):
        retrying(POLICY, Deadline(600, clock=clock), sleep=clock.sleep)(call)
    assert len(calls) == POLICY.total + 1


def test_a_wait_past_the_deadline_raises_deadline_exceeded_at_once(clock):
    call, calls = flaky([HttpError(503, {"Retry-After": "120"})])
    with pytest.raises(DeadlineExceeded, match="would pass while waiting 120s") as raised:
        retrying(POLICY, Deadline(60, clock=clock), sleep=clock.sleep, doing="polling job 9")(call)
    assert "polling job 9" in str(raised.value)
    assert isinstance(raised.value.__cause__, HttpError)
    assert len(calls) == 1 and clock.sleeps == []


def test_polling_with_a_custom_predicate(clock):
    class NotReady(Exception):
        pass

    call, calls = flaky([NotReady(), NotReady(), NotReady()], result="built")
    poll = retrying(POLICY, Deadline(600, clock=clock), sleep=clock.sleep, retry_on=lambda e: isinstance(e, NotReady))
    assert poll(call) == "built" and len(calls) == 4


def test_retryable_classification():
    assert is_retryable_exception(HttpError(429))
    assert is_retryable_exception(HttpError(500))
    assert not is_retryable_exception(HttpError(400))
    assert not is_retryable_exception(HttpError(409))
    assert is_retryable_exception(ConnectionRefusedError())
    assert is_retryable_exception(TimeoutError())
    assert not is_retryable_exception(KeyError("x"))
    assert status_of(HttpError(418)) == 418


def test_retry_after_forms():
    assert retry_after_of(HttpError(429, {"Retry-After": "12"})) == 12
    assert retry_after_of(HttpError(429, {"Retry-After": "soon"})) is None
    assert retry_after_of(HttpError(429)) is None
    # An HTTP date in the past means "now".
    assert retry_after_of(HttpError(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
