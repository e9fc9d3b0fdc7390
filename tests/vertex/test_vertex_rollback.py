"""vertex-rollback against the fake Vertex AI: the endpoint goes back to vertex-deploy's
previous-traffic with the new deployment taken off in the same call, once, and never past a
check that fails."""
from __future__ import annotations

import json

import pytest

from interlock_steps.vertex import rollback

from .test_vertex_verify import OLD, deploy_pair


def args(new: dict[str, str], *extra: str) -> list[str]:
    return ["--endpoint", new["endpoint"], "--previous-traffic", new["previous-traffic"],
            "--deployed-model-id", new["deployed-model-id"], *extra]


def test_undeploys_the_new_version_and_restores_the_split_in_one_call(run_timed, timed_vertex):
    new = deploy_pair(run_timed, timed_vertex, new_percent=100)
    run = run_timed(rollback, *args(new))
    assert run.code == 0, run.log
    assert run.results == {"restored-traffic": new["previous-traffic"], "rolled-back": "undeployed"}
    endpoint = timed_vertex.state.endpoints[new["endpoint"]]
    assert endpoint.traffic == json.loads(new["previous-traffic"])
    assert new["deployed-model-id"] not in endpoint.deployed
    [undeploy] = timed_vertex.calls_to("endpoints.undeployModel")
    assert undeploy.body["trafficSplit"] == json.loads(new["previous-traffic"])
    assert timed_vertex.calls_to("endpoints.patch") == []


def test_a_second_run_changes_nothing(run_timed, timed_vertex):
    new = deploy_pair(run_timed, timed_vertex)
    assert run_timed(rollback, *args(new)).code == 0
    writes = [c.method for c in timed_vertex.calls if c.http_method != "GET"]
    again = run_timed(rollback, *args(new))
    assert again.code == 0, again.log
    assert again.results["rolled-back"] == "none"
    assert [c.method for c in timed_vertex.calls if c.http_method != "GET"] == writes
    assert "nothing to roll back" in again.log


def test_without_a_deployment_it_restores_the_split_only(run_timed, timed_vertex):
    new = deploy_pair(run_timed, timed_vertex, new_percent=50)
    run = run_timed(rollback, "--endpoint", new["endpoint"], "--previous-traffic", new["previous-traffic"])
    assert run.code == 0, run.log
    assert run.results["rolled-back"] == "traffic"
    endpoint = timed_vertex.state.endpoints[new["endpoint"]]
    assert endpoint.traffic == json.loads(new["previous-traffic"]) and new["deployed-model-id"] in endpoint.deployed


def test_a_split_naming_a_deployment_no_longer_there_changes_nothing(run_timed, timed_vertex):
    new = deploy_pair(run_timed, timed_vertex, new_percent=100)
    run = run_timed(rollback, *args(new, "--previous-traffic", '{"999": 100}'))
    assert run.code == 2
    assert "deployed models ['999'] are not on the endpoint" in run.error
    assert [c.method for c in timed_vertex.calls if c.method and "undeploy" in c.method] == []


def test_dry_run_changes_nothing(run_timed, timed_vertex):
    new = deploy_pair(run_timed, timed_vertex, new_percent=100)
    run = run_timed(rollback, *args(new, "--dry-run", "true"))
    assert run.code == 0, run.log
    assert run.results["rolled-back"] == "none"
    assert "dry-run: would undeploy model" in run.log
    assert timed_vertex.state.endpoints[new["endpoint"]].traffic == {new["deployed-model-id"]: 100}


@pytest.mark.parametrize(("extra", "message"), [
    (["--previous-traffic", "[100]"], "must be a JSON object of deployed-model id to percent"),
    (["--previous-traffic", '{"1": 60}'], "add up to 60, not 100"),
    (["--previous-traffic", "not json"], "previous-traffic"),
])
def test_bad_input_fails_before_any_call(run_step, vertex, auth, extra, message):
    run = run_step(rollback, "--endpoint", "1", *extra)
    assert run.code == 2, run.log
    assert message in run.error
    assert vertex.calls == [] and auth.calls == []


def test_the_old_version_keeps_serving(run_timed, timed_vertex):
    """What the roll-back leaves serves: the old version answers every prediction."""
    new = deploy_pair(run_timed, timed_vertex, new_percent=100)
    assert run_timed(rollback, *args(new)).code == 0
    endpoint = timed_vertex.state.endpoints[new["endpoint"]]
    [old] = endpoint.deployed.values()
    model = timed_vertex.state.models[old["model"]]
    assert model.versions[old["modelVersionId"]].spec["artifactUri"] == OLD
