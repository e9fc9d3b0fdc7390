"""Faults and refusals of the fake Vertex AI that the steps' error handling is tested against."""
from __future__ import annotations

import time

import pytest
import requests

from tests.fakes.google_auth import mint
from tests.fakes.vertex import Fault, FakeVertex, FaultSpecError
from tests.vertex.conftest import PARENT

JOBS = f"/v1/{PARENT}/customJobs"


def _get(fake: FakeVertex, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{fake.url}{path}", headers=headers, timeout=5)


def test_unauthenticated_calls_are_refused(fake: FakeVertex):
    missing = _get(fake, JOBS, None)
    assert (missing.status_code, missing.json()["error"]["status"]) == (401, "UNAUTHENTICATED")
    assert "missing required authentication credential" in missing.json()["error"]["message"]
    expired = _get(fake, JOBS, mint("a@p.iam.gserviceaccount.com", expires=time.time() - 1))
    assert expired.status_code == 401 and "invalid authentication credentials" in expired.json()["error"]["message"]
    assert _get(fake, JOBS, "ya29.from-somewhere-else").status_code == 401
    keyed = requests.get(f"{fake.url}{JOBS}", params={"key": "AIza-not-a-real-key"}, timeout=5)
    assert keyed.status_code == 401 and "API keys are not supported" in keyed.json()["error"]["message"]
    assert fake.calls[-1].carries_key


def test_only_the_allowed_principals_may_call(fake: FakeVertex):
    fake.principals = {"ok@p.iam.gserviceaccount.com"}
    assert _get(fake, JOBS, mint("ok@p.iam.gserviceaccount.com", expires=time.time() + 60)).status_code == 200
    denied = _get(fake, JOBS, mint("other@p.iam.gserviceaccount.com", expires=time.time() + 60))
    assert denied.status_code == 403 and "aiplatform.customJobs.list" in denied.json()["error"]["message"]


def test_slow_answers_wait_on_the_fakes_sleep(fake: FakeVertex, clock):
    fake.faults.slow("customJobs.list", 30, times=1)
    start = clock()
    assert _get(fake, JOBS, mint("a@p.iam.gserviceaccount.com", expires=time.time() + 60)).status_code == 200
    assert clock() - start == 30


@pytest.mark.parametrize(("split", "message"), [
    ({"0": 60}, "must add up to 100"),
    ({"0": 50, "42": 50}, "not on the Endpoint"),
])
def test_traffic_splits_are_checked_like_vertex_does(clients, fake: FakeVertex, clock, split, message):
    from google.api_core import exceptions

    endpoint = clients["endpoints"].create_endpoint(parent=PARENT, endpoint={"display_name": "e"})
    model = clients["models"].upload_model(parent=PARENT, model={"display_name": "m", "artifact_uri": "gs://b/m",
                                                                 "container_spec": {"image_uri": "s"}})
    clock.advance(5)
    with pytest.raises(exceptions.BadRequest, match=message):
        clients["endpoints"].deploy_model(endpoint=endpoint.result().name, traffic_split=split, deployed_model={
            "model": model.result().model, "dedicated_resources": {"machine_spec": {"machine_type": "n1"},
                                                                   "min_replica_count": 1}})


def test_a_model_with_traffic_cannot_be_undeployed_without_a_new_split(clients, fake: FakeVertex, clock):
    from google.api_core import exceptions

    name = clients["endpoints"].create_endpoint(parent=PARENT, endpoint={"display_name": "e"})
    model = clients["models"].upload_model(parent=PARENT, model={"display_name": "m", "artifact_uri": "gs://b/m",
                                                                 "container_spec": {"image_uri": "s"}})
    clock.advance(5)
    name, model = name.result().name, model.result().model

    def deploy(split: dict[str, int]) -> str:
        operation = clients["endpoints"].deploy_model(endpoint=name, traffic_split=split, deployed_model={
            "model": model, "dedicated_resources": {"machine_spec": {"machine_type": "n1"}, "min_replica_count": 1}})
        clock.advance(5)
        return operation.result().deployed_model.id

    first = deploy({"0": 100})
    second = deploy({"0": 50, first: 50})
    with pytest.raises(exceptions.BadRequest, match="still has 50% of the traffic"):
        clients["endpoints"].undeploy_model(endpoint=name, deployed_model_id=second)
    clients["endpoints"].undeploy_model(endpoint=name, deployed_model_id=second, traffic_split={first: 100})
    clock.advance(5)
    assert dict(clients["endpoints"].get_endpoint(name=name).traffic_split) == {first: 100}


def test_fault_text():
    assert Fault.parse("customJobs.create:503:lost") == Fault("customJobs.create", status=503, lost=True)
    assert Fault.parse("*:401xinf").times == -1
    assert Fault.parse("models.upload:quota").quota
    assert Fault.parse("endpoints.predict:delay=0.5x3") == Fault("endpoints.predict", delay=0.5, times=3)
    with pytest.raises(FaultSpecError, match="is not one of"):
        Fault.parse("customJobs.get:418")
