"""looker-refresh against the fake Looker: order, results, filters, faults, nothing half-changed."""
from __future__ import annotations

import json

import pytest

from interlock_steps.looker import refresh

FULL = ["--datagroups", "ecommerce::orders_datagroup,12", "--pdt-model", "ecommerce",
        "--pdt-views", "orders_rollup", "--dashboard-ids", "7"]


def test_refresh_runs_data_before_warming_and_reports_counts(run_step, looker, mutations):
    run = run_step(refresh, *FULL, report=True)
    assert run.code == 0, run.log
    assert run.results["datagroups-updated"] == "2"
    assert run.results["pdts-built"] == "1"
    assert run.results["queries-run"] == "2"
    assert run.results["queries-failed"] == "0"
    summary = json.loads(run.results["summary"])
    assert summary == {"datagroups": 2, "pdts": {"built": 1, "failed": [], "failed_count": 0}, "tiles": 2,
                       "queries": 2, "failed_queries": [], "skipped_tiles": 1}
    ops = mutations()
    # every datagroup update, then the PDT build, then the query tasks
    assert ops.index("start_pdt_build") > max(i for i, op in enumerate(ops) if op == "update_datagroup")
    assert min(i for i, op in enumerate(ops) if op == "create_query_task") > ops.index("start_pdt_build")
    assert {g.id: g.triggered_at is not None for g in looker.state.datagroups.values()} == {"11": True, "12": True}
    assert [t["status"] for t in run.report["tiles"]] == ["complete", "complete"]
    assert run.report["skipped"][0]["reason"] == "no query (text tile)"


def test_dashboard_default_filters_are_applied_to_listening_tiles(run_step, looker):
    looker.state.dashboards["7"].filters[0].default_value = "30 days"  # the saved query says 7 days
    run = run_step(refresh, "--dashboard-ids", "7", report=True)
    assert run.code == 0, run.log
    [created] = [c for c in looker.calls if c.operation == "create_query"]
    assert created.body["filters"] == {"orders.created_date": "30 days"}
    tile = next(t for t in run.report["tiles"] if t["element"] == "201")
    filtered = next(q for q in looker.state.queries.values() if q.filters == {"orders.created_date": "30 days"})
    assert (tile["filters"], tile["query_id"]) == ({"orders.created_date": "30 days"}, filtered.id)
    assert filtered.id != "101" and filtered.fields == looker.state.queries["101"].fields
    assert sorted(c.body["query_id"] for c in looker.calls_to("create_query_task")) == sorted([filtered.id, "102"])


def test_a_default_equal_to_the_saved_filter_reuses_the_saved_query(run_step, looker):
    # Looker returns the existing query for an identical create_query: the tile runs query 101.
    run = run_step(refresh, "--dashboard-ids", "7", report=True)
    assert run.code == 0, run.log
    tile = next(t for t in run.report["tiles"] if t["element"] == "201")
    assert (tile["filters"], tile["query_id"]) == ({"orders.created_date": "7 days"}, "101")


def test_warming_never_has_more_queries_in_flight_than_the_concurrency(run_step, looker):
    # 12 queries of 0.5 s at concurrency 3: the fake sees at most 3 at once, and does see 3
    # (the three creates of the first batch go out together, long before any query ends).
    board = [looker.state.element(f"tile {i}", query_id=looker.state.add_query(
        "ecommerce", "orders", fields=[f"orders.f{i}"], runtime=0.5).id) for i in range(12)]
    looker.state.add_dashboard("800", "Busy", elements=board)
    run = run_step(refresh, "--dashboard-ids", "800", "--concurrency", "3")
    assert run.code == 0, run.log
    assert run.results["queries-run"] == "12"
    assert looker.state.runner.peak_in_flight == {"1": 3}


def test_reset_sets_stale_before(run_step, looker):
    run = run_step(refresh, "--datagroups", "11", "--datagroup-action", "reset")
    assert run.code == 0, run.log
    group = looker.state.datagroups["11"]
    assert group.stale_before is not None and group.triggered_at is None


def test_unknown_datagroup_fails_before_anything_changes(run_step, looker, mutations):
    run = run_step(refresh, "--datagroups", "11,ecommerce::nope,99", "--dashboard-ids", "7")
    assert run.code == 2
    error = run.lines[-1]["msg"]
    assert "ecommerce::nope" in error and "99" in error and "datagroups" in error
    assert mutations() == []


def test_unknown_dashboard_fails_before_anything_changes(run_step, looker, mutations):
    run = run_step(refresh, "--datagroups", "11", "--dashboard-ids", "7,404")
    assert run.code == 1
    assert "dashboard 404: HTTP 404" in run.lines[-1]["msg"]
    assert mutations() == []


@pytest.mark.parametrize("start_text", ["null", "absent", "empty", "status"])
def test_a_pdt_build_is_started_whatever_the_start_answer_text(run_step, looker, start_text):
    # Public clients read only materialization_id from the start answer; its resp_text may be null.
    looker.state.pdt_views[("ecommerce", "orders_rollup")].start_text = start_text
    run = run_step(refresh, "--pdt-model", "ecommerce", "--pdt-views", "orders_rollup", report=True)
    assert run.code == 0, run.log
    assert run.results["pdts-built"] == "1"
    [build] = run.report["pdt_builds"]
    assert (build["status"], build["materialization_id"]) == ("complete", looker.calls_to("check_pdt_build")[0].path.split("/")[-2])


@pytest.mark.parametrize("args, message", [
    (["--pdt-model", "ecommerce", "--pdt-views", "nope,orders_rollup,gone"],
     "param 'pdt-views': model 'ecommerce' has no derived table nope, gone; known: broken_rollup, orders_rollup"),
    (["--pdt-model", "nomodel", "--pdt-views", "orders_rollup"],
     "param 'pdt-model': model 'nomodel' does not exist (or this user cannot see it)"),
])
def test_unknown_pdt_view_or_model_fails_before_anything_changes(run_step, looker, mutations, args, message):
    run = run_step(refresh, "--datagroups", "11", *args, "--dashboard-ids", "7")
    assert (run.code, run.lines[-1]["msg"]) == (2, message)
    assert mutations() == [] and looker.calls_to("create_query") == []


def test_dry_run_resolves_everything_and_changes_nothing(run_step, looker, mutations):
    run = run_step(refresh, *FULL, "--dry-run", "true")
    assert run.code == 0, run.log
    planned = [line["target"] for line in run.lines if line.get("outcome") == "planned"]
    assert "ecommerce::orders_datagroup (id 11)" in planned and "ecommerce::orders_rollup" in " ".join(planned)
    assert mutations() == []


def test_rate_limit_with_retry_after_is_honoured_and_recovered(run_step, looker):
    looker.faults.rate_limit("update_datagroup", times=1, retry_after=1)
    run = run_step(refresh, "--datagroups", "11")
    assert run.code == 0, run.log
    attempts = looker.calls_to("update_datagroup")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.9  # waited for Retry-After: 1


def test_server_errors_are_retried(run_step, looker):
    looker.faults.server_error("create_query_task", status=502, times=2)
    run = run_step(refresh, "--dashboard-ids", "7")
    assert run.code == 0, run.log
    assert run.results["queries-failed"] == "0"


def test_token_expiry_mid_run_logs_in_again(run_step, looker):
    looker.faults.tokens.max_calls = 2  # the token dies after 2 calls, long before it said it would
    run = run_step(refresh, "--datagroups", "11,12")
    assert run.code == 0, run.log
    assert [(c.operation, c.status) for c in looker.calls] == [
        ("login", 200), ("all_datagroups", 200), ("update_datagroup", 200),
        ("update_datagroup", 401), ("login", 200), ("update_datagroup", 200)]


def test_wrong_credentials_say_the_login_failed_and_what_to_check(run_step, looker, monkeypatch, mutations):
    monkeypatch.setenv("LOOKERSDK_CLIENT_SECRET", "definitely-wrong-s3cret")
    run = run_step(refresh, "--datagroups", "11")
    assert run.code == 1
    # Looker answers wrong API credentials with 404 "Not found": not a missing datagroup.
    assert run.lines[-1]["msg"] == (
        "list datagroups: logging in to Looker failed: HTTP 404: the API credentials were refused; check the keys "
        "client_id and client_secret of the Secret named by param 'secret-name' (env LOOKERSDK_CLIENT_ID, "
        "LOOKERSDK_CLIENT_SECRET) and that param 'base-url' is your Looker API host")
    assert [(c.operation, c.status) for c in looker.calls] == [("login", 404)]
    assert "definitely-wrong-s3cret" not in run.log
    assert mutations() == []


def test_failed_pdt_build_fails_the_task_and_names_it(run_step, looker):
    run = run_step(refresh, "--pdt-model", "ecommerce", "--pdt-views", "orders_rollup,broken_rollup")
    assert run.code == 1
    assert "ecommerce::broken_rollup" in run.lines[-1]["msg"] and "error" in run.lines[-1]["msg"]
    assert run.results["pdts-built"] == "1"


def test_fail_on_threshold(run_step, looker):
    looker.state.queries["102"].error = "SQL error: boom"
    failing = run_step(refresh, "--dashboard-ids", "7")
    assert failing.code == 1 and "1 of 2 queries failed" in failing.lines[-1]["msg"]
    tolerant = run_step(refresh, "--dashboard-ids", "7", "--fail-on", "50%")
    assert tolerant.code == 0 and tolerant.results["queries-failed"] == "1"




def test_slow_query_times_out_and_counts_as_failed(run_step, looker):
    looker.state.queries["102"].runtime = 30.0  # far beyond the per-query timeout below
    run = run_step(refresh, "--dashboard-ids", "7", "--query-timeout", "0.5", "--fail-on", "none", report=True)
    assert run.code == 0, run.log
    assert run.results["queries-failed"] == "1"
    slow = [t for t in run.report["tiles"] if t["status"] == "timeout"]
    assert len(slow) == 1 and slow[0]["message"].startswith("still running after 0.5s")


def test_more_than_15_queries_in_flight_is_refused_before_anything_changes(run_step, looker, mutations):
    # Looker runs at most 15 queries per user at once and queues the rest; the task never asks for more.
    run = run_step(refresh, "--datagroups", "11", "--dashboard-ids", "7", "--concurrency", "20")
    assert run.code == 2 and "at most 15" in run.lines[-1]["msg"]
    assert mutations() == []


def test_many_failures_keep_the_results_small_and_the_real_message(run_step, looker):
    # 80 failed PDTs with 45-character names and 30 failed queries: every list in a result is capped.
    views = [f"rollup_{i:02d}_{'x' * 36}" for i in range(80)]
    for view in views:
        looker.state.add_pdt("ecommerce", view, runtime=0.01, error="SQL Error: boom")
    board = [looker.state.element(f"tile {i}", query_id=looker.state.add_query(
        "ecommerce", "orders", fields=[f"orders.f{i}"], error="SQL error").id) for i in range(30)]
    looker.state.add_dashboard("900", "Broken", elements=board)
    run = run_step(refresh, "--pdt-model", "ecommerce", "--pdt-views", ",".join(views), "--dashboard-ids", "900",
                   report=True)
    assert run.code == 1, run.log                    # the PDT failure, not ResultsRejected
    assert run.lines[-1]["msg"].startswith("80 PDT build(s) failed: pdt ecommerce::rollup_00_")
    assert run.lines[-1]["msg"].endswith("; … and 70 more")
    summary = json.loads(run.results["summary"])
    assert summary["pdts"] == {"built": 0, "failed": views[:20], "failed_count": 80}
    assert len(summary["failed_queries"]) == 20 and run.results["queries-failed"] == "30"
    assert len(run.report["pdt_builds"]) == 80      # the full lists are in the report
