"""model-release end to end on the fake Vertex AI in the real vertex image: the sample as users run
it, then a model that fails its verification and a training job that fails, each leaving the
endpoint as it was."""
from __future__ import annotations

import pytest

from tests.fakes.vertex import JobPlan

from .conftest import FAILED, MISSING, NOT_NEEDED, OK, STOPPING, actions, assert_as_it_began, failed, run_pipeline
from .world import NEW_MODEL, squash

pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]

PIPELINE = "model-release"
RELEASE = [("vertex", "customJobs.create"), ("vertex", "models.upload"), ("vertex", "endpoints.deployModel")]


def test_the_sample_trains_deploys_verifies_and_promotes(world, expected_results):
    w = world()
    run = run_pipeline(w, PIPELINE, "model-release")
    assert run.code == 0, run.stderr
    assert run.tasks == {"train": OK, "deploy-model": OK, "verify-model": OK, "promote-model": OK,
                         "rollback-model": NOT_NEEDED}
    assert {k: run.results[k] for k in expected_results(PIPELINE)} == expected_results(PIPELINE)
    assert squash(w.calls()) == [*RELEASE, ("vertex", "endpoints.patch")]
    # verified at 10 %, one golden instance per call: the new version answered some of them
    served = run.task("verify-model")["results"]["summary"]
    assert f'"{run.results["deployed-model-id"]}":' in served
    [endpoint] = w.snapshot()["vertex"]["endpoints"].values()
    assert endpoint["traffic"] == {run.results["deployed-model-id"]: 100}
    assert actions(w) == [("vertex-train", "create custom job", "ok"), ("vertex-deploy", "upload model", "ok"),
                          ("vertex-deploy", "deploy model", "ok"), ("vertex-deploy", "update endpoint traffic", "ok")]


def test_a_model_that_fails_verification_leaves_the_endpoint_as_it_was(world):
    w = world()
    w.vertex.state.predictors[NEW_MODEL].bias = 1.5
    run = run_pipeline(w, PIPELINE, "bad-model")
    assert run.code == 1
    assert run.condition == failed(completed=4, skipped=1)
    assert run.tasks == {"train": OK, "deploy-model": OK, "verify-model": FAILED, "promote-model": STOPPING,
                         "rollback-model": OK}
    assert run.task("verify-model")["results"]["rolled-back"] == "undeployed"
    assert run.task("rollback-model")["results"]["rolled-back"] == "none"      # idempotent
    assert squash(w.calls()) == [*RELEASE, ("vertex", "endpoints.undeployModel")]
    assert_as_it_began(w)


def test_a_failed_training_job_deploys_nothing(world):
    w = world(job=JobPlan(pending=0.2, running=0.5, outcome="JOB_STATE_FAILED"))
    run = run_pipeline(w, PIPELINE, "job-failed")
    assert run.code == 1
    assert run.condition == failed(completed=1, skipped=4)
    assert run.tasks == {"train": FAILED, "deploy-model": STOPPING, "verify-model": STOPPING,
                         "promote-model": STOPPING, "rollback-model": MISSING}
    assert squash(w.calls()) == [("vertex", "customJobs.create")]
    assert_as_it_began(w)
