"""looker-run-schedule and looker-validate against the fake Looker."""
from __future__ import annotations

import json

from interlock_steps.looker import run_schedule, validate


def test_run_schedule_by_id_and_datagroup(run_step, looker):
    plan = looker.state.scheduled_plans["32"]
    plan.datagroup, plan.crontab = "orders_datagroup", None
    run = run_step(run_schedule, "--plan-ids", "31", "--datagroup", "orders_datagroup")
    assert run.code == 0, run.log
    assert json.loads(run.results["plans"]) == ["31", "32"]
    run_ids = json.loads(run.results["run-ids"])
    assert len(run_ids) == 2 and len(looker.calls_to("scheduled_plan_run_once_by_id")) == 2


def test_run_schedule_of_many_plans_lists_the_first_20_in_results(run_step, looker):
    ids = [f"{i:024d}" for i in range(120)]  # long ids: 120 of them would overflow Tekton's 4096 bytes
    for plan_id in ids:
        plan = looker.state.add_scheduled_plan(plan_id, f"plan {plan_id}", "1", dashboard_id="7")
        plan.datagroup, plan.crontab = "orders_datagroup", None
    bound = [i for i, p in looker.state.scheduled_plans.items() if p.datagroup == "orders_datagroup"]
    assert len(bound) >= 120  # ours, and any the default content binds to the datagroup
    run = run_step(run_schedule, "--datagroup", "orders_datagroup")
    assert run.code == 0, run.log[-500:]
    assert len(looker.calls_to("scheduled_plan_run_once_by_id")) == len(bound)
    assert json.loads(run.results["plans"]) == bound[:20]
    assert len(json.loads(run.results["run-ids"])) == 20
    assert f"{len(bound)} plans: the results list the first 20" in run.log


def test_run_schedule_unknown_plan_runs_nothing(run_step, looker, mutations):
    run = run_step(run_schedule, "--plan-ids", "31,999")
    assert run.code == 2 and "scheduled plan 999 does not exist" in run.lines[-1]["msg"]
    assert mutations() == []


def test_run_schedule_datagroup_without_plans_is_bad_input(run_step, looker, mutations):
    run = run_step(run_schedule, "--datagroup", "no_such_group")
    assert run.code == 2 and "no_such_group" in run.lines[-1]["msg"]
    assert mutations() == []


def test_run_schedule_dry_run(run_step, looker, mutations):
    run = run_step(run_schedule, "--plan-ids", "31", "--dry-run", "true")
    assert run.code == 0 and json.loads(run.results["run-ids"]) == [] and mutations() == []


def test_validate_counts_errors_and_fails_the_gate(run_step, looker):
    run = run_step(validate, "--project", "broken_project", report=True)
    assert run.code == 1
    assert run.results["lookml-errors"] == "1" and run.results["content-errors"] == "1"
    assert run.report["lookml"][0]["file"] == "broken_project/orders.view.lkml"
    assert run.report["content"][0]["content"] == "look:56"


def test_validate_allow_list_and_severity(run_step, looker):
    run = run_step(validate, "--project", "broken_project", "--allow", "look:56,broken_project/*.lkml")
    assert run.code == 0, run.log
    assert json.loads(run.results["summary"]) == {"lookml_errors": 0, "content_errors": 0, "ignored": 2}
    run = run_step(validate, "--project", "broken_project", "--severity", "fatal", "--content", "false")
    assert run.code == 0 and run.results["lookml-errors"] == "0"


def test_validate_clean_project_passes(run_step, looker):
    run = run_step(validate, "--project", "ecommerce", "--content", "false")
    assert run.code == 0 and run.results["lookml-errors"] == "0"


def test_validate_bad_severity_is_named(run_step, looker):
    run = run_step(validate, "--project", "ecommerce", "--severity", "loud")
    assert run.code == 2 and "severity" in run.lines[-1]["msg"] and "loud" in run.lines[-1]["msg"]
