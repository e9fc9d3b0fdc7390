"""warming.warm on a hand-moved clock shared with the fake Looker: exact, load-independent timing."""
from __future__ import annotations

import pytest

from interlock_steps.looker.client import LookerClient
from interlock_steps.looker.warming import Tile, warm
from interlock_steps.runtime import Deadline, RetryPolicy
from interlock_steps.runtime.retry_requests import looker40_sdk, requests_session
from tests.fakes.looker import FakeLooker, ManualClock


@pytest.fixture
def timed(monkeypatch):
    """(fake, client, clock): the step's sleeps move the clock the fake's query tasks run on."""
    clock = ManualClock()
    with FakeLooker(clock=clock) as fake:
        for name, value in fake.sdk_env().items():
            monkeypatch.setenv(name, value)
        session = requests_session(RetryPolicy())
        yield fake, LookerClient(looker40_sdk(session), session), clock
    fake.assert_clean()


@pytest.mark.parametrize("query_timeout", [0.5, 3.0, 20.0])
def test_a_query_timeout_fires_within_one_poll_of_the_timeout(timed, query_timeout):
    fake, client, clock = timed
    endless = fake.state.add_query("ecommerce", "orders", fields=["orders.slow"], runtime=1e9)
    [outcome] = warm(client, [Tile("7", "201", "slow", endless.id)], concurrency=1, query_timeout=query_timeout,
                     deadline=Deadline(600), sleep=clock.advance, clock=clock)
    assert outcome.status == "timeout" and outcome.message == f"still running after {query_timeout:g}s"
    # Without progress the poll interval grows by 1.25x per poll, up to poll_max (1 s), so it is at
    # most about a third of the time waited so far: the timeout is seen at most one such poll late.
    assert query_timeout < outcome.seconds <= query_timeout + min(1.0, query_timeout / 3 + 0.05)
