"""Query tasks and PDT builds move through Looker's states as the clock moves."""
from __future__ import annotations

import json

import pytest
from looker_sdk import error
from looker_sdk import models40 as models
from looker_sdk.sdk.api40.methods import Looker40SDK

from tests.fakes.looker import FakeLooker, ManualClock


@pytest.fixture
def slow_and_broken(timed_fake: FakeLooker) -> FakeLooker:
    timed_fake.state.add_query("ecommerce", "orders", query_id="900", runtime=5, rows=[{"orders.count": 1}])
    timed_fake.state.add_query("ecommerce", "orders", query_id="666", runtime=1, error="SQL Error: division by zero")
    timed_fake.state.add_pdt("ecommerce", "big_rollup", runtime=4, queued_for=2)
    return timed_fake


def _task(sdk: Looker40SDK, query_id: str, result_format: models.ResultFormat = models.ResultFormat.json) -> str:
    return sdk.create_query_task(models.WriteCreateQueryTask(query_id=query_id, result_format=result_format)).id


def test_added_running_complete_expired(timed_sdk: Looker40SDK, slow_and_broken: FakeLooker, clock: ManualClock) -> None:
    slow_and_broken.state.runner.result_ttl = 100
    task_id = _task(timed_sdk, "900")
    assert timed_sdk.query_task(task_id).status == "running"
    clock.advance(4.9)
    assert timed_sdk.query_task(task_id).status == "running"
    clock.advance(0.1)
    done = timed_sdk.query_task(task_id)
    assert (done.status, done.runtime) == ("complete", 5)
    assert json.loads(timed_sdk.query_task_results(task_id)) == [{"orders.count": 1}]
    clock.advance(100)
    assert timed_sdk.query_task(task_id).status == "expired"
    assert timed_sdk.query_task_multi_results(models.DelimSequence([task_id]))[task_id] == {"status": "expired"}
    with pytest.raises(error.SDKError, match="Not found"):
        timed_sdk.query_task_results(task_id)


def test_query_errors_by_result_format(timed_sdk: Looker40SDK, slow_and_broken: FakeLooker, clock: ManualClock) -> None:
    plain = _task(timed_sdk, "666")
    detailed = _task(timed_sdk, "666", models.ResultFormat.json_detail)
    clock.advance(1)
    assert timed_sdk.query_task(plain).status == "error"
    # The spec: json_detail carries the SQL error in a 200 body, other formats answer 400.
    with pytest.raises(error.SDKError, match="division by zero"):
        timed_sdk.query_task_results(plain)
    body = json.loads(timed_sdk.query_task_results(detailed))
    assert body["data"] == [] and body["errors"][0]["message"] == "SQL Error: division by zero"
    multi = timed_sdk.query_task_multi_results(models.DelimSequence([plain]))
    assert multi[plain] == {"status": "error", "data": {"errors": [{"message": "SQL Error: division by zero"}]}}


def test_multi_results_mixes_states_and_hides_other_users_tasks(timed_sdk: Looker40SDK, slow_and_broken: FakeLooker,
                                                               clock: ManualClock) -> None:
    fast, slow = _task(timed_sdk, "101"), _task(timed_sdk, "900")
    clock.advance(1)
    multi = timed_sdk.query_task_multi_results(models.DelimSequence([fast, slow, "unknown"]))
    assert {k: v["status"] for k, v in multi.items()} == {fast: "complete", slow: "running", "unknown": "missing"}
    assert "data" not in multi[slow]


def test_pdt_build_states(timed_sdk: Looker40SDK, slow_and_broken: FakeLooker, clock: ManualClock) -> None:
    build = timed_sdk.start_pdt_build("ecommerce", "big_rollup", source="interlock")

    def status() -> dict[str, object]:
        return json.loads(timed_sdk.check_pdt_build(build.materialization_id).resp_text)

    assert status()["status"] == "added"
    clock.advance(2)
    assert status()["status"] == "running"
    clock.advance(4)
    final = status()
    assert (final["status"], final["runtime"]) == ("complete", 4)
    assert final["message"].startswith("Materialize big_rollup")
    # Stopping a finished build changes nothing.
    assert json.loads(timed_sdk.stop_pdt_build(build.materialization_id).resp_text)["status"] == "complete"


def test_pdt_build_error_and_unknown_ids(timed_sdk: Looker40SDK, clock: ManualClock) -> None:
    build = timed_sdk.start_pdt_build("ecommerce", "broken_rollup")
    clock.advance(1)
    text = json.loads(timed_sdk.check_pdt_build(build.materialization_id).resp_text)
    assert text["status"] == "error" and "does not exist" in text["message"]
    with pytest.raises(error.SDKError, match="Not found"):
        timed_sdk.check_pdt_build("424242")
    with pytest.raises(error.SDKError, match="Not found"):
        timed_sdk.start_pdt_build("ecommerce", "no_such_view")


def test_call_log_shows_order_and_repeats(sdk: Looker40SDK, fake: FakeLooker) -> None:
    """What task tests will assert: the datagroup is reset before queries run, and a retried
    mutation is visible as a repeat."""
    sdk.update_datagroup("11", models.WriteDatagroup(stale_before=1_700_000_000))
    sdk.create_query_task(models.WriteCreateQueryTask(query_id="101", result_format=models.ResultFormat.json))
    sdk.update_datagroup("11", models.WriteDatagroup(stale_before=1_700_000_000))
    ops = [op for op in fake.operations() if op != "login"]
    assert ops == ["update_datagroup", "create_query_task", "update_datagroup"]
    first, again = fake.calls_to("update_datagroup")
    assert first.body == again.body and first.user_id == again.user_id == "1"
    assert first.seq < fake.calls_to("create_query_task")[0].seq < again.seq
    assert all(c.at > 0 for c in fake.calls)
    fake.reset_calls()
    assert fake.calls == []
