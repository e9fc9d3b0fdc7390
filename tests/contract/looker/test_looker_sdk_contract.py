"""The real looker-sdk (API 4.0) against the fake: every route answers with typed models.

The fake checks each of its answers against the OpenAPI document when it is present (the
fixture fails the test on any violation), so these tests also prove the SDK accepts answers
that real Looker could give.
"""
from __future__ import annotations

import json
import time

import pytest
from looker_sdk import error
from looker_sdk import models40 as models
from looker_sdk.sdk.api40.methods import Looker40SDK

from tests.fakes.looker import FakeLooker, ManualClock


def test_login_and_logout(sdk: Looker40SDK, fake: FakeLooker) -> None:
    token = sdk.login(client_id=fake.client_id, client_secret=fake.client_secret)
    assert isinstance(token, models.AccessToken) and token.access_token and token.expires_in == 3600
    # sdk.login() is itself an authenticated call: the session logs in first.
    sdk.auth.logout()  # looker-sdk calls DELETE /api/logout (no version)
    assert fake.operations() == ["login", "login", "logout"]
    assert fake.calls[-1].path == "/api/logout" and fake.calls[-1].status == 204
    session_token, explicit_token = fake.tokens.values()
    assert session_token.revoked and not explicit_token.revoked
    assert fake.calls[0].body == {"client_id": fake.client_id, "client_secret": "<redacted>"}


def test_dashboard_elements_filters_and_looks(sdk: Looker40SDK) -> None:
    board = sdk.dashboard("7")
    assert isinstance(board, models.Dashboard) and board.title == "Sales overview"
    elements = sdk.dashboard_dashboard_elements("7")
    assert [e.type for e in elements] == ["vis", "vis", "text"]
    query_tile, look_tile, _ = elements
    assert isinstance(query_tile.result_maker, models.ResultMakerWithIdVisConfigAndDynamicFields)
    assert query_tile.result_maker.query.id == query_tile.query_id == "101"
    assert query_tile.result_maker.filterables[0].listen[0].dashboard_filter_name == "Date"
    assert look_tile.look_id == "55" and look_tile.look.query.view == "users"
    filters = sdk.dashboard_dashboard_filters("7")
    assert {f.name: f.default_value for f in filters} == {"Date": "7 days", "State": None}
    look = sdk.look("55")
    assert isinstance(look, models.LookWithQuery) and look.query_id == look.query.id == "102"


def test_queries_are_immutable_and_deduplicated(sdk: Looker40SDK, fake: FakeLooker) -> None:
    assert sdk.query("101").filters == {"orders.created_date": "7 days"}
    body = models.WriteQuery(model="ecommerce", view="orders", fields=["orders.count"])
    first, second = sdk.create_query(body), sdk.create_query(body)
    assert first.id == second.id and isinstance(first, models.Query)
    assert len(fake.calls_to("create_query")) == 2
    with pytest.raises(error.SDKError) as raised:
        sdk.query("999")
    assert raised.value.message == "Not found"


def _wait_for(sdk: Looker40SDK, task_id: str, deadline: float = 5.0) -> models.QueryTask:
    end = time.monotonic() + deadline
    while True:
        task = sdk.query_task(task_id)
        if task.status in ("complete", "error", "expired") or time.monotonic() > end:
            return task
        time.sleep(0.01)


def test_query_task_round_trip(sdk: Looker40SDK) -> None:
    task = sdk.create_query_task(models.WriteCreateQueryTask(query_id="101", result_format=models.ResultFormat.json,
                                                             source="interlock"), cache=False)
    assert isinstance(task, models.QueryTask) and task.status == "added"
    assert _wait_for(sdk, task.id).status == "complete"
    assert json.loads(sdk.query_task_results(task.id)) == [{"orders.created_date": "2026-11-20", "orders.count": 42}]
    multi = sdk.query_task_multi_results(models.DelimSequence([task.id]))
    assert multi[task.id]["status"] == "complete" and multi[task.id]["data"][0]["orders.count"] == 42


def test_datagroups(sdk: Looker40SDK, fake: FakeLooker) -> None:
    assert [g.name for g in sdk.all_datagroups()] == ["orders_datagroup", "users_datagroup"]
    now = int(time.time())
    updated = sdk.update_datagroup("11", models.WriteDatagroup(stale_before=now, triggered_at=now))
    assert isinstance(updated, models.Datagroup) and (updated.stale_before, updated.triggered_at) == (now, now)
    assert sdk.datagroup("11").stale_before == now
    assert fake.calls_to("update_datagroup")[0].body == {"stale_before": now, "triggered_at": now}
    with pytest.raises(error.SDKError) as raised:
        sdk.update_datagroup("11", models.WriteDatagroup(stale_before=now + 3600))
    assert raised.value.errors[0].field == "stale_before"


def test_pdt_build_start_check_stop(sdk: Looker40SDK, fake: FakeLooker) -> None:
    fake.state.add_pdt("ecommerce", "slow_rollup", runtime=60)
    started = sdk.start_pdt_build("ecommerce", "slow_rollup", force_full_incremental="true",
                                  workspace="production", source="interlock")
    assert isinstance(started, models.MaterializePDT) and started.materialization_id
    assert json.loads(sdk.check_pdt_build(started.materialization_id).resp_text)["status"] == "running"
    stopped = sdk.stop_pdt_build(started.materialization_id, source="interlock")
    assert json.loads(stopped.resp_text)["status"] == "killed"
    assert fake.calls_to("start_pdt_build")[0].query == {"force_full_incremental": "true", "workspace": "production",
                                                         "source": "interlock"}


def test_scheduled_plans(sdk: Looker40SDK, fake: FakeLooker) -> None:
    assert sdk.scheduled_plan("31").dashboard_id == "7"
    assert [p.id for p in sdk.all_scheduled_plans()] == ["31", "32"]
    ran = sdk.scheduled_plan_run_once_by_id("31")
    assert isinstance(ran, models.ScheduledPlan) and ran.run_once and ran.id != "31"
    assert ran.scheduled_plan_destination[0].format == "csv"
    assert fake.state.plan_runs == ["31"]


def test_lookml_and_content_validation(sdk: Looker40SDK) -> None:
    assert sdk.project_validation_results("ecommerce") == ""  # 204: never validated
    result = sdk.validate_project("broken_project")
    assert isinstance(result, models.ProjectValidation)
    assert [(e.severity, e.field_name) for e in result.errors] == [("error", "orders.total")]
    cached = sdk.project_validation_results("broken_project")
    assert cached.stale is False and cached.project_digest == result.project_digest
    assert sdk.validate_project("ecommerce").errors == []
    content = sdk.content_validation()
    assert isinstance(content, models.ContentValidation)
    assert content.content_with_errors[0].look.title == "Old revenue"
    assert content.content_with_errors[0].errors[0].field_name == "orders.revenue"


def test_fields_parameter_limits_the_answer(sdk: Looker40SDK) -> None:
    board = sdk.dashboard("7", fields="id,title")
    assert (board.id, board.title, board.dashboard_elements) == ("7", "Sales overview", None)


def test_manual_clock_drives_states(timed_sdk: Looker40SDK, clock: ManualClock) -> None:
    task = timed_sdk.create_query_task(models.WriteCreateQueryTask(query_id="101", result_format=models.ResultFormat.csv))
    assert timed_sdk.query_task(task.id).status == "running"
    assert timed_sdk.query_task_results(task.id) == ""  # 202 while running
    clock.advance(0.05)
    assert timed_sdk.query_task_results(task.id) == "orders.created_date,orders.count\n2026-11-20,42\n"
