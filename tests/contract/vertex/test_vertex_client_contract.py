"""What google-cloud-aiplatform's aiplatform_v1 REST clients really send and expect, against the
fake: the facts the fake and the steps rely on (DESIGN.md, "Vertex AI REST client facts")."""
from __future__ import annotations

import pytest
from google.api_core import exceptions

from tests.fakes.vertex import FakeVertex, JobPlan
from tests.vertex.conftest import PARENT

JOB = {"display_name": "t", "labels": {"interlock-run": "r1"},
       "job_spec": {"worker_pool_specs": [{"machine_spec": {"machine_type": "n1-standard-4",
                                                            "accelerator_type": "NVIDIA_TESLA_T4",
                                                            "accelerator_count": 1},
                                           "replica_count": 2, "container_spec": {"image_uri": "img"}}]}}


def test_requests_ask_for_numeric_enums_and_send_int64_as_strings(clients, fake: FakeVertex):
    job = clients["jobs"].create_custom_job(parent=PARENT, custom_job=JOB)
    assert job.state.name == "JOB_STATE_PENDING"           # the fake answered 2; the client knows it
    [call] = fake.calls
    assert call.query == {"$alt": "json;enum-encoding=int"}
    machine = call.body["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]
    assert machine["acceleratorType"] == 5                  # NVIDIA_TESLA_T4 is 5 in the proto, 6th in the document
    assert call.body["jobSpec"]["workerPoolSpecs"][0]["replicaCount"] == "2"
    assert call.principal == "steps@interlock-test.iam.gserviceaccount.com"


def test_create_custom_job_has_no_default_retry(clients, fake: FakeVertex):
    fake.faults.fail("customJobs.create", 503)
    with pytest.raises(exceptions.ServiceUnavailable):
        clients["jobs"].create_custom_job(parent=PARENT, custom_job=JOB)
    assert [c.status for c in fake.calls] == [503]


def test_model_operations_are_polled_on_the_ui_path(clients, fake: FakeVertex, clock):
    operation = clients["models"].upload_model(parent=PARENT, model={
        "display_name": "m", "artifact_uri": "gs://b/m", "container_spec": {"image_uri": "serve"}})
    clock.advance(5)
    assert operation.done()
    assert operation.result().model_version_id == "1"
    poll = fake.calls_to("models.operations.get")[0]
    assert poll.path.startswith(f"/ui/{PARENT}/models/") and "/operations/" in poll.path


def test_lists_follow_every_page(clients, fake: FakeVertex):
    fake.state.page_size = 2
    for _ in range(5):
        clients["jobs"].create_custom_job(parent=PARENT, custom_job=JOB)
    found = list(clients["jobs"].list_custom_jobs(request={"parent": PARENT, "filter": 'labels.interlock-run="r1"'}))
    assert len(found) == 5
    assert [c.query.get("pageToken", "") for c in fake.calls_to("customJobs.list")] == ["", "2", "4"]


def test_errors_carry_googles_status_and_details(clients, fake: FakeVertex):
    fake.faults.fail("customJobs.get", 429, retry_after=3)
    with pytest.raises(exceptions.TooManyRequests) as limited:
        clients["jobs"].get_custom_job(name=f"{PARENT}/customJobs/1", retry=None)
    # over REST, api_core keeps the details as the JSON objects they are
    assert limited.value.details == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}]
    fake.faults.quota("customJobs.create")
    with pytest.raises(exceptions.TooManyRequests) as quota:
        clients["jobs"].create_custom_job(parent=PARENT, custom_job=JOB)
    assert "quota metrics exceed quota limits" in quota.value.message
    assert quota.value.reason == "RATE_LIMIT_EXCEEDED"
    fake.faults.fail("customJobs.create", 403)
    with pytest.raises(exceptions.Forbidden) as denied:
        clients["jobs"].create_custom_job(parent=PARENT, custom_job=JOB)
    assert denied.value.reason == "IAM_PERMISSION_DENIED"


def test_a_failed_operation_raises_its_error(clients, fake: FakeVertex, clock):
    from tests.fakes.vertex import OperationPlan, VertexError

    endpoint = clients["endpoints"].create_endpoint(parent=PARENT, endpoint={"display_name": "e"})
    clock.advance(5)
    name = endpoint.result().name
    fake.state.operation_plans["deploy"] = OperationPlan(1, VertexError("RESOURCE_EXHAUSTED", "Machine type "
                                                                        "n1-standard-2 is not available."))
    model = clients["models"].upload_model(parent=PARENT, model={"display_name": "m", "artifact_uri": "gs://b/m",
                                                                 "container_spec": {"image_uri": "serve"}})
    clock.advance(5)
    deploy = clients["endpoints"].deploy_model(endpoint=name, deployed_model={
        "model": model.result().model, "dedicated_resources": {"machine_spec": {"machine_type": "n1-standard-2"},
                                                               "min_replica_count": 1}}, traffic_split={"0": 100})
    clock.advance(5)
    with pytest.raises(exceptions.GoogleAPICallError, match="is not available") as failed:
        deploy.result()
    assert failed.value.grpc_status_code.name == "RESOURCE_EXHAUSTED"


def test_job_states_the_test_drives(clients, fake: FakeVertex, clock):
    fake.state.job_plan = JobPlan(pending=1, running=None)
    job = clients["jobs"].create_custom_job(parent=PARENT, custom_job=JOB)
    clock.advance(2)
    assert clients["jobs"].get_custom_job(name=job.name).state.name == "JOB_STATE_RUNNING"
    fake.state.set_job_state(job.name, "JOB_STATE_FAILED", error="OOM: worker killed", code="RESOURCE_EXHAUSTED")
    failed = clients["jobs"].get_custom_job(name=job.name)
    assert (failed.state.name, failed.error.code, failed.error.message) == ("JOB_STATE_FAILED", 8, "OOM: worker killed")
    # over REST, api_core picks the exception by HTTP status: the canonical code is in the body
    with pytest.raises(exceptions.BadRequest, match="Cannot cancel") as refused:
        clients["jobs"].cancel_custom_job(name=job.name)
    assert refused.value.response.json()["error"]["status"] == "FAILED_PRECONDITION"
    other = clients["jobs"].create_custom_job(parent=PARENT, custom_job=JOB)
    fake.state.set_job_state(other.name, "JOB_STATE_EXPIRED")
    assert clients["jobs"].get_custom_job(name=other.name).state.name == "JOB_STATE_EXPIRED"
