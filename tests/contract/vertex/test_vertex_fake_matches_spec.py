"""The fake's methods are Vertex AI's methods, and every answer it gives fits the discovery document.

These tests talk plain HTTP to a fake that does NOT check itself and validate each answer with the
document independently, so a bug in the fake's self-check cannot hide one."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import requests

from tests.fakes.clock import ManualClock
from tests.fakes.google_auth import mint
from tests.fakes.vertex import ROUTES, DiscoverySpec, FakeVertex, JobPlan, codec
from tests.vertex.conftest import PARENT

pytestmark = pytest.mark.reference

# every method the Vertex AI tasks call (and the operations they poll)
TASK_METHODS = {
    "customJobs.create", "customJobs.list", "customJobs.get", "customJobs.cancel",
    "models.upload", "models.list", "models.get", "models.listVersions", "models.mergeVersionAliases",
    "endpoints.create", "endpoints.list", "endpoints.get", "endpoints.patch", "endpoints.deployModel",
    "endpoints.undeployModel", "endpoints.mutateDeployedModel", "endpoints.predict",
    "operations.get", "models.operations.get", "endpoints.operations.get",
}


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.lstrip("/"))


def test_every_task_method_has_a_route():
    assert {r.method for r in ROUTES} == TASK_METHODS


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method}{r.path[:3]}")
def test_route_method_path_and_schemas_are_the_documents(route, spec: DiscoverySpec):
    method = spec.method(route.method)
    # operations are polled on /ui/... too (the REST transport's first GetOperation binding)
    assert (route.http_method, _template(route.path).replace("ui/", "v1/", 1)) == (
        method.http_method, _template(method.flat_path))
    assert (route.request, route.response) == (method.request, method.response)


@pytest.fixture
def unchecked(clock: ManualClock) -> Iterator[FakeVertex]:
    with FakeVertex(clock=clock, sleep=clock.advance) as fake:   # no spec: the test validates
        fake.state.job_plan = JobPlan(pending=1, running=None)
        yield fake


class Walk:
    """Plain HTTP against the fake, REST-style JSON (enum names), every answer validated."""

    def __init__(self, fake: FakeVertex, spec: DiscoverySpec, clock: ManualClock) -> None:
        self.fake, self.spec, self.clock = fake, spec, clock
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {mint('steps@p.iam.gserviceaccount.com', expires=time.time() + 600)}"
        self.seen: set[str] = set()

    def __call__(self, http_method: str, path: str, body: dict | None = None, **query: str) -> dict:
        answer = self.session.request(http_method, f"{self.fake.url}{path}", json=body, params=query, timeout=5)
        assert answer.status_code == 200, answer.text
        route = next(r for r in ROUTES if r.http_method == http_method and r.regex.match(path))
        assert self.spec.validate(route.response, answer.json()) == [], (route.method, answer.text)
        if route.request is not None:
            assert self.spec.validate(route.request, body, partial=http_method == "PATCH") == [], route.method
        self.seen.add(route.method)
        return answer.json()

    def done(self, operation: dict) -> dict:
        self.clock.advance(60)
        for prefix in ("/v1", "/ui"):
            polled = self("GET", f"{prefix}/{operation['name']}")
            assert polled["done"] is True and "response" in polled
        return polled["response"]


def test_every_kind_of_answer_fits_the_document(unchecked: FakeVertex, spec: DiscoverySpec, clock: ManualClock):
    walk = Walk(unchecked, spec, clock)
    job = walk("POST", f"/v1/{PARENT}/customJobs", {
        "displayName": "train", "labels": {"interlock-run": "abc"},
        "jobSpec": {"workerPoolSpecs": [{"machineSpec": {"machineType": "n1-standard-4", "acceleratorType":
                                                         "NVIDIA_TESLA_T4", "acceleratorCount": 1},
                                         "replicaCount": "1", "containerSpec": {"imageUri": "img", "args": ["a"]}}],
                    "baseOutputDirectory": {"outputUriPrefix": "gs://b/o"}, "scheduling": {"timeout": "3600s"}}})
    assert job["state"] == "JOB_STATE_PENDING"
    clock.advance(5)
    assert walk("GET", f"/v1/{job['name']}")["state"] == "JOB_STATE_RUNNING"
    listed = walk("GET", f"/v1/{PARENT}/customJobs", filter='labels.interlock-run="abc"')
    assert [j["name"] for j in listed["customJobs"]] == [job["name"]]
    assert walk("GET", f"/v1/{PARENT}/customJobs", filter='labels.interlock-run="other"') == {}
    assert walk("POST", f"/v1/{job['name']}:cancel", {}) == {}
    clock.advance(5)
    assert walk("GET", f"/v1/{job['name']}")["state"] == "JOB_STATE_CANCELLED"

    upload = walk("POST", f"/v1/{PARENT}/models:upload", {"model": {
        "displayName": "m", "artifactUri": "gs://b/o/model", "labels": {"interlock-spec": "h1"},
        "containerSpec": {"imageUri": "serve", "predictRoute": "/p", "healthRoute": "/h",
                          "ports": [{"containerPort": 8080}], "env": [{"name": "A", "value": "1"}]}}})
    assert upload.get("done") is not True
    model = walk.done(upload)["model"]
    assert walk("GET", f"/v1/{model}")["versionAliases"] == ["default"]
    second = walk.done(walk("POST", f"/v1/{PARENT}/models:upload", {
        "parentModel": model, "model": {"displayName": "m", "artifactUri": "gs://b/o2/model",
                                        "containerSpec": {"imageUri": "serve"}, "versionAliases": ["candidate"]}}))
    assert second["modelVersionId"] == "2"
    assert len(walk("GET", f"/v1/{PARENT}/models")["models"]) == 1
    assert len(walk("GET", f"/v1/{model}:listVersions")["models"]) == 2
    assert walk("GET", f"/v1/{model}:listVersions", filter='labels.interlock-spec="h1"')["models"][0]["versionId"] == "1"
    merged = walk("POST", f"/v1/{model}@1:mergeVersionAliases", {"versionAliases": ["candidate", "golden"]})
    assert sorted(merged["versionAliases"]) == ["candidate", "default", "golden"]
    assert "versionAliases" not in walk("GET", f"/v1/{model}@2")     # empty lists are left out

    endpoint = walk.done(walk("POST", f"/v1/{PARENT}/endpoints", {"displayName": "e", "labels": {"team": "ml"}}))
    assert walk("GET", f"/v1/{endpoint['name']}")["displayName"] == "e"
    assert len(walk("GET", f"/v1/{PARENT}/endpoints", filter='display_name="e"')["endpoints"]) == 1
    resources = {"machineSpec": {"machineType": "n1-standard-2"}, "minReplicaCount": 1, "maxReplicaCount": 1}
    first = walk.done(walk("POST", f"/v1/{endpoint['name']}:deployModel", {
        "deployedModel": {"model": f"{model}@1", "dedicatedResources": resources}, "trafficSplit": {"0": 100}}))["deployedModel"]["id"]
    other = walk.done(walk("POST", f"/v1/{endpoint['name']}:deployModel", {
        "deployedModel": {"model": f"{model}@2", "dedicatedResources": resources},
        "trafficSplit": {"0": 10, first: 90}}))["deployedModel"]["id"]
    patched = walk("PATCH", f"/v1/{endpoint['name']}", {"trafficSplit": {first: 50, other: 50}},
                   updateMask="trafficSplit")
    assert patched["trafficSplit"] == {first: 50, other: 50}
    walk.done(walk("POST", f"/v1/{endpoint['name']}:mutateDeployedModel", {
        "deployedModel": {"id": other, "model": model, "dedicatedResources": {**resources, "maxReplicaCount": 3}},
        "updateMask": "dedicatedResources.maxReplicaCount"}))
    predicted = walk("POST", f"/v1/{endpoint['name']}:predict", {"instances": [[1, 2], {"x": 3}]})
    assert predicted["predictions"] == [3, 3] and predicted["deployedModelId"] in (first, other)
    walk.done(walk("POST", f"/v1/{endpoint['name']}:undeployModel", {"deployedModelId": other,
                                                                      "trafficSplit": {first: 100}}))
    assert walk("GET", f"/v1/{endpoint['name']}")["trafficSplit"] == {first: 100}
    assert walk.seen == TASK_METHODS - {"operations.get"}   # operations are polled under their resource


@pytest.mark.parametrize(("schema", "body", "problem"), [
    ("GoogleCloudAiplatformV1CustomJob", {"displayName": "x", "jobSpec": {"workerPoolSpecs": [{}]}, "invented": 1},
     "'invented' was unexpected"),
    ("GoogleCloudAiplatformV1CustomJob", {"jobSpec": {"workerPoolSpecs": [{}]}}, "'displayName' is a required property"),
    ("GoogleCloudAiplatformV1CustomJob", {"displayName": "x", "jobSpec": {"workerPoolSpecs": [{}]}, "state": "DONE"},
     "'DONE' is not one of"),
    ("GoogleCloudAiplatformV1WorkerPoolSpec", {"replicaCount": 1}, "1 is not of type 'string'"),   # int64 is a string
    ("GoogleCloudAiplatformV1Scheduling", {"timeout": "1h"}, "does not match"),
    ("GoogleLongrunningOperation", {"name": "o", "done": True, "response": {
        "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse", "modelVersion": "1"}},
     "'modelVersion' was unexpected"),
])
def test_the_validator_can_fail(spec: DiscoverySpec, schema, body, problem):
    assert any(problem in p for p in spec.validate(schema, body))


def test_enum_numbers_are_the_protos_and_names_the_documents(spec: DiscoverySpec):
    machine = spec.document["schemas"]["GoogleCloudAiplatformV1MachineSpec"]["properties"]["acceleratorType"]
    # the document's order is not the proto numbering: numbers must come from the descriptors
    assert machine["enum"].index("TPU_V2") != codec.enum_number("GoogleCloudAiplatformV1MachineSpec",
                                                                 "acceleratorType", "TPU_V2")
    assert codec.enum_number("GoogleCloudAiplatformV1MachineSpec", "acceleratorType", "NVIDIA_TESLA_T4") == 5
    states = spec.document["schemas"]["GoogleCloudAiplatformV1CustomJob"]["properties"]["state"]["enum"]
    for name in states:
        number = codec.enum_number("GoogleCloudAiplatformV1CustomJob", "state", name)
        assert codec.convert("GoogleCloudAiplatformV1CustomJob", {"state": number}, integers=False) == (
            {"state": name} if number else {})


def test_unknown_fields_are_refused_in_googles_words():
    with pytest.raises(codec.Unparseable, match=r"Invalid JSON payload received\. .*has no field named \"bogus\""):
        codec.convert("GoogleCloudAiplatformV1CustomJob", {"displayName": "x", "bogus": 1}, integers=False)


def test_a_missing_document_is_an_error_when_make_test_requires_it(monkeypatch, tmp_path):
    from tests.fakes.vertex import REQUIRE_REFERENCE_ENV, reference_spec
    from tests.fakes.vertex import spec as spec_module

    monkeypatch.setattr("interlock.paths.REFERENCE", tmp_path)
    reference_spec.cache_clear()
    try:
        monkeypatch.delenv(REQUIRE_REFERENCE_ENV, raising=False)
        assert spec_module.reference_spec() is None
        reference_spec.cache_clear()
        monkeypatch.setenv(REQUIRE_REFERENCE_ENV, "1")
        with pytest.raises(FileNotFoundError, match=REQUIRE_REFERENCE_ENV):
            spec_module.reference_spec()
    finally:
        reference_spec.cache_clear()
