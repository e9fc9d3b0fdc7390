"""vertex-deploy against the fake Vertex AI: one upload and one deployment however often it runs,
versions and aliases, traffic kept in proportion, resources, failures, nothing done on bad input."""
from __future__ import annotations

import json

import pytest

from interlock_steps.vertex import deploy
from tests.fakes.vertex import OperationPlan, VertexError
from tests.vertex.conftest import PARENT

SERVING = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest"
BASE = ["--model-display-name", "churn", "--artifact-uri", "gs://bucket/runs/1/model", "--serving-image-uri", SERVING,
        "--endpoint-display-name", "churn-endpoint"]
MUTATIONS = {"models.upload", "models.mergeVersionAliases", "endpoints.create", "endpoints.deployModel",
             "endpoints.undeployModel", "endpoints.patch", "endpoints.mutateDeployedModel"}


def mutations(fake) -> list[str]:
    return [m for m in fake.methods() if m in MUTATIONS]


def version(artifact: str, *extra: str) -> list[str]:
    return [*BASE[:3], artifact, *BASE[4:], *extra]


def endpoint_of(fake, name: str):
    return fake.state.endpoints[name]


def test_first_deploy_uploads_creates_and_deploys_with_all_traffic(run_timed, timed_vertex):
    run = run_timed(deploy, *BASE, "--version-aliases", "candidate", "--endpoint-labels", "team=ml",
                    "--predict-route", "/predict", "--health-route", "/health", "--container-port", "7080",
                    "--min-replica-count", "1", "--max-replica-count", "3")
    assert run.code == 0, run.log
    r = run.results
    assert r["model"].startswith(f"{PARENT}/models/") and r["model-version-id"] == "1"
    assert r["endpoint"].startswith(f"{PARENT}/endpoints/") and json.loads(r["previous-traffic"]) == {}
    assert mutations(timed_vertex) == ["models.upload", "endpoints.create", "endpoints.deployModel"]
    endpoint = endpoint_of(timed_vertex, r["endpoint"])
    assert endpoint.traffic == {r["deployed-model-id"]: 100} and endpoint.spec["labels"] == {"team": "ml"}
    deployed = endpoint.deployed[r["deployed-model-id"]]
    assert deployed["dedicatedResources"]["maxReplicaCount"] == 3
    upload = timed_vertex.calls_to("models.upload")[0].body["model"]
    assert upload["containerSpec"] == {"imageUri": SERVING, "predictRoute": "/predict", "healthRoute": "/health",
                                       "ports": [{"containerPort": 7080}]}
    assert set(upload["labels"]) == {"interlock-spec"} and upload["versionAliases"] == ["candidate"]
    model = timed_vertex.state.models[r["model"]]
    assert model.versions["1"].aliases == ["default", "candidate"]


def test_running_again_changes_nothing(run_timed, timed_vertex):
    first = run_timed(deploy, *BASE)
    assert first.code == 0, first.log
    before = mutations(timed_vertex)
    again = run_timed(deploy, *BASE)
    assert again.code == 0, again.log
    assert again.results == first.results
    assert mutations(timed_vertex) == before
    assert len(timed_vertex.state.models) == 1


def test_a_new_version_gets_its_share_and_the_rest_keep_their_proportions(run_timed, timed_vertex):
    v1 = run_timed(deploy, *BASE, "--version-aliases", "champion")
    assert v1.code == 0, v1.log
    v2 = run_timed(deploy, *version("gs://bucket/runs/2/model", "--parent-model", v1.results["model"],
                                    "--traffic-percent", "40", "--version-aliases", "champion"))
    assert v2.code == 0, v2.log
    first, second = v1.results["deployed-model-id"], v2.results["deployed-model-id"]
    assert v2.results["model"] == v1.results["model"] and v2.results["model-version-id"] == "2"
    assert json.loads(v2.results["previous-traffic"]) == {first: 100}
    v3 = run_timed(deploy, *version("gs://bucket/runs/3/model", "--parent-model", v1.results["model"].rsplit("/", 1)[1],
                                    "--traffic-percent", "10"))
    assert v3.code == 0, v3.log
    third = v3.results["deployed-model-id"]
    assert endpoint_of(timed_vertex, v1.results["endpoint"]).traffic == {third: 10, first: 54, second: 36}
    assert json.loads(v3.results["previous-traffic"]) == {first: 60, second: 40}
    # the alias moved to the version that asked for it
    model = timed_vertex.state.models[v1.results["model"]]
    assert [v.aliases for v in model.versions.values()] == [["default"], ["champion"], []]


def test_rerunning_with_another_share_only_moves_traffic(run_timed, timed_vertex):
    v1 = run_timed(deploy, *BASE)
    v2 = run_timed(deploy, *version("gs://bucket/runs/2/model", "--parent-model", v1.results["model"],
                                    "--traffic-percent", "10"))
    assert v2.code == 0, v2.log
    before = mutations(timed_vertex)
    again = run_timed(deploy, *version("gs://bucket/runs/2/model", "--parent-model", v1.results["model"],
                                       "--traffic-percent", "50"))
    assert again.code == 0, again.log
    assert mutations(timed_vertex)[len(before):] == ["endpoints.patch"]
    new, old = v2.results["deployed-model-id"], v1.results["deployed-model-id"]
    assert endpoint_of(timed_vertex, v1.results["endpoint"]).traffic == {new: 50, old: 50}
    assert json.loads(again.results["previous-traffic"]) == {old: 100}   # the split before this version came


def test_rerunning_with_other_replica_counts_mutates_the_deployment(run_timed, timed_vertex):
    assert run_timed(deploy, *BASE).code == 0
    again = run_timed(deploy, *BASE, "--min-replica-count", "2", "--max-replica-count", "4")
    assert again.code == 0, again.log
    assert mutations(timed_vertex)[-1] == "endpoints.mutateDeployedModel"
    deployed = endpoint_of(timed_vertex, again.results["endpoint"]).deployed[again.results["deployed-model-id"]]
    assert (deployed["dedicatedResources"]["minReplicaCount"], deployed["dedicatedResources"]["maxReplicaCount"]) == (2, 4)


def test_an_existing_endpoint_by_id(run_timed, timed_vertex):
    first = run_timed(deploy, *BASE)
    endpoint_id = first.results["endpoint"].rsplit("/", 1)[1]
    run = run_timed(deploy, *version("gs://bucket/runs/2/model", "--endpoint", endpoint_id, "--traffic-percent", "20"))
    assert run.code == 0, run.log
    assert run.results["endpoint"] == first.results["endpoint"]
    assert "endpoints.create" not in mutations(timed_vertex)[3:]


def test_an_unknown_endpoint_fails_before_uploading(run_timed, timed_vertex):
    run = run_timed(deploy, *BASE, "--endpoint", "404")
    assert run.code == 1, run.log
    assert f"get endpoint: HTTP 404 NOT_FOUND: Endpoint {PARENT}/endpoints/404 not found." in run.error
    assert mutations(timed_vertex) == []


def test_two_endpoints_with_the_display_name_is_an_error_before_uploading(run_timed, timed_vertex):
    from tests.fakes.vertex.state import Endpoint
    for n in ("1", "2"):
        timed_vertex.state.endpoints[f"{PARENT}/endpoints/{n}"] = Endpoint(f"{PARENT}/endpoints/{n}",
                                                                           {"displayName": "churn-endpoint"}, 0.0)
    run = run_timed(deploy, *BASE)
    assert run.code == 1, run.log
    assert "2 endpoints are named 'churn-endpoint'" in run.error
    assert mutations(timed_vertex) == []


def test_a_failed_deployment_operation_fails_with_its_message(run_timed, timed_vertex):
    timed_vertex.state.operation_plans["deploy"] = OperationPlan(
        30, VertexError("FAILED_PRECONDITION", "Model server never became ready. Please check the serving container."))
    run = run_timed(deploy, *BASE)
    assert run.code == 1, run.log
    assert "model deployment: HTTP 400 FAILED_PRECONDITION: Model server never became ready" in run.error
    assert run.results == {}


def test_a_slow_upload_is_waited_for_with_few_polls(run_timed, timed_vertex):
    timed_vertex.state.operation_plans["upload"] = OperationPlan(600)
    run = run_timed(deploy, *BASE, "--poll-interval", "5", deadline=3600)
    assert run.code == 0, run.log
    assert len(timed_vertex.calls_to("models.operations.get")) <= 25


def test_an_upload_slower_than_the_deadline_exits_with_the_deadline_code(run_timed, timed_vertex):
    timed_vertex.state.operation_plans["upload"] = OperationPlan(3600)
    run = run_timed(deploy, *BASE, deadline=300)
    assert run.code == 3, run.log
    assert "while waiting for model upload" in run.error


def test_dry_run_changes_nothing(run_timed, timed_vertex):
    run = run_timed(deploy, *BASE, "--dry-run", "true")
    assert run.code == 0, run.log
    assert mutations(timed_vertex) == []
    planned = [line["msg"] for line in run.lines if line.get("outcome") == "planned"]
    assert planned == ["dry-run: would upload model", "dry-run: would create endpoint", "dry-run: would deploy model"]


@pytest.mark.parametrize(("args", "message"), [
    ([*BASE, "--traffic-percent", "101"], "from 0 to 100"),
    ([*BASE, "--min-replica-count", "3", "--max-replica-count", "2"], "min-replica-count <= max-replica-count"),
    ([*BASE, "--version-aliases", "1"], "not a valid alias"),
    ([*BASE[:6]], "give endpoint"),
    (version("/tmp/model"), "must be a gs:// URI"),
    ([*BASE, "--model-labels", "interlock-spec=x"], "set by the task itself"),
    ([*BASE, "--accelerator-count", "1"], "go together"),
])
def test_bad_input_fails_before_any_call(run_step, vertex, auth, args, message):
    run = run_step(deploy, *args)
    assert run.code == 2, run.log
    assert message in run.error
    assert vertex.calls == [] and auth.calls == []
