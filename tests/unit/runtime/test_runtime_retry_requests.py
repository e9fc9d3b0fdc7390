"""urllib3 Retry on a requests Session: which answers are retried, Retry-After,
per-request timeout, and the overall deadline."""

from __future__ import annotations

import time

import pytest

requests = pytest.importorskip("requests", reason="requests comes with the looker/istio extras")

from interlock_steps.runtime import Deadline, DeadlineExceeded, RetryPolicy  # noqa: E402
from interlock_steps.runtime.retry_requests import requests_session  # noqa: E402
from interlock_steps.runtime.retry_urllib3 import urllib3_retry  # noqa: E402

from runtime_fakes import Answer  # noqa: E402

POLICY = RetryPolicy(total=3, backoff=0.5, max_backoff=30, jitter=0.0, timeout=5, deadline=60)


def session_for(clock, policy=POLICY, **kwargs):
    return requests_session(policy, Deadline(policy.deadline, clock=clock), sleep=clock.sleep, **kwargs)


def test_429_waits_exactly_retry_after_then_succeeds(server, clock):
    server.script("/x", Answer(429, headers={"Retry-After": "7"}), Answer(200, {"ok": True}))
    response = session_for(clock).get(server.url + "/x")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert server.count("/x") == 2
    assert clock.sleeps == [7]  # the server's wait, not the backoff


def test_503_is_retried_with_backoff(server, clock):
    server.script("/x", Answer(503), Answer(503), Answer(503), Answer(200))
    assert session_for(clock).get(server.url + "/x").status_code == 200
    assert server.count("/x") == 4
    # urllib3: no wait before the first retry, then backoff * 2**(n-1).
    assert clock.sleeps == [1.0, 2.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_are_never_retried(server, clock, status):
    server.script("/x", Answer(status, {"message": "no"}), Answer(200))
    response = session_for(clock).get(server.url + "/x")
    assert response.status_code == status
    assert server.count("/x") == 1
    assert clock.sleeps == []


def test_retries_used_up_returns_the_last_answer_for_the_client_to_report(server, clock):
    server.script("/x", Answer(502, {"message": "upstream down"}))
    response = session_for(clock).get(server.url + "/x")
    assert response.status_code == 502 and response.json() == {"message": "upstream down"}
    assert server.count("/x") == POLICY.total + 1


def test_post_is_not_retried_unless_the_caller_says_it_is_idempotent(server, clock):
    server.script("/x", Answer(503), Answer(200))
    assert session_for(clock).post(server.url + "/x", json={}).status_code == 503
    assert server.count("/x") == 1

    server.script("/y", Answer(503), Answer(200))
    assert session_for(clock, idempotent=True).post(server.url + "/y", json={}).status_code == 200
    assert server.count("/y") == 2


def test_retry_after_longer_than_the_deadline_fails_fast(server, clock):
    server.script("/x", Answer(429, headers={"Retry-After": "120"}), Answer(200))
    policy = RetryPolicy(total=3, timeout=5, deadline=30)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="deadline of 30s would pass while waiting 120s"):
        session_for(clock, policy).get(server.url + "/x")
    assert time.monotonic() - started < 2  # no real waiting
    assert server.count("/x") == 1 and clock.sleeps == []


def test_backoff_stops_at_the_deadline(server, clock):
    server.script("/x", Answer(503))
    policy = RetryPolicy(total=10, backoff=4, max_backoff=60, jitter=0, timeout=5, deadline=20)
    with pytest.raises(DeadlineExceeded):
        session_for(clock, policy).get(server.url + "/x")
    # waits 0, 8, then 16 would end past 20 s: three requests, one real wait.
    assert clock.sleeps == [8]
    assert server.count("/x") == 3


def test_request_after_the_deadline_is_not_sent(server, clock):
    server.script("/x", Answer(200))
    session = session_for(clock)
    clock.now += POLICY.deadline
    with pytest.raises(DeadlineExceeded, match="before GET"):
        session.get(server.url + "/x")
    assert server.count("/x") == 0


def test_slow_answer_hits_the_per_request_timeout(server):
    server.script("/slow", Answer(200, delay=2.0))
    policy = RetryPolicy(total=1, backoff=0, jitter=0, timeout=0.3, deadline=30)
    started = time.monotonic()
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.Timeout)) as raised:
        requests_session(policy).get(server.url + "/slow")
    elapsed = time.monotonic() - started
    assert "timed out" in str(raised.value).lower()
    assert server.count("/slow") == policy.total + 1  # a GET's read timeout is retried once
    assert elapsed < 1.5  # two 0.3 s timeouts, not two 2 s answers


def test_the_deadline_shortens_the_request_timeout(server, clock):
    server.script("/slow", Answer(200, delay=2.0))
    real = Deadline(0.4)  # real monotonic clock: the request itself must be cut short
    policy = RetryPolicy(total=0, timeout=30, deadline=0.4)
    started = time.monotonic()
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        requests_session(policy, real).get(server.url + "/slow")
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_retried(clock):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = RetryPolicy(total=3, backoff=1, jitter=0, timeout=1, deadline=60)
    with pytest.raises(requests.exceptions.ConnectionError):
        session_for(clock, policy).get(f"http://127.0.0.1:{port}/x")
    assert clock.sleeps == [2.0, 4.0]  # 4 attempts: waits 0, 2, 4


def test_jitter_is_added_within_its_bound():
    policy = RetryPolicy(total=5, backoff=1, max_backoff=100, jitter=0.5)
    retry = urllib3_retry(policy)
    for _ in range(3):
        retry = retry.increment(method="GET", url="/x", error=None, response=None)
    waits = {retry.get_backoff_time() for _ in range(50)}
    assert all(4.0 <= wait <= 4.5 for wait in waits)
    assert len(waits) > 1  # random, not fixed


def test_retry_keeps_its_deadline_and_sleep_across_increments(clock):
    deadline = Deadline(10, clock=clock)
    retry = urllib3_retry(POLICY, deadline, sleep=clock.sleep)
    later = retry.increment(method="GET", url="/x")
    assert later.deadline is deadline and later.sleep_for == clock.sleep
    assert later.total == POLICY.total - 1
