"""ml-feature-release, the flagship, end to end: Vertex AI, then Istio, then Looker, in the real
images against every fake at once. The release, then a failure at each stage (the training job,
the model's verification, the application's canary, the analytics gate): each time the finally
roll-backs that have something to undo run, every system ends as it began, and the PipelineRun's
status, reasons and skipped tasks are Tekton's."""
from __future__ import annotations

import json

import pytest

from tests.fakes.mesh import Behaviour
from tests.fakes.vertex import JobPlan

from .conftest import FAILED, MISSING, NOT_NEEDED, OK, STOPPING, actions, assert_as_it_began, failed, run_pipeline
from .world import NEW_MODEL, squash

pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]

PIPELINE = "ml-feature-release"
MODEL_RELEASE = [("vertex", "customJobs.create"), ("vertex", "models.upload"), ("vertex", "endpoints.deployModel")]
TRAINED_AND_DEPLOYED = [("vertex-train", "create custom job", "ok"), ("vertex-deploy", "upload model", "ok"),
                        ("vertex-deploy", "deploy model", "ok")]


def test_the_release_goes_through_the_three_systems_in_order(world, expected_results):
    w = world()
    run = run_pipeline(w, PIPELINE, "release")
    assert run.code == 0, run.stderr
    assert run.condition == {"type": "Succeeded", "status": "True", "reason": "Completed",
                             "message": "Tasks Completed: 8 (Failed: 0, Cancelled 0), Skipped: 2"}
    assert run.tasks == {"train": OK, "deploy-model": OK, "verify-model": OK, "promote-model": OK, "canary": OK,
                         "validate": OK, "refresh": OK, "deliver": OK,
                         "rollback-traffic": NOT_NEEDED, "rollback-model": NOT_NEEDED}
    # the sample's results, as the kind e2e harness asserts them
    assert {k: v for k, v in run.results.items() if k not in ("job", "deployed-model-id")} == expected_results(PIPELINE)

    # the order of the calls across systems: the model, then the application's traffic, then Looker
    assert squash(w.calls()) == [
        *MODEL_RELEASE, ("vertex", "endpoints.patch"),                          # verified, then promoted
        ("istio", "weights 90/10"), ("istio", "weights 75/25"), ("istio", "weights 50/50"), ("istio", "weights 0/100"),
        ("looker", "validate_project"), ("looker", "content_validation"), ("looker", "update_datagroup"),
        ("looker", "start_pdt_build"), ("looker", "create_query_task"), ("looker", "scheduled_plan_run_once_by_id")]

    # what each system serves or holds now
    end, start = w.snapshot(), w.start
    new = run.results["deployed-model-id"]
    [endpoint] = end["vertex"]["endpoints"].values()
    assert endpoint["traffic"] == {new: 100} and endpoint["deployed"][new].endswith("@2")
    assert [d["weight"] for d in end["istio"]["http"][1]["route"]] == [0, 100]
    assert end["looker"]["plan-runs"] == ["32"] and end["looker"]["pdt-builds"] == 1
    assert end["looker"]["datagroups"]["11"] != start["looker"]["datagroups"]["11"]      # triggered
    assert end["looker"]["datagroups"]["12"] == start["looker"]["datagroups"]["12"]

    # one audit trail across the three systems, in the order things changed
    assert actions(w) == [
        *TRAINED_AND_DEPLOYED, ("vertex-deploy", "update endpoint traffic", "ok"),
        *[("istio-canary-shift", "set weights", "changed")] * 4, ("istio-canary-shift", "promote canary", "ok"),
        ("looker-refresh", "trigger datagroup", "ok"), ("looker-refresh", "rebuild pdt", "ok"),
        ("looker-run-schedule", "run once", "ok")]
    stamps = [line["ts"] for line in w.audit()]
    assert stamps == sorted(stamps)
    report = {p.name for p in (w.workspaces["records"] / "report").iterdir()}
    assert report == {"vertex-verify.json", "istio-canary-shift.json", "looker-validate.json", "looker-refresh.json"}


def test_a_failed_training_job_changes_nothing(world):
    w = world(job=JobPlan(pending=0.2, running=0.5, outcome="JOB_STATE_FAILED"))
    run = run_pipeline(w, PIPELINE, "job-failed")
    assert run.code == 1
    assert run.condition == failed(completed=1, skipped=9)
    # nothing was deployed: the finally roll-backs find no results to act on, as in Tekton
    assert run.tasks == {"train": FAILED, **dict.fromkeys(
        ["deploy-model", "verify-model", "promote-model", "canary", "validate", "refresh", "deliver"], STOPPING),
        "rollback-traffic": MISSING, "rollback-model": MISSING}
    assert run.task("train")["results"]["state"] == "JOB_STATE_FAILED"
    assert "workerpool0-0 exited with a non-zero status of 1" in run.stderr
    assert squash(w.calls()) == [("vertex", "customJobs.create")]
    assert actions(w) == [("vertex-train", "create custom job", "ok"), ("vertex-train", "step", "failed")]
    assert_as_it_began(w)


def test_a_model_that_fails_verification_is_taken_off_and_nothing_else_moves(world):
    w = world()
    w.vertex.state.predictors[NEW_MODEL].bias = 1.5          # the new version answers 0.5 off
    run = run_pipeline(w, PIPELINE, "bad-model")
    assert run.code == 1
    assert run.condition == failed(completed=4, skipped=6)
    assert run.tasks == {"train": OK, "deploy-model": OK, "verify-model": FAILED, **dict.fromkeys(
        ["promote-model", "canary", "validate", "refresh", "deliver"], STOPPING),
        "rollback-traffic": MISSING, "rollback-model": OK}
    # vertex-verify undid its deployment at once; the finally's vertex-rollback found nothing left
    assert run.task("rollback-model")["results"]["rolled-back"] == "none"
    assert "prediction(s) differ from the golden ones" in run.stderr
    assert squash(w.calls()) == [*MODEL_RELEASE, ("vertex", "endpoints.undeployModel")]
    assert actions(w) == [*TRAINED_AND_DEPLOYED, ("vertex-verify", "undeploy model", "ok"),
                          ("vertex-verify", "step", "failed")]
    assert_as_it_began(w)


def test_a_bad_canary_rolls_back_the_application_and_the_model(world):
    w = world(canary=Behaviour("reviews-v2", error_rate=0.05), rps=600)
    run = run_pipeline(w, PIPELINE, "bad-canary", interval="4s")   # a margin for the first looks under load
    assert run.code == 1
    assert run.condition == failed(completed=6, skipped=4)
    assert run.tasks == {"train": OK, "deploy-model": OK, "verify-model": OK, "promote-model": OK, "canary": FAILED,
                         "validate": STOPPING, "refresh": STOPPING, "deliver": STOPPING,
                         "rollback-traffic": MISSING, "rollback-model": OK}
    assert run.task("canary")["results"]["decision"] == "rolled-back"
    assert run.task("rollback-model")["results"]["rolled-back"] == "undeployed"
    assert "canary worse than stable on errors" in run.stderr
    calls = squash(w.calls())
    assert calls[:5] == [*MODEL_RELEASE, ("vertex", "endpoints.patch"), ("istio", "weights 90/10")]
    assert calls[-2:] == [("istio", "weights 100/0"), ("vertex", "endpoints.undeployModel")]   # traffic first
    assert not any(system == "looker" for system, _ in calls)
    assert actions(w)[-3:] == [("istio-canary-shift", "roll back", "changed"), ("istio-canary-shift", "step", "failed"),
                               ("vertex-rollback", "undeploy model", "ok")]
    assert_as_it_began(w)


def test_a_looker_validation_error_rolls_back_the_application_and_the_model(world):
    w = world()
    run = run_pipeline(w, PIPELINE, "lookml-error", **{"lookml-project": "broken_project"})
    assert run.code == 1
    assert run.condition == failed(completed=8, skipped=2)
    assert run.tasks == {"train": OK, "deploy-model": OK, "verify-model": OK, "promote-model": OK, "canary": OK,
                         "validate": FAILED, "refresh": STOPPING, "deliver": STOPPING,
                         "rollback-traffic": OK, "rollback-model": OK}
    assert run.task("validate")["results"]["lookml-errors"] == "1"
    assert run.task("rollback-traffic")["results"] == {"restored-weights": '{"stable":100,"canary":0}',
                                                       "changed": "true"}
    assert run.task("rollback-model")["results"]["rolled-back"] == "undeployed"
    assert "validation found 1 LookML and 0 content error(s)" in run.stderr
    calls = squash(w.calls())
    # validated, nothing refreshed; then both roll-backs (the finally tasks run side by side)
    assert calls[-4:-2] == [("looker", "validate_project"), ("looker", "content_validation")]
    assert sorted(calls[-2:]) == [("istio", "weights 100/0"), ("vertex", "endpoints.undeployModel")]
    trail = actions(w)
    assert trail[-3] == ("looker-validate", "step", "failed")
    assert sorted(trail[-2:]) == [("istio-rollback", "restore weights", "changed"),
                                  ("vertex-rollback", "undeploy model", "ok")]
    undo = next(line for line in w.audit() if line["task"] == "vertex-rollback")
    assert undo["traffic"] == json.loads(run.task("deploy-model")["results"]["previous-traffic"])
    assert_as_it_began(w)
