"""The Vertex AI v1 REST methods the fake answers: one row per method, one handler each.

Method ids, HTTP methods, paths and request/response schemas are the discovery document's
(a contract test checks every row against it). Operations are polled on two paths: the
`/v1/...` one the document lists and the `/ui/...` one google-cloud-aiplatform's REST transport
tries first (the first URL binding of google.longrunning.Operations.GetOperation in its
transports/rest.py).

Handlers take the state and a `Call` (path parameters, query, body in name form) and return the
answer in name form, or raise VertexError; they run with the state lock held.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors
from .state import (CANCELLED, CANCELLING, TERMINAL, V1, Endpoint, Job, Model, ModelVersion, VertexState, matches,
                    page, parse_filter)

LOCATION = "/v1/projects/{project}/locations/{location}"
# Vertex AI labels: keys and values of at most 63 characters, lowercase letters, digits, '_' and
# '-'; keys start with a letter (and international characters, which the steps never send).
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
# version aliases: lowercase, start with a letter, at most 128 characters, not numeric
_ALIAS = re.compile(r"^[a-z][a-z0-9-]{0,126}[a-z0-9]$")


@dataclass
class Call:
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    now: float
    hold: float = 0.0           # seconds the server waits (on the fake's sleep) before answering

    @property
    def parent(self) -> str:
        return f"projects/{self.params['project']}/locations/{self.params['location']}"


Handler = Callable[[VertexState, Call], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    method: str                 # the discovery method id without "aiplatform.projects.locations."
    http_method: str
    path: str                   # with {name} segments
    request: str | None         # discovery schema names
    response: str
    handler: Handler
    permission: str             # the IAM permission the call needs

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/:]+)", re.escape(self.path)) + "$")


def _job(state: VertexState, call: Call) -> Job:
    name = f"{call.parent}/customJobs/{call.params['job']}"
    if name not in state.jobs:
        raise errors.not_found(f"CustomJob {name}")
    return state.jobs[name]


def _model(state: VertexState, call: Call) -> tuple[Model, ModelVersion]:
    model_id, _, ref = call.params["model"].partition("@")
    name = f"{call.parent}/models/{model_id}"
    model = state.models.get(name)
    version = model.version(ref or None) if model else None
    if model is None or version is None:
        raise errors.not_found(f"Model {name}{'@' + ref if ref else ''}")
    return model, version


def _endpoint(state: VertexState, call: Call) -> Endpoint:
    name = f"{call.parent}/endpoints/{call.params['endpoint']}"
    if name not in state.endpoints:
        raise errors.not_found(f"Endpoint {name}")
    return state.endpoints[name]


def _check_labels(labels: dict[str, str] | None) -> None:
    for key, value in (labels or {}).items():
        if not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
            raise errors.invalid(f"Invalid label {key}={value!r}: keys and values may contain lowercase letters, "
                                 "numeric characters, underscores and dashes, at most 63 characters; keys start "
                                 "with a letter.")


def _listing(items: list[dict[str, Any]], call: Call, key: str, size: int) -> dict[str, Any]:
    clauses = parse_filter(call.query.get("filter", ""))
    selected, token = page([i for i in items if matches(i, clauses)], call.query, size)
    return {**({key: selected} if selected else {}), **({"nextPageToken": token} if token else {})}


# --- custom jobs ------------------------------------------------------------------------------------
def create_custom_job(state: VertexState, call: Call) -> dict[str, Any]:
    body = call.body or {}
    if not (body.get("jobSpec") or {}).get("workerPoolSpecs"):
        raise errors.invalid("CustomJob.job_spec.worker_pool_specs is required.")
    _check_labels(body.get("labels"))
    spec = {k: v for k, v in body.items() if k in ("displayName", "jobSpec", "labels", "encryptionSpec")}
    name = f"{call.parent}/customJobs/{state.new_id()}"
    plan = state.job_plans.get(spec.get("displayName", ""), state.job_plan)
    job = Job(name, spec, call.now, plan.timeline(call.now))
    state.jobs[name] = job
    return job.resource(call.now, state.stamp)


def get_custom_job(state: VertexState, call: Call) -> dict[str, Any]:
    return _job(state, call).resource(call.now, state.stamp)


def list_custom_jobs(state: VertexState, call: Call) -> dict[str, Any]:
    jobs = [j.resource(call.now, state.stamp) for j in state.jobs.values() if j.name.startswith(call.parent + "/")]
    return _listing(jobs, call, "customJobs", state.page_size)


def cancel_custom_job(state: VertexState, call: Call) -> dict[str, Any]:
    job = _job(state, call)
    current = job.state(call.now)
    if current in TERMINAL:
        raise errors.VertexError("FAILED_PRECONDITION", f"Cannot cancel CustomJob {job.name} in state {current}.")
    if current != CANCELLING:
        job.move(call.now, (call.now, CANCELLING, None), (call.now + state.cancel_seconds, CANCELLED, None))
    return {}


# --- models -------------------------------------------------------------------------------------------
def upload_model(state: VertexState, call: Call) -> dict[str, Any]:
    body = call.body or {}
    spec = dict(body.get("model") or {})
    aliases = list(spec.pop("versionAliases", []))
    for alias in aliases:
        if not _ALIAS.match(alias) or alias.isdigit():
            raise errors.invalid(f"Invalid version alias {alias!r}.")
    _check_labels(spec.get("labels"))
    spec = {k: v for k, v in spec.items() if k not in ("name", "versionId")}
    parent_model = body.get("parentModel")
    if parent_model:
        if parent_model not in state.models:
            raise errors.not_found(f"Model {parent_model}")
        model = state.models[parent_model]
        version_id = str(max(int(v) for v in model.versions) + 1)
    else:
        model_id = body.get("modelId") or state.new_id()
        if f"{call.parent}/models/{model_id}" in state.models:
            raise errors.VertexError("ALREADY_EXISTS", f"Model {call.parent}/models/{model_id} already exists.")
        model = Model(f"{call.parent}/models/{model_id}", created_at=call.now)
        version_id, aliases = "1", ["default", *[a for a in aliases if a != "default"]]

    def effect() -> None:
        state.models.setdefault(model.name, model)
        _move_aliases(model, version_id, aliases)
        model.versions[version_id] = ModelVersion(version_id, spec, aliases, state.clock())

    operation = state.start_operation(model.name, "upload", "UploadModelOperationMetadata",
                                      {"@type": V1 + "UploadModelResponse", "model": model.name,
                                       "modelVersionId": version_id}, effect)
    return operation.resource(call.now, state.stamp)


def _move_aliases(model: Model, version_id: str, aliases: list[str]) -> None:
    """An alias another version holds moves to this one (Vertex AI's documented behaviour)."""
    for other in model.versions.values():
        if other.version_id != version_id:
            other.aliases = [a for a in other.aliases if a not in aliases]


def get_model(state: VertexState, call: Call) -> dict[str, Any]:
    model, version = _model(state, call)
    return model.resource(version, state.stamp)


def list_models(state: VertexState, call: Call) -> dict[str, Any]:
    models = [m.resource(m.default, state.stamp) for m in state.models.values() if m.name.startswith(call.parent + "/")]
    return _listing(models, call, "models", state.page_size)


def list_model_versions(state: VertexState, call: Call) -> dict[str, Any]:
    model, _ = _model(state, call)
    versions = [model.resource(v, state.stamp) for v in model.versions.values()]
    return _listing(versions, call, "models", state.page_size)


def merge_version_aliases(state: VertexState, call: Call) -> dict[str, Any]:
    model, version = _model(state, call)
    requested = list((call.body or {}).get("versionAliases") or [])
    added = [a for a in requested if not a.startswith("-")]
    removed = [a[1:] for a in requested if a.startswith("-")]
    if "default" in removed:
        raise errors.invalid("The default alias cannot be removed; move it to another version instead.")
    for alias in added + removed:
        if not _ALIAS.match(alias) or alias.isdigit():
            raise errors.invalid(f"Invalid version alias {alias!r}.")
    _move_aliases(model, version.version_id, added)
    version.aliases = [a for a in version.aliases if a not in removed] + [a for a in added if a not in version.aliases]
    return model.resource(version, state.stamp)


# --- endpoints ----------------------------------------------------------------------------------------
def create_endpoint(state: VertexState, call: Call) -> dict[str, Any]:
    body = call.body or {}
    _check_labels(body.get("labels"))
    endpoint_id = call.query.get("endpointId") or state.new_id()
    name = f"{call.parent}/endpoints/{endpoint_id}"
    if name in state.endpoints:
        raise errors.VertexError("ALREADY_EXISTS", f"Endpoint {name} already exists.")
    spec = {k: v for k, v in body.items() if k in ("displayName", "description", "labels")}
    endpoint = Endpoint(name, spec, call.now)

    def effect() -> None:
        endpoint.created_at = endpoint.updated_at = state.clock()
        state.endpoints[name] = endpoint

    response = {"@type": V1 + "Endpoint", **endpoint.resource(state.stamp)}
    return state.start_operation(name, "createEndpoint", "CreateEndpointOperationMetadata", response,
                                 effect).resource(call.now, state.stamp)


def get_endpoint(state: VertexState, call: Call) -> dict[str, Any]:
    return _endpoint(state, call).resource(state.stamp)


def list_endpoints(state: VertexState, call: Call) -> dict[str, Any]:
    endpoints = [e.resource(state.stamp) for e in state.endpoints.values() if e.name.startswith(call.parent + "/")]
    return _listing(endpoints, call, "endpoints", state.page_size)


def _checked_split(endpoint: Endpoint, split: dict[str, Any], new_id: str | None = None) -> dict[str, int]:
    """A traffic split as Vertex AI checks it: known deployed models ("0" is the one being
    deployed), whole percentages adding up to 100, or empty for no traffic at all (the
    Endpoint.trafficSplit reference)."""
    known = set(endpoint.deployed) | ({"0"} if new_id else set())
    unknown = sorted(set(split) - known)
    if unknown:
        raise errors.invalid(f"Traffic split refers to DeployedModels that are not on the Endpoint: {unknown}.")
    values = {k: int(v) for k, v in split.items()}
    if any(v < 0 or v > 100 for v in values.values()) or (values and sum(values.values()) != 100):
        raise errors.invalid(f"The traffic split percentages must add up to 100, got {sum(values.values())}.")
    return {(new_id if k == "0" else k): v for k, v in values.items() if v}


def patch_endpoint(state: VertexState, call: Call) -> dict[str, Any]:
    endpoint = _endpoint(state, call)
    body = call.body or {}
    paths = [p.strip() for p in call.query.get("updateMask", "").split(",") if p.strip()]
    if not paths:
        raise errors.invalid("update_mask is required.")
    for path in paths:
        if path in ("trafficSplit", "traffic_split"):
            endpoint.traffic = _checked_split(endpoint, body.get("trafficSplit") or {})
        elif path in ("displayName", "display_name", "description", "labels"):
            _check_labels(body.get("labels") if path == "labels" else None)
            key = "displayName" if path.startswith("display") else path
            endpoint.spec[key] = body.get(key)
        else:
            raise errors.invalid(f"Field {path!r} cannot be updated.")
    endpoint.updated_at = call.now
    return endpoint.resource(state.stamp)


def deploy_model(state: VertexState, call: Call) -> dict[str, Any]:
    endpoint = _endpoint(state, call)
    body = call.body or {}
    deployed = dict(body.get("deployedModel") or {})
    reference = deployed.get("model", "")
    model_name, _, ref = reference.partition("@")
    model = state.models.get(model_name)
    version = model.version(ref or None) if model else None
    if model is None or version is None:
        raise errors.not_found(f"Model {reference}")
    if not deployed.get("dedicatedResources") and not deployed.get("automaticResources"):
        raise errors.invalid("Model requires dedicated resources: set deployed_model.dedicated_resources.")
    deployed_id = deployed.get("id") or state.new_id()
    if deployed_id in endpoint.deployed:
        raise errors.VertexError("ALREADY_EXISTS", f"DeployedModel {deployed_id} already exists on {endpoint.name}.")
    split = body.get("trafficSplit") or {}
    new_traffic = _checked_split(endpoint, split, new_id=deployed_id) if split else None
    resource = {**deployed, "id": deployed_id, "model": model.name, "modelVersionId": version.version_id,
                "displayName": deployed.get("displayName") or version.spec.get("displayName", ""),
                "createTime": state.stamp(call.now)}

    def effect() -> None:
        endpoint.deployed[deployed_id] = resource
        if new_traffic is not None:
            endpoint.traffic = new_traffic
        endpoint.updated_at = state.clock()

    return state.start_operation(endpoint.name, "deploy", "DeployModelOperationMetadata",
                                 {"@type": V1 + "DeployModelResponse", "deployedModel": resource},
                                 effect).resource(call.now, state.stamp)


def undeploy_model(state: VertexState, call: Call) -> dict[str, Any]:
    endpoint = _endpoint(state, call)
    body = call.body or {}
    deployed_id = body.get("deployedModelId", "")
    if deployed_id not in endpoint.deployed:
        raise errors.not_found(f"DeployedModel {deployed_id} on {endpoint.name}")
    split = body.get("trafficSplit")
    traffic = _checked_split(endpoint, split) if split else dict(endpoint.traffic)
    remaining = [d for d in endpoint.deployed if d != deployed_id]
    if remaining and traffic.get(deployed_id, 0) > 0:
        raise errors.VertexError("FAILED_PRECONDITION", f"DeployedModel {deployed_id} still has {traffic[deployed_id]}% "
                                 "of the traffic: give a traffic split that assigns it none.")

    def effect() -> None:
        endpoint.deployed.pop(deployed_id, None)
        endpoint.traffic = {k: v for k, v in traffic.items() if k != deployed_id} if remaining else {}
        endpoint.updated_at = state.clock()

    return state.start_operation(endpoint.name, "undeploy", "UndeployModelOperationMetadata",
                                 {"@type": V1 + "UndeployModelResponse"}, effect).resource(call.now, state.stamp)


def mutate_deployed_model(state: VertexState, call: Call) -> dict[str, Any]:
    endpoint = _endpoint(state, call)
    body = call.body or {}
    change = body.get("deployedModel") or {}
    current = endpoint.deployed.get(change.get("id", ""))
    if current is None:
        raise errors.not_found(f"DeployedModel {change.get('id')} on {endpoint.name}")
    allowed = {"dedicatedResources.minReplicaCount", "dedicatedResources.maxReplicaCount",
               "dedicated_resources.min_replica_count", "dedicated_resources.max_replica_count"}
    paths = [p.strip() for p in str(body.get("updateMask", "")).split(",") if p.strip()]
    if not paths or set(paths) - allowed:
        raise errors.invalid(f"Only min and max replica counts can be mutated, got update_mask {paths}.")
    resources = dict(current.get("dedicatedResources") or {})
    for path in paths:
        key = "minReplicaCount" if "min" in path else "maxReplicaCount"
        resources[key] = (change.get("dedicatedResources") or {}).get(key)
    updated = {**current, "dedicatedResources": resources}

    def effect() -> None:
        endpoint.deployed[current["id"]] = updated
        endpoint.updated_at = state.clock()

    return state.start_operation(endpoint.name, "mutate", "MutateDeployedModelOperationMetadata",
                                 {"@type": V1 + "MutateDeployedModelResponse", "deployedModel": updated},
                                 effect).resource(call.now, state.stamp)


def predict(state: VertexState, call: Call) -> dict[str, Any]:
    endpoint = _endpoint(state, call)
    instances = (call.body or {}).get("instances") or []
    if not endpoint.traffic:
        raise errors.VertexError("FAILED_PRECONDITION", f"Endpoint {endpoint.name} has no deployed model with traffic.")
    # deterministic weighted round robin: the model furthest below its share serves next
    total = sum(endpoint.served.get(d, 0) for d in endpoint.traffic) + 1
    chosen = min(endpoint.traffic, key=lambda d: (endpoint.served.get(d, 0) / total - endpoint.traffic[d] / 100, d))
    endpoint.served[chosen] = endpoint.served.get(chosen, 0) + 1
    deployed = endpoint.deployed[chosen]
    model = state.models[deployed["model"]]
    version = model.versions[deployed["modelVersionId"]]
    predictor = state.predictor(version.spec.get("artifactUri", ""))
    call.hold = predictor.latency
    if predictor.error:
        raise errors.VertexError("INTERNAL", predictor.error)
    return {"predictions": [predictor.predict(i) for i in instances], "deployedModelId": chosen,
            "model": model.name, "modelVersionId": version.version_id,
            "modelDisplayName": version.spec.get("displayName", "")}


# --- operations ---------------------------------------------------------------------------------------
def get_operation(state: VertexState, call: Call) -> dict[str, Any]:
    scope = "".join(f"/{kind}/{call.params[key]}" for kind, key in (("models", "model"), ("endpoints", "endpoint"))
                    if key in call.params)
    name = f"{call.parent}{scope}/operations/{call.params['operation']}"
    if name not in state.operations:
        raise errors.not_found(f"Operation {name}")
    return state.operations[name].resource(call.now, state.stamp)


def _routes() -> list[Route]:
    jobs, models, endpoints = f"{LOCATION}/customJobs", f"{LOCATION}/models", f"{LOCATION}/endpoints"
    rows = [
        Route("customJobs.create", "POST", jobs, "GoogleCloudAiplatformV1CustomJob",
              "GoogleCloudAiplatformV1CustomJob", create_custom_job, "aiplatform.customJobs.create"),
        Route("customJobs.list", "GET", jobs, None, "GoogleCloudAiplatformV1ListCustomJobsResponse",
              list_custom_jobs, "aiplatform.customJobs.list"),
        Route("customJobs.get", "GET", jobs + "/{job}", None, "GoogleCloudAiplatformV1CustomJob", get_custom_job,
              "aiplatform.customJobs.get"),
        Route("customJobs.cancel", "POST", jobs + "/{job}:cancel", "GoogleCloudAiplatformV1CancelCustomJobRequest",
              "GoogleProtobufEmpty", cancel_custom_job, "aiplatform.customJobs.cancel"),
        Route("models.upload", "POST", models + ":upload", "GoogleCloudAiplatformV1UploadModelRequest",
              "GoogleLongrunningOperation", upload_model, "aiplatform.models.upload"),
        Route("models.list", "GET", models, None, "GoogleCloudAiplatformV1ListModelsResponse", list_models,
              "aiplatform.models.list"),
        Route("models.get", "GET", models + "/{model}", None, "GoogleCloudAiplatformV1Model", get_model,
              "aiplatform.models.get"),
        Route("models.listVersions", "GET", models + "/{model}:listVersions", None,
              "GoogleCloudAiplatformV1ListModelVersionsResponse", list_model_versions, "aiplatform.models.list"),
        Route("models.mergeVersionAliases", "POST", models + "/{model}:mergeVersionAliases",
              "GoogleCloudAiplatformV1MergeVersionAliasesRequest", "GoogleCloudAiplatformV1Model",
              merge_version_aliases, "aiplatform.models.update"),
        Route("endpoints.create", "POST", endpoints, "GoogleCloudAiplatformV1Endpoint", "GoogleLongrunningOperation",
              create_endpoint, "aiplatform.endpoints.create"),
        Route("endpoints.list", "GET", endpoints, None, "GoogleCloudAiplatformV1ListEndpointsResponse",
              list_endpoints, "aiplatform.endpoints.list"),
        Route("endpoints.get", "GET", endpoints + "/{endpoint}", None, "GoogleCloudAiplatformV1Endpoint",
              get_endpoint, "aiplatform.endpoints.get"),
        Route("endpoints.patch", "PATCH", endpoints + "/{endpoint}", "GoogleCloudAiplatformV1Endpoint",
              "GoogleCloudAiplatformV1Endpoint", patch_endpoint, "aiplatform.endpoints.update"),
        Route("endpoints.deployModel", "POST", endpoints + "/{endpoint}:deployModel",
              "GoogleCloudAiplatformV1DeployModelRequest", "GoogleLongrunningOperation", deploy_model,
              "aiplatform.endpoints.deploy"),
        Route("endpoints.undeployModel", "POST", endpoints + "/{endpoint}:undeployModel",
              "GoogleCloudAiplatformV1UndeployModelRequest", "GoogleLongrunningOperation", undeploy_model,
              "aiplatform.endpoints.undeploy"),
        Route("endpoints.mutateDeployedModel", "POST", endpoints + "/{endpoint}:mutateDeployedModel",
              "GoogleCloudAiplatformV1MutateDeployedModelRequest", "GoogleLongrunningOperation",
              mutate_deployed_model, "aiplatform.endpoints.deploy"),
        Route("endpoints.predict", "POST", endpoints + "/{endpoint}:predict",
              "GoogleCloudAiplatformV1PredictRequest", "GoogleCloudAiplatformV1PredictResponse", predict,
              "aiplatform.endpoints.predict"),
    ]
    for prefix in ("/v1", "/ui"):
        base = LOCATION.replace("/v1", prefix, 1)
        for method, scope in (("operations.get", ""), ("models.operations.get", "/models/{model}"),
                              ("endpoints.operations.get", "/endpoints/{endpoint}")):
            rows.append(Route(method, "GET", f"{base}{scope}/operations/{{operation}}", None,
                              "GoogleLongrunningOperation", get_operation, "aiplatform.operations.get"))
    return rows


ROUTES = _routes()


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        if route.http_method == method:
            found = route.regex.match(path)
            if found:
                return route, found.groupdict()
    return None
