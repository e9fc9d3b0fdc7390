"""The fake's routes are Looker's routes, and every kind of answer it gives fits the schema.

These tests talk plain HTTP to a fake that does NOT check itself, then validate each answer
with the OpenAPI document independently, so a bug in the fake's self-check cannot hide one.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.fakes.looker import ROUTES, FakeLooker, LookerSpec, ManualClock

pytestmark = pytest.mark.reference

# Every call the Looker tasks make (issue #4); the fake must answer each one.
TASK_OPERATIONS = {
    "login", "logout", "dashboard", "dashboard_dashboard_elements", "dashboard_dashboard_filters", "look", "query",
    "create_query", "create_query_task", "query_task", "query_task_multi_results", "query_task_results",
    "all_datagroups", "datagroup", "update_datagroup", "graph_derived_tables_for_model", "start_pdt_build",
    "check_pdt_build", "stop_pdt_build",
    "scheduled_plan", "all_scheduled_plans", "scheduled_plan_run_once_by_id", "validate_project",
    "project_validation_results", "content_validation",
}


def test_every_task_operation_has_a_route() -> None:
    assert {r.operation for r in ROUTES} == TASK_OPERATIONS


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation)
def test_route_method_and_path_are_the_documents(route, spec: LookerSpec) -> None:
    operation = spec.operation(route.operation)
    assert (route.method, route.path) == (operation.method, operation.path)


@dataclass(frozen=True)
class Sample:
    operation: str
    status: int
    method: str
    path: str
    body: Any = None
    form: dict[str, str] | None = None
    authenticated: bool = True
    before: str = ""          # what to set up first: "task", "task_done", "task_error", "pdt", "validated"

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.status}{'-' + self.before if self.before else ''}"


# At least one success per route, plus the error answers tasks must handle.
SAMPLES = [
    Sample("login", 200, "POST", "/login", form={"client_id": "fake-client-id", "client_secret": "fake-client-secret"},
           authenticated=False),
    Sample("login", 404, "POST", "/login", form={"client_id": "fake-client-id", "client_secret": "wrong"},
           authenticated=False),
    Sample("logout", 204, "DELETE", "/logout"),
    Sample("dashboard", 200, "GET", "/dashboards/7"),
    Sample("dashboard", 404, "GET", "/dashboards/999"),
    Sample("dashboard", 401, "GET", "/dashboards/7", authenticated=False),
    Sample("dashboard_dashboard_elements", 200, "GET", "/dashboards/7/dashboard_elements"),
    Sample("dashboard_dashboard_filters", 200, "GET", "/dashboards/7/dashboard_filters"),
    Sample("look", 200, "GET", "/looks/55"),
    Sample("query", 200, "GET", "/queries/101"),
    Sample("query", 404, "GET", "/queries/999"),
    Sample("create_query", 200, "POST", "/queries", body={"model": "ecommerce", "view": "orders", "fields": ["orders.count"]}),
    Sample("create_query", 422, "POST", "/queries", body={"model": "ecommerce"}),
    Sample("create_query_task", 200, "POST", "/query_tasks", body={"query_id": "101", "result_format": "json"}),
    Sample("create_query_task", 422, "POST", "/query_tasks", body={"query_id": "101", "result_format": "pdf"}),
    Sample("create_query_task", 404, "POST", "/query_tasks", body={"query_id": "999", "result_format": "json"}),
    Sample("query_task", 200, "GET", "/query_tasks/{task}", before="task"),
    Sample("query_task", 404, "GET", "/query_tasks/nope"),
    Sample("query_task_multi_results", 200, "GET", "/query_tasks/multi_results?query_task_ids={task},nope", before="task_done"),
    Sample("query_task_multi_results", 200, "GET", "/query_tasks/multi_results?query_task_ids={task}", before="task_error"),
    Sample("query_task_multi_results", 400, "GET", "/query_tasks/multi_results?query_task_ids="),
    Sample("query_task_results", 200, "GET", "/query_tasks/{task}/results", before="task_done"),
    Sample("query_task_results", 202, "GET", "/query_tasks/{task}/results", before="task"),
    Sample("query_task_results", 400, "GET", "/query_tasks/{task}/results", before="task_error"),
    Sample("query_task_results", 404, "GET", "/query_tasks/nope/results"),
    Sample("all_datagroups", 200, "GET", "/datagroups"),
    Sample("datagroup", 200, "GET", "/datagroups/11"),
    Sample("datagroup", 404, "GET", "/datagroups/999"),
    Sample("update_datagroup", 200, "PATCH", "/datagroups/11", body={"stale_before": 1_700_000_000}),
    Sample("update_datagroup", 422, "PATCH", "/datagroups/11", body={"stale_before": 99_999_999_999}),
    Sample("graph_derived_tables_for_model", 200, "GET", "/derived_table/graph/model/ecommerce"),
    Sample("graph_derived_tables_for_model", 404, "GET", "/derived_table/graph/model/nope"),
    Sample("start_pdt_build", 200, "GET", "/derived_table/ecommerce/orders_rollup/start?workspace=production&source=t"),
    Sample("start_pdt_build", 404, "GET", "/derived_table/ecommerce/nope/start"),
    Sample("check_pdt_build", 200, "GET", "/derived_table/{pdt}/status", before="pdt"),
    Sample("check_pdt_build", 404, "GET", "/derived_table/999/status"),
    Sample("stop_pdt_build", 200, "GET", "/derived_table/{pdt}/stop?source=t", before="pdt"),
    Sample("all_scheduled_plans", 200, "GET", "/scheduled_plans?all_users=true"),
    Sample("scheduled_plan", 200, "GET", "/scheduled_plans/31"),
    Sample("scheduled_plan", 404, "GET", "/scheduled_plans/999"),
    Sample("scheduled_plan_run_once_by_id", 200, "POST", "/scheduled_plans/31/run_once", body={"name": "once"}),
    Sample("validate_project", 200, "POST", "/projects/broken_project/validate"),
    Sample("validate_project", 404, "POST", "/projects/nope/validate"),
    Sample("project_validation_results", 204, "GET", "/projects/ecommerce/validate"),
    Sample("project_validation_results", 200, "GET", "/projects/broken_project/validate", before="validated"),
    Sample("content_validation", 200, "GET", "/content_validation"),
    Sample("dashboard", 429, "GET", "/dashboards/7", before="rate_limit"),
    Sample("create_query_task", 502, "POST", "/query_tasks", body={"query_id": "101", "result_format": "json"}, before="bad_gateway"),
]


def test_every_route_has_a_success_sample() -> None:
    sampled = {s.operation for s in SAMPLES if s.status in (200, 204)}
    assert sampled == {r.operation for r in ROUTES}


@pytest.fixture
def unchecked_fake(clock: ManualClock) -> Iterator[FakeLooker]:
    fake = FakeLooker(clock=clock, check_spec=False)  # the test validates independently
    fake.state.add_query("ecommerce", "orders", query_id="666", error="SQL Error: division by zero")
    with fake:
        yield fake


def _login(url: str) -> str:
    answer = requests.post(f"{url}/api/4.0/login", data={"client_id": "fake-client-id",
                                                           "client_secret": "fake-client-secret"}, timeout=5)
    answer.raise_for_status()
    return answer.json()["access_token"]


def _prepare(sample: Sample, fake: FakeLooker, clock: ManualClock, session: requests.Session) -> dict[str, str]:
    api = f"{fake.url}/api/4.0"
    slots: dict[str, str] = {}
    if sample.before.startswith("task"):
        query_id = "666" if sample.before == "task_error" else "101"
        task = session.post(f"{api}/query_tasks", json={"query_id": query_id, "result_format": "json"}, timeout=5).json()
        slots["task"] = task["id"]
        if sample.before != "task":
            clock.advance(1.0)
    elif sample.before == "pdt":
        slots["pdt"] = session.get(f"{api}/derived_table/ecommerce/orders_rollup/start", timeout=5).json()["materialization_id"]
    elif sample.before == "validated":
        session.post(f"{api}/projects/broken_project/validate", timeout=5).raise_for_status()
    elif sample.before == "rate_limit":
        fake.faults.rate_limit(sample.operation, times=1, retry_after=3)
    elif sample.before == "bad_gateway":
        fake.faults.server_error(sample.operation, status=502)
    return slots


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.id)
def test_answer_fits_the_documented_schema(sample: Sample, unchecked_fake: FakeLooker, clock: ManualClock,
                                           spec: LookerSpec) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {_login(unchecked_fake.url)}"
    path = sample.path.format(**_prepare(sample, unchecked_fake, clock, session))
    if not sample.authenticated:
        session.headers.pop("Authorization")
    answer = session.request(sample.method, f"{unchecked_fake.url}/api/4.0{path}", json=sample.body,
                             data=sample.form, timeout=5)
    assert answer.status_code == sample.status, answer.text
    if sample.status == 429:
        assert answer.headers["Retry-After"] == "3"
    declared = spec.response_schema(sample.operation, sample.status)
    text_schema = declared is not None and {k: v for k, v in declared.items() if k != "components"} == {"type": "string"}
    body: Any = answer.text if (text_schema or not answer.content) else answer.json()
    assert spec.validate(sample.operation, sample.status, body) == []


def test_validator_rejects_invented_fields_and_wrong_types(spec: LookerSpec) -> None:
    # The check above is only worth something if it can fail.
    assert spec.validate("datagroup", 200, {"id": "11", "stale_before": 5}) == []
    assert spec.validate("datagroup", 200, {"id": "11", "stale_before": None}) == []   # nullable
    assert any("invented" in p for p in spec.validate("datagroup", 200, {"id": "11", "invented": 1}))
    assert any("stale_before" in p for p in spec.validate("datagroup", 200, {"id": "11", "stale_before": "soon"}))
    assert any("'view' is a required property" in p for p in spec.validate("query", 200, {"model": "m"}))
    assert spec.validate("dashboard", 404, {"message": "Not found"}) != []        # documentation_url is required


def test_error_links_do_not_make_looker_sdk_fetch_docs() -> None:
    # looker-sdk downloads documentation for links of this shape while raising an error.
    from looker_sdk.error import ErrorDocHelper

    from tests.fakes.looker.routes import DOCUMENTATION_URL
    assert ErrorDocHelper().parse_and_lookup(DOCUMENTATION_URL) == ("", "")
    assert json.loads(json.dumps(DOCUMENTATION_URL)).startswith("https://")
