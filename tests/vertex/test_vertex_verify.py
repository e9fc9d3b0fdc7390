"""vertex-verify against the fake Vertex AI: golden predictions within tolerance, p95 latency
against a budget, every call in the report, and the roll-back on failure."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from interlock_steps.vertex import deploy, verify
from tests.fakes.vertex import Predictor

SERVING = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest"
OLD, NEW = "gs://bucket/runs/1/model", "gs://bucket/runs/2/model"


def deploy_pair(run_timed, fake, new_percent: int = 50) -> dict[str, str]:
    """An endpoint with the old version at 100 %, then the new one at `new_percent`; the new
    deployment's results."""
    fake.state.predictors[OLD] = Predictor(scale=2.0, bias=1.0)
    fake.state.predictors[NEW] = Predictor(scale=2.0, bias=1.0)
    base = ["--model-display-name", "churn", "--serving-image-uri", SERVING, "--endpoint-display-name", "churn"]
    first = run_timed(deploy, *base, "--artifact-uri", OLD)
    assert first.code == 0, first.log
    second = run_timed(deploy, *base, "--artifact-uri", NEW, "--parent-model", first.results["model"],
                       "--traffic-percent", str(new_percent))
    assert second.code == 0, second.log
    return second.results


@pytest.fixture
def golden_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "golden"
    folder.mkdir()
    (folder / "golden.json").write_text(json.dumps({
        "instances": [[1, 2], [0.5], {"age": 3, "visits": [1, 1]}],
        "predictions": [7, 2.0, 11.0]}))
    return folder


def against(results: dict[str, str], *extra: str) -> list[str]:
    return ["--endpoint", results["endpoint"], "--previous-traffic", results["previous-traffic"],
            "--deployed-model-id", results["deployed-model-id"], *extra]


def test_golden_predictions_and_latency_pass_with_every_call_reported(run_timed, timed_vertex, golden_dir):
    new = deploy_pair(run_timed, timed_vertex)
    timed_vertex.state.predictors[NEW].latency = 0.12
    timed_vertex.state.predictors[OLD].latency = 0.08
    run = run_timed(verify, *against(new, "--golden-dir", str(golden_dir), "--batch-size", "2", "--latency-calls",
                                     "10", "--latency-budget-ms", "150"), report=True)
    assert run.code == 0, run.log
    assert run.results["passed"] == "true" and run.results["mismatches"] == "0"
    assert run.results["p95-ms"] == "120" and run.results["rolled-back"] == "none"
    calls = run.report["calls"]
    assert [c["kind"] for c in calls] == ["golden", "golden"] + ["latency"] * 10
    assert [c["instances"] for c in calls[:2]] == [2, 1]
    assert {c["deployed_model_id"] for c in calls} == {new["deployed-model-id"], json.loads(new["previous-traffic"]).popitem()[0]}
    assert sorted({c["ms"] for c in calls}) == [80.0, 120.0]
    assert len(timed_vertex.calls_to("endpoints.predict")) == 12


def test_a_wrong_prediction_fails_and_restores_the_traffic(run_timed, timed_vertex, golden_dir):
    new = deploy_pair(run_timed, timed_vertex, new_percent=100)
    timed_vertex.state.predictors[NEW].bias = 1.5           # the new model is off by 0.5
    run = run_timed(verify, *against(new, "--golden-dir", str(golden_dir), "--batch-size", "1", "--latency-calls",
                                     "0", "--on-failure", "restore-traffic"), report=True)
    assert run.code == 1, run.log
    assert run.results["passed"] == "false" and run.results["mismatches"] == "3"
    assert "prediction(s) differ from the golden ones" in run.error and "rolled back (traffic)" in run.error
    assert run.report["mismatches"][0] == "instance 0: <prediction>: got 7.5, want 7 (±1e-06)"
    endpoint = timed_vertex.state.endpoints[new["endpoint"]]
    assert endpoint.traffic == json.loads(new["previous-traffic"])
    assert new["deployed-model-id"] in endpoint.deployed           # restored, still deployed


def test_a_slow_model_fails_the_budget_and_is_undeployed(run_timed, timed_vertex, golden_dir):
    new = deploy_pair(run_timed, timed_vertex, new_percent=100)
    timed_vertex.state.predictors[NEW].latency = 0.5
    run = run_timed(verify, *against(new, "--golden-dir", str(golden_dir), "--latency-calls", "20",
                                     "--latency-budget-ms", "200", "--on-failure", "undeploy"))
    assert run.code == 1, run.log
    assert "p95 latency 500 ms is over the budget of 200 ms" in run.error
    assert run.results["rolled-back"] == "undeployed" and run.results["p95-ms"] == "500"
    endpoint = timed_vertex.state.endpoints[new["endpoint"]]
    assert new["deployed-model-id"] not in endpoint.deployed
    assert endpoint.traffic == json.loads(new["previous-traffic"])
    [undeploy] = timed_vertex.calls_to("endpoints.undeployModel")
    assert undeploy.body["trafficSplit"] == json.loads(new["previous-traffic"])


def test_failing_predict_calls_fail_the_check(run_timed, timed_vertex, golden_dir):
    new = deploy_pair(run_timed, timed_vertex, new_percent=100)
    timed_vertex.state.predictors[NEW].error = "Prediction failed: model server returned 500"
    run = run_timed(verify, *against(new, "--golden-dir", str(golden_dir), "--latency-calls", "2", "--max-retries",
                                     "0"), report=True)
    assert run.code == 1, run.log
    assert "3 predict call(s) failed" in run.error and run.results["p95-ms"] == ""
    assert "Prediction failed" in run.report["calls"][0]["error"]


def test_tolerances(run_timed, timed_vertex):
    new = deploy_pair(run_timed, timed_vertex, new_percent=100)
    timed_vertex.state.predictors[NEW].bias = 1.001
    args = ["--instances", "[[100]]", "--expected-predictions", "[201]", "--latency-calls", "0"]
    assert run_timed(verify, *against(new, *args)).code == 1
    assert run_timed(verify, *against(new, *args, "--tolerance", "0.01")).code == 0
    assert run_timed(verify, *against(new, *args, "--relative-tolerance", "1e-5")).code == 0


def test_dry_run_calls_no_prediction(run_timed, timed_vertex, golden_dir):
    new = deploy_pair(run_timed, timed_vertex)
    run = run_timed(verify, *against(new, "--golden-dir", str(golden_dir), "--dry-run", "true"))
    assert run.code == 0, run.log
    assert timed_vertex.calls_to("endpoints.predict") == []


@pytest.mark.parametrize(("args", "message"), [
    (["--endpoint", "1", "--instances", "[1]", "--expected-predictions", "[1]", "--on-failure", "undeploy",
      "--previous-traffic", "{}"], "needs deployed-model-id"),
    (["--endpoint", "1", "--instances", "[1]", "--expected-predictions", "[1]", "--on-failure", "restore-traffic",
      "--previous-traffic", '{"1": 60, "2": 30}'], "add up to 90, not 100"),
    (["--endpoint", "1", "--instances", "[1]", "--expected-predictions", "[1]", "--on-failure", "restore-traffic"],
     "needs previous-traffic"),
    (["--endpoint", "1", "--instances", "[1, 2]", "--expected-predictions", "[1]"], "one entry per instance"),
    (["--endpoint", "1", "--on-failure", "rollback"], "must be one of none, restore-traffic, undeploy"),
    (["--endpoint", "1"], "nothing to verify with"),
    (["--endpoint", "1", "--golden-dir", "/nonexistent"], "golden file /nonexistent/golden.json not found"),
    (["--endpoint", "1", "--instances", "[1]", "--expected-predictions", "[1]", "--latency-budget-ms", "0"],
     "must be positive"),
])
def test_bad_input_fails_before_any_call(run_step, vertex, auth, args, message):
    run = run_step(verify, *args)
    assert run.code == 2, run.log
    assert message in run.error
    assert vertex.calls == [] and auth.calls == []
