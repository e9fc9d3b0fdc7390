"""Pure pieces of the Istio steps: weights and routes, PromQL templates, params, the summary."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from interlock_steps import runtime as rt
from interlock_steps.istio import canary_shift, prometheus
from interlock_steps.istio.canary import Outcome, Plan
from interlock_steps.istio.judge import Judge
from interlock_steps.istio.virtualservice import check_subsets
from interlock_steps.istio.weights import (
    effective,
    find_route,
    parse_recorded_weights,
    parse_weights,
    weight_patch,
)
from interlock_steps.istio.world import parse_checks

from .objects import destination_rule, virtual_service


@pytest.mark.parametrize(("text", "expected"), [
    ("stable=90,canary=10", {"stable": 90, "canary": 10}),
    (" stable = 90 ; canary = 10 ", {"stable": 90, "canary": 10}),
    ('{"reviews/stable": 100, "reviews/canary": 0}', {"reviews/stable": 100, "reviews/canary": 0}),
    ("only=100", {"only": 100}),
])
def test_parse_weights(text, expected):
    assert parse_weights(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("stable=90,stable=10", "appears twice"), ("stable=101,canary=-1", "must be 0..100, got 101"),
    ("stable", "is not KEY=WEIGHT"), ('{"a": true, "b": 100}', "must be an integer"), ("", "no weights"),
    ("a=50,b=49", "add up to 99"), ("[1]", "not KEY=WEIGHT"),
])
def test_parse_weights_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_weights(text)


def test_recorded_weights_keep_null_and_need_not_add_up():
    assert parse_recorded_weights('{"stable": 3, "canary": null}') == {"stable": 3, "canary": None}


def test_weight_patch_targets_only_the_weights_and_carries_the_version():
    vs = virtual_service()
    vs["metadata"]["resourceVersion"] = "42"
    route = find_route(vs, "", ["stable", "canary"])
    assert (route.index, route.name, route.slots) == (1, "primary", {"stable": 0, "canary": 1})
    assert weight_patch(vs, route, {"stable": 100, "canary": 0}) == []
    assert weight_patch(vs, route, {"stable": 100, "canary": None}) == [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": "42"},
        {"op": "remove", "path": "/spec/http/1/route/1/weight"}]


def test_absent_weights_count_as_istio_reads_them():
    assert effective({"a": None}) == {"a": 100}
    assert effective({"a": 100, "b": None}) == {"a": 100, "b": 0}
    vs = virtual_service(stable=100, canary=None)
    vs["metadata"]["resourceVersion"] = "1"
    assert weight_patch(vs, find_route(vs, "primary", ["stable", "canary"]), {"stable": 100, "canary": 0}) == []


def test_subsets_match_short_and_full_host_names():
    vs = virtual_service()
    route = find_route(vs, "primary", ["stable", "canary"])
    check_subsets(vs, route, [destination_rule()])
    rule = destination_rule()
    rule["spec"]["host"] = "reviews"  # short name in the DestinationRule's namespace
    check_subsets(vs, route, [rule])
    other = destination_rule()
    other["spec"]["host"] = "ratings.shop.svc.cluster.local"
    with pytest.raises(rt.BadInput, match="has no DestinationRule for it"):
        check_subsets(vs, route, [other])


def test_render_escapes_values_and_names_unknown_placeholders():
    assert prometheus.render('x{a="{{ v }}"}', {"v": 'q"\\'}) == 'x{a="q\\"\\\\"}'
    with pytest.raises(rt.BadInput, match=r"unknown placeholder \{\{ nope \}\} \(known: v\)"):
        prometheus.render("{{nope}}", {"v": "1"})


def test_the_default_templates_select_destination_reporter_and_one_workload():
    for name, template in prometheus.QUERIES.items():
        rendered = prometheus.render(template, {"namespace": "shop", "workload": "reviews-v2"})
        assert 'reporter="destination"' in rendered and 'destination_workload="reviews-v2"' in rendered, name


def test_query_and_check_params():
    assert prometheus.parse_queries('{"errors": "sum(x)"}') == {"errors": "sum(x)"}
    with pytest.raises(ValueError, match="unknown query names"):
        prometheus.parse_queries('{"error": "sum(x)"}')
    assert parse_checks('[{"name": "cpu", "query": "q", "max": 0.8}]')[0]["max"] == 0.8
    for bad in ('{"name": "x"}', '[{"name": "x", "query": "q"}]', '[{"name": "x", "query": "q", "max": "1"}]',
                '[{"name": "x", "query": "q", "max": 1, "extra": 2}]'):
        with pytest.raises(ValueError):
            parse_checks(bad)


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600)])
def test_durations(text, seconds):
    assert canary_shift.duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "1x", "1m 30s", "-5"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        canary_shift.duration(text)


def params(**overrides):
    base = {"steps": [], "step_weight": 0, "max_weight": 50, "promote": True, "interval": 60.0, "check_every": 15.0,
            "min_requests": 100, "max_inconclusive": 3, "on_inconclusive": "rollback"}
    return SimpleNamespace(**(base | overrides))


def test_plan_from_params():
    assert canary_shift.plan_of(params()).steps == (5, 10, 25, 50)
    assert canary_shift.plan_of(params(steps=[5, 10, 25, 50, 100])).steps == (5, 10, 25, 50)
    assert canary_shift.plan_of(params(step_weight=10, max_weight=50)).steps == (10, 20, 30, 40, 50)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"steps": [10], "step_weight": 10}, "either 'steps' or 'step-weight'"),
    ({"steps": [10, 100], "promote": False}, "'promote' is false"),
    ({"steps": [100, 50]}, "only be the last step"),
    ({"steps": [20, 10]}, "steps must increase"),
    ({"step_weight": 60, "max_weight": 50}, "0 < step-weight <= max-weight"),
    ({"check_every": 90.0}, "'check-every' (90s) must not exceed"),
    ({"min_requests": 0}, "'min-requests' must be at least 1"),
])
def test_plan_errors_name_the_param(overrides, message):
    with pytest.raises(rt.BadInput) as raised:
        canary_shift.plan_of(params(**overrides))
    assert message in raised.value.message


def test_summary_fits_the_room_left():
    judge = Judge(confidence=0.99, error_tolerance=0, latency_quantile=0.99, latency_tolerance=0.5, min_requests=100)
    outcome = Outcome("rolled-back", "x" * 5000, 1, 10, True)
    plan = Plan(steps=(5, 10, 25, 50), interval=60, check_every=15)
    text = canary_shift.summary_result(outcome, plan, judge, room=600)
    assert len(text.encode()) <= 600 and json.loads(text)["decision"] == "rolled-back"
    assert json.loads(canary_shift.summary_result(Outcome("promoted", "ok", 4, 100, False), plan, judge, 3000))["reason"] == "ok"
