"""Faults the fake injects, as the real looker-sdk sees them."""
from __future__ import annotations

import threading
import time

import pytest
import requests
from looker_sdk import error
from looker_sdk import models40 as models
from looker_sdk.rtl import auth_token
from looker_sdk.sdk.api40.methods import Looker40SDK
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tests.fakes.looker import PER_USER_QUERY_LIMIT, FakeLooker, Fault, FaultSpecError, ManualClock

JSON_TASK = models.WriteCreateQueryTask(query_id="101", result_format=models.ResultFormat.json)


def test_rate_limit_answers_429_with_retry_after_n_times_then_succeeds(sdk: Looker40SDK, fake: FakeLooker) -> None:
    fake.faults.rate_limit("dashboard", times=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(error.SDKError) as raised:
            sdk.dashboard("7")
        assert raised.value.message == "Too Many Requests"
    assert sdk.dashboard("7").id == "7"
    assert [c.status for c in fake.calls_to("dashboard")] == [429, 429, 200]
    fake.faults.rate_limit("dashboard", times=1, retry_after=7)
    raw = requests.get(f"{fake.url}/api/4.0/dashboards/7", timeout=5)
    assert (raw.status_code, raw.headers["Retry-After"]) == (429, "7")


def test_a_retrying_transport_rides_through_429_and_502(sdk: Looker40SDK, fake: FakeLooker) -> None:
    # What the shared step runtime will do: urllib3 Retry on the SDK's own requests session.
    retry = Retry(total=4, backoff_factor=0, status_forcelist=(429, 502), allowed_methods=None,
                  respect_retry_after_header=True, raise_on_status=False)
    sdk.transport.session.mount("http://", HTTPAdapter(max_retries=retry))  # type: ignore[attr-defined]
    fake.faults.rate_limit("create_query_task", times=2, retry_after=0)
    fake.faults.server_error("create_query_task", status=502, times=1)
    task = sdk.create_query_task(JSON_TASK)
    assert task.status == "added"
    assert [c.status for c in fake.calls_to("create_query_task")] == [429, 429, 502, 200]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_n_times(status: int, sdk: Looker40SDK, fake: FakeLooker) -> None:
    fake.faults.server_error("all_datagroups", status=status, times=2)
    for _ in range(2):
        with pytest.raises(error.SDKError):
            sdk.all_datagroups()
    assert len(sdk.all_datagroups()) == 2
    assert [c.status for c in fake.calls_to("all_datagroups")] == [status, status, 200]


def test_faults_on_every_operation_and_in_order(sdk: Looker40SDK, fake: FakeLooker) -> None:
    sdk.dashboard("7")  # logged in before the wildcard fault
    fake.faults.add(Fault("*", status=500, times=1))
    fake.faults.rate_limit("look", times=1)
    with pytest.raises(error.SDKError):
        sdk.look("55")      # the wildcard rule came first
    with pytest.raises(error.SDKError):
        sdk.look("55")      # then the look rule
    assert sdk.look("55").id == "55"
    assert [c.status for c in fake.calls_to("look")] == [500, 429, 200]


def test_slow_answers_and_client_timeouts(sdk: Looker40SDK, fake: FakeLooker) -> None:
    sdk.dashboard("7")
    fake.faults.slow("dashboard", seconds=0.3, times=1)
    started = time.monotonic()
    sdk.dashboard("7")
    assert time.monotonic() - started >= 0.3
    fake.faults.slow("dashboard", seconds=0.5, times=1)
    with pytest.raises(error.SDKError, match="[Tt]imed? ?out"):
        sdk.dashboard("7", transport_options={"timeout": 0.1})


def test_token_expiry_after_k_calls_then_relogin(sdk: Looker40SDK, fake: FakeLooker) -> None:
    fake.faults.tokens.max_calls = 2
    sdk.dashboard("7")
    sdk.look("55")
    with pytest.raises(error.SDKError) as raised:
        sdk.query("101")
    assert raised.value.message == "Requires authentication."
    # A client recovers by dropping its token; the SDK logs in again on the next call.
    sdk.auth.token = auth_token.AuthToken()
    assert sdk.query("101").id == "101"
    assert fake.operations() == ["login", "dashboard", "look", "query", "login", "query"]
    assert [c.status for c in fake.calls] == [200, 200, 200, 401, 200, 200]


def test_token_lifetime_and_forced_expiry(timed_sdk: Looker40SDK, timed_fake: FakeLooker, clock: ManualClock) -> None:
    timed_fake.faults.tokens.lifetime = 60
    timed_sdk.dashboard("7")
    clock.advance(59)
    timed_sdk.dashboard("7")
    clock.advance(1)
    with pytest.raises(error.SDKError, match="Requires authentication"):
        timed_sdk.dashboard("7")
    timed_sdk.auth.token = auth_token.AuthToken()
    timed_sdk.dashboard("7")
    timed_fake.expire_tokens()
    with pytest.raises(error.SDKError, match="Requires authentication"):
        timed_sdk.dashboard("7")


def test_wrong_credentials_answer_404_like_looker(fake: FakeLooker, monkeypatch: pytest.MonkeyPatch) -> None:
    import looker_sdk
    for name, value in {**fake.sdk_env(), "LOOKERSDK_CLIENT_SECRET": "wrong"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(error.SDKError, match="Not found"):
        looker_sdk.init40().dashboard("7")
    assert [(c.operation, c.status) for c in fake.calls] == [("login", 404)]
    assert fake.calls[0].body["client_secret"] == "<redacted>"


def test_more_than_15_queries_per_user_queue_in_added(timed_sdk: Looker40SDK, timed_fake: FakeLooker,
                                                     clock: ManualClock) -> None:
    timed_fake.state.add_query("ecommerce", "orders", query_id="900", runtime=10)
    task = models.WriteCreateQueryTask(query_id="900", result_format=models.ResultFormat.json)
    ids = [timed_sdk.create_query_task(task).id for _ in range(PER_USER_QUERY_LIMIT + 5)]
    statuses = timed_sdk.query_task_multi_results(models.DelimSequence(ids))
    assert [statuses[i]["status"] for i in ids] == ["running"] * 15 + ["added"] * 5
    clock.advance(10)   # the first 15 finish; the 5 queued ones start
    statuses = timed_sdk.query_task_multi_results(models.DelimSequence(ids))
    assert [statuses[i]["status"] for i in ids] == ["complete"] * 15 + ["running"] * 5
    clock.advance(10)
    assert {timed_sdk.query_task(i).status for i in ids} == {"complete"}


def test_another_user_is_not_throttled_by_the_first(timed_sdk: Looker40SDK, timed_fake: FakeLooker) -> None:
    timed_fake.state.add_query("ecommerce", "orders", query_id="900", runtime=10)
    timed_fake.state.add_user("second-id", "second-secret", user_id="2")
    task = models.WriteCreateQueryTask(query_id="900", result_format=models.ResultFormat.json)
    for _ in range(PER_USER_QUERY_LIMIT):
        timed_sdk.create_query_task(task)
    second = requests.post(f"{timed_fake.url}/api/4.0/login",
                           data={"client_id": "second-id", "client_secret": "second-secret"}, timeout=5).json()
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    created = requests.post(f"{timed_fake.url}/api/4.0/query_tasks", headers=headers,
                            json={"query_id": "900", "result_format": "json"}, timeout=5).json()
    assert requests.get(f"{timed_fake.url}/api/4.0/query_tasks/{created['id']}", headers=headers,
                        timeout=5).json()["status"] == "running"


def test_queued_queries_are_dropped_after_the_queue_timeout(timed_sdk: Looker40SDK, timed_fake: FakeLooker,
                                                           clock: ManualClock) -> None:
    timed_fake.state.add_query("ecommerce", "orders", query_id="900", runtime=1000)
    task = models.WriteCreateQueryTask(query_id="900", result_format=models.ResultFormat.json)
    ids = [timed_sdk.create_query_task(task).id for _ in range(PER_USER_QUERY_LIMIT + 1)]
    clock.advance(600.5)
    last = ids[-1]
    assert timed_sdk.query_task(last).status == "error"
    with pytest.raises(error.SDKError, match="per-user queue"):
        timed_sdk.query_task_results(last)


def test_concurrent_clients_never_run_more_than_15(fake: FakeLooker, sdk: Looker40SDK) -> None:
    fake.state.add_query("ecommerce", "orders", query_id="900", runtime=30)
    sdk.dashboard("7")  # one login shared by all threads
    token = next(iter(fake.tokens))
    created: list[str] = []

    def create() -> None:
        answer = requests.post(f"{fake.url}/api/4.0/query_tasks", headers={"Authorization": f"Bearer {token}"},
                               json={"query_id": "900", "result_format": "json"}, timeout=5)
        created.append(answer.json()["id"])

    threads = [threading.Thread(target=create) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sdk.query_task_multi_results(models.DelimSequence(created))
    assert sorted(s["status"] for s in statuses.values()) == ["added"] * 9 + ["running"] * 15


def test_fault_text_for_the_command_line() -> None:
    assert Fault.parse("create_query_task:429x2:retry=3") == Fault("create_query_task", status=429, times=2, retry_after=3)
    assert Fault.parse("query_task:502") == Fault("query_task", status=502, times=1)
    assert Fault.parse("dashboard:delay=0.5xinf") == Fault("dashboard", delay=0.5, times=-1)
    with pytest.raises(FaultSpecError, match="dashboard:418"):
        Fault.parse("dashboard:418")
