"""The Looker Tasks as users run them: YAML + image + runner, against the fake Looker."""
from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from interlock.paths import ROOT
from tests.tasks.conftest import INTERLOCK, TaskRunResult

pytestmark = pytest.mark.containers

MUTATING = {"update_datagroup", "start_pdt_build", "create_query_task", "scheduled_plan_run_once_by_id"}


def test_looker_refresh_task(run_task, looker, report_folder):
    report = report_folder
    run = run_task("looker-refresh", looker, workspaces={"report": report},
                   datagroups="ecommerce::orders_datagroup,12", pdt_model="ecommerce", pdt_views="orders_rollup",
                   dashboard_ids="7")
    assert run.code == 0, run.stderr
    assert run.condition == {"type": "Succeeded", "status": "True", "reason": "Succeeded",
                             "message": run.condition["message"]}
    assert run.results["datagroups-updated"] == "2"
    assert run.results["pdts-built"] == "1"
    assert run.results["queries-run"] == "2" and run.results["queries-failed"] == "0"
    assert json.loads(run.results["summary"])["skipped_tiles"] == 1
    ops = [op for op in looker.operations() if op in MUTATING]
    assert ops == ["update_datagroup", "update_datagroup", "start_pdt_build", "create_query_task", "create_query_task"]
    assert json.loads((report / "looker-refresh.json").read_text())["summary"]["queries"] == 2


def test_looker_refresh_task_recovers_from_rate_limit(run_task, looker):
    looker.faults.rate_limit("update_datagroup", times=2, retry_after=1)
    run = run_task("looker-refresh", looker, datagroups="11")
    assert run.code == 0, run.stderr
    assert [c.status for c in looker.calls_to("update_datagroup")] == [429, 429, 200]


def test_looker_refresh_task_unknown_dashboard_changes_nothing(run_task, looker):
    run = run_task("looker-refresh", looker, datagroups="11", dashboard_ids="404")
    assert run.code == 1
    assert run.condition["status"] == "False" and run.condition["reason"] == "Failed"
    assert "dashboard 404: HTTP 404" in run.stderr + json.dumps(run.outcome)
    assert [op for op in looker.operations() if op in MUTATING] == []


def test_looker_refresh_task_dry_run(run_task, looker):
    run = run_task("looker-refresh", looker, datagroups="11", dashboard_ids="7", dry_run="true")
    assert run.code == 0, run.stderr
    assert json.loads(run.results["summary"]) == {"dry_run": True}
    assert [op for op in looker.operations() if op in MUTATING] == []


def test_looker_refresh_secret_never_printed(run_task, looker):
    run = run_task("looker-refresh", looker, datagroups="11")
    assert run.code == 0
    assert looker.client_secret not in run.stderr + json.dumps(run.outcome)


def test_looker_run_schedule_task(run_task, looker):
    run = run_task("looker-run-schedule", looker, plan_ids="31,32")
    assert run.code == 0, run.stderr
    assert json.loads(run.results["plans"]) == ["31", "32"]
    assert len(run.results["run-ids"]) == 2 and len(looker.calls_to("scheduled_plan_run_once_by_id")) == 2


def test_looker_validate_task_gates(run_task, looker):
    failing = run_task("looker-validate", looker, project="broken_project")
    assert failing.code == 1
    assert failing.results["lookml-errors"] == "1" and failing.results["content-errors"] == "1"
    passing = run_task("looker-validate", looker, project="broken_project", allow="look:56,broken_project/*")
    assert passing.code == 0, passing.stderr
    assert json.loads(passing.results["summary"])["ignored"] == 2


def test_looker_image_cold_start_reaches_the_api(looker_image):
    from interlock.images.cold_start import cold_start

    seconds = cold_start("looker", looker_image)
    assert seconds is not None and 0 < seconds < 60
    assert cold_start("base", looker_image) is None  # only images with a step probe are timed


def test_looker_validate_stepaction_gates_through_a_step_ref(tmp_path, looker, looker_image):
    """The catalog's generated StepAction (stepactions/looker-validate/0.1/), referred to by
    name from a step and resolved from the catalog by `interlock run`, gates as the Task does;
    its step results become the Task's results."""
    secret = tmp_path / "looker-credentials"
    secret.mkdir()
    (secret / "client_id").write_text(looker.client_id)
    (secret / "client_secret").write_text(looker.client_secret)

    def run(**params: str) -> TaskRunResult:
        given = {"base-url": looker.url, "verify-ssl": "false", "project": "broken_project", **params}
        taskrun = {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "gate"},
                   "spec": {"taskSpec": {
                       "results": [{"name": r, "value": f"$(steps.validate.results.{r})"}
                                   for r in ("lookml-errors", "content-errors", "summary")],
                       "steps": [{"name": "validate", "ref": {"name": "looker-validate"},
                                  "params": [{"name": k, "value": v} for k, v in given.items()]}]}}}
        path = tmp_path / "taskrun.yaml"
        path.write_text(yaml.safe_dump(taskrun))
        proc = subprocess.run([INTERLOCK, "run", str(path), "-o", "json", "--network", "host",
                               "--secret", f"looker-credentials={secret}",
                               "--image-map", f"localhost/interlock/looker={looker_image}"],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
        return TaskRunResult(proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {},
                             proc.stderr)

    failing = run()
    assert failing.code == 1, failing.stderr
    assert failing.results["lookml-errors"] == "1" and failing.results["content-errors"] == "1"
    [step] = failing.outcome["steps"]
    assert (step["name"], step["reason"], step["exitCode"]) == ("validate", "Error", 1)
    passing = run(allow="look:56,broken_project/*")
    assert passing.code == 0, passing.stderr
    assert json.loads(passing.results["summary"])["ignored"] == 2
    assert looker.client_secret not in passing.stderr + json.dumps(passing.outcome)
