"""The fake checks every exchange against Looker's OpenAPI document, in every use: requests
(query parameters and bodies against each operation's requestBody), answers (with formats such
as date-time), and its own crashes. Each check is shown to fail on what it exists to catch."""
from __future__ import annotations

import pytest
import requests

from tests.fakes.looker import FakeLooker, LookerSpec
from tests.fakes.looker.spec import reference_spec
from tests.fakes.reference import REQUIRE_REFERENCE_ENV
from tests.reference import reference_or_skip

pytestmark = pytest.mark.reference


def _session(fake: FakeLooker) -> requests.Session:
    session = requests.Session()
    token = session.post(f"{fake.url}/api/4.0/login", data={"client_id": fake.client_id,
                                                             "client_secret": fake.client_secret}, timeout=5)
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return session


def test_every_fake_checks_itself_by_default(spec: LookerSpec) -> None:
    assert FakeLooker().spec is spec                       # one parsed document per process
    assert FakeLooker(check_spec=False).spec is None


@pytest.mark.parametrize("body, problem", [
    ({"query_id": 101, "result_format": "json"}, "at query_id: 101 is not of type 'string', 'null'"),
    ({"query_id": "101", "result_format": "json", "priority": "high"}, "'priority' was unexpected"),
    ({"query_id": "101", "result_format": "json", "can": {}}, "'can' was unexpected"),   # readOnly
    ({"result_format": "json"}, "'query_id' is a required property"),
])
def test_request_bodies_are_checked_against_the_request_body_schema(fake: FakeLooker, spec: LookerSpec,
                                                                     body: dict, problem: str) -> None:
    answer = _session(fake).post(f"{fake.url}/api/4.0/query_tasks", json=body, timeout=5)
    assert answer.status_code == 400 and problem in answer.json()["message"]
    assert [(v.operation, v.status) for v in fake.spec_violations] == [("create_query_task", 400)]
    assert any(problem in p for p in fake.spec_violations[0].problems)
    with pytest.raises(AssertionError, match="create_query_task 400"):
        fake.assert_clean()
    fake.spec_violations.clear()  # seen: the fixture's own check must pass


def test_query_parameters_are_checked(fake: FakeLooker, spec: LookerSpec) -> None:
    session = _session(fake)
    assert session.get(f"{fake.url}/api/4.0/scheduled_plans?all_users=yes", timeout=5).status_code == 400
    assert session.get(f"{fake.url}/api/4.0/dashboards/7?colour=red", timeout=5).status_code == 400
    assert [p.split(": ", 1)[1] for v in fake.spec_violations for p in v.problems] == [
        "query parameter 'all_users' must be true or false, got 'yes'",
        "query parameter 'colour' is not declared (declared: fields)"]
    fake.spec_violations.clear()


def test_a_body_where_none_is_taken_is_a_violation(fake: FakeLooker, spec: LookerSpec) -> None:
    answer = _session(fake).get(f"{fake.url}/api/4.0/dashboards/7", json={"x": 1}, timeout=5)
    assert answer.status_code == 400 and "takes no body" in answer.json()["message"]
    fake.spec_violations.clear()


@pytest.mark.parametrize("value, ok", [
    ("2026-01-05T09:30:00Z", True), ("2026-01-05T09:30:00.123+02:00", True),
    ("2026-13-05T09:30:00Z", False), ("2026-01-05 09:30:00", False), ("yesterday", False),
    ("2026-01-05T25:30:00Z", False),
])
def test_date_time_formats_are_checked(spec: LookerSpec, value: str, ok: bool) -> None:
    problems = spec.validate("scheduled_plan", 200, {"id": "31", "created_at": value})
    assert (problems == []) is ok, problems


def test_int64_range_is_checked(spec: LookerSpec) -> None:
    assert spec.validate("datagroup", 200, {"id": "11", "stale_before": 2 ** 63 - 1}) == []
    assert spec.validate("datagroup", 200, {"id": "11", "stale_before": 2 ** 63}) != []


def test_an_answer_with_a_wrong_field_type_fails_the_test_that_caused_it(fake: FakeLooker, spec: LookerSpec) -> None:
    fake.state.datagroups["11"].created_at = "yesterday"  # type: ignore[assignment]  # an int64 in the spec
    answer = _session(fake).get(f"{fake.url}/api/4.0/datagroups/11", timeout=5)
    assert answer.status_code == 500 and "created_at" in answer.json()["message"]
    with pytest.raises(AssertionError, match="datagroup 200: datagroup 200: at created_at"):
        fake.assert_clean()
    fake.spec_violations.clear()


def test_a_crash_inside_the_fake_is_recorded(fake: FakeLooker) -> None:
    fake.state.dashboards["7"].elements[0].query_id = "no-such-query"  # the handler's lookup raises KeyError
    answer = _session(fake).get(f"{fake.url}/api/4.0/dashboards/7", timeout=5)
    assert answer.status_code == 500
    assert [(v.operation, v.status) for v in fake.spec_violations] == [("dashboard", 500)]
    assert fake.spec_violations[0].problems == ["the fake crashed: KeyError: 'no-such-query'"]
    with pytest.raises(AssertionError, match="crashed"):
        fake.assert_clean()
    fake.spec_violations.clear()


def test_a_crash_before_any_route_is_recorded_too(fake: FakeLooker, monkeypatch) -> None:
    def broken(body: bytes, content_type: str) -> None:
        raise ValueError("unreadable")
    monkeypatch.setattr("tests.fakes.looker.server._parse_body", broken)
    answer = requests.get(f"{fake.url}/api/4.0/dashboards/7", timeout=5)
    assert answer.status_code == 500 and answer.json()["message"] == "fake Looker crashed: ValueError: unreadable"
    assert [(v.operation, v.status) for v in fake.spec_violations] == [("GET /api/4.0/dashboards/7", 500)]
    fake.spec_violations.clear()


def test_a_missing_reference_fails_when_make_test_requires_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(REQUIRE_REFERENCE_ENV, raising=False)
    assert reference_spec(tmp_path) is None                                   # a user's clone: unchecked
    with pytest.raises(pytest.skip.Exception):
        reference_or_skip(tmp_path / "looker", "the Looker OpenAPI document")
    monkeypatch.setenv(REQUIRE_REFERENCE_ENV, "1")
    with pytest.raises(FileNotFoundError, match=REQUIRE_REFERENCE_ENV):
        reference_spec(tmp_path / "elsewhere")                                # (a root not cached yet)
    with pytest.raises(pytest.fail.Exception, match=REQUIRE_REFERENCE_ENV):
        reference_or_skip(tmp_path / "looker", "the Looker OpenAPI document")
