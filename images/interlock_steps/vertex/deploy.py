"""vertex-deploy: upload a model version and deploy it to an endpoint for a share of the traffic.

1. Check every param and build the Model before any call.
2. Model: find the version an earlier run uploaded with the same spec (models.py), or upload it
   (a new model, or a version of `parent-model`) and wait for the operation; then make sure it
   holds the version aliases asked for.
3. Endpoint: `endpoint` (must exist), or the one named `endpoint-display-name` (created when
   there is none).
4. Deploy: unless the version is deployed there already, deploy it with a traffic split giving
   it `traffic-percent` and the others the rest in proportion; otherwise bring its traffic and
   replica counts to what was asked. Nothing is deployed twice.
5. Results: model, model-version-id, endpoint, deployed-model-id and previous-traffic (the split
   before this deployment, JSON, for vertex-verify to roll back to).
"""
from __future__ import annotations

import json

from interlock_steps import runtime as rt

from . import endpoints, labels, models
from .client import CONNECTION_PARAMS, connect
from .endpoints import Resources
from .waiting import Backoff

PARAMS = [
    *CONNECTION_PARAMS,
    *models.MODEL_PARAMS,
    *endpoints.ENDPOINT_PARAMS,
    *endpoints.DEPLOY_PARAMS,
    rt.param("poll-interval", rt.positive_seconds, default=5.0, help="first wait between polls, in seconds"),
]


def validate(step: rt.Step) -> tuple[dict, Resources]:
    p = step.params
    model = models.upload_body(p)
    if not 0 <= p.traffic_percent <= 100:
        raise rt.BadInput(f"param 'traffic-percent' must be from 0 to 100, got {p.traffic_percent}",
                          param="traffic-percent")
    if not p.endpoint and not p.endpoint_display_name:
        raise rt.BadInput("give endpoint (an existing endpoint) or endpoint-display-name (found or created)",
                          param="endpoint")
    labels.user_labels(p.endpoint_labels, "endpoint-labels")
    resources = Resources(p.machine_type, p.accelerator_type, p.accelerator_count, p.min_replica_count,
                          p.max_replica_count)
    resources.check()
    return model, resources


def main(step: rt.Step) -> None:
    p = step.params
    model, resources = validate(step)
    backoff = Backoff(initial=p.poll_interval)
    vertex = connect(step)
    parent_model = models.parent_model(p.parent_model, vertex.parent)
    spec = models.fingerprint(model, parent_model)

    version = models.find(vertex, p.model_display_name, parent_model, spec)
    endpoint = (endpoints.get(vertex, endpoints.endpoint_name(p.endpoint, vertex.parent)) if p.endpoint
                else endpoints.find_by_display_name(vertex, p.endpoint_display_name))
    if step.dry_run:
        plan(step, version, endpoint, model)
        return

    if version is None:
        version = models.upload(vertex, model, parent_model, spec, p.version_aliases, backoff)
        step.record("upload model", f"{version.model}@{version.version_id}", spec=spec)
    else:
        step.log.info("model version already uploaded", target=f"{version.model}@{version.version_id}", spec=spec)
    version = models.ensure_aliases(vertex, version, p.version_aliases)
    if endpoint is None:
        endpoint, _ = endpoints.get_or_create(vertex, p.endpoint_display_name, p.endpoint_labels, backoff)

    before = endpoints.traffic(endpoint)
    existing = endpoints.deployed_version(endpoint, version.model, version.version_id)
    if existing is None:
        if not before and p.traffic_percent != 100:
            step.log.info(f"the endpoint has no traffic yet: the new version gets 100%, not {p.traffic_percent}%",
                          target=endpoint.name)
        split = endpoints.shifted(before, "0", p.traffic_percent)
        deployed_id = endpoints.deploy(vertex, endpoint, version.model, version.version_id,
                                       p.deployed_model_display_name or p.model_display_name, resources, split,
                                       p.serving_service_account, backoff)
        step.record("deploy model", f"{endpoint.name} deployed model {deployed_id}",
                    model=f"{version.model}@{version.version_id}", traffic=split)
        previous = before
    else:
        deployed_id = existing.id
        previous = endpoints.without(before, deployed_id)
        wanted = endpoints.shifted(previous, deployed_id, p.traffic_percent)
        step.log.info("model version already deployed", target=f"{endpoint.name} deployed model {deployed_id}")
        if wanted != before:
            endpoints.set_traffic(vertex, endpoint, wanted)
            step.record("update endpoint traffic", endpoint.name, traffic=wanted, was=before)
        endpoints.set_replicas(vertex, endpoint, existing, resources, backoff)
    step.results.write(**{"model": version.model, "model-version-id": version.version_id,
                          "endpoint": endpoint.name, "deployed-model-id": deployed_id,
                          "previous-traffic": json.dumps(previous, sort_keys=True, separators=(",", ":"))})


def plan(step: rt.Step, version: models.Version | None, endpoint, model: dict) -> None:
    p = step.params
    if version is None:
        step.plan("upload model", p.parent_model or model["displayName"], artifact_uri=model["artifactUri"])
    target = endpoint.name if endpoint is not None else p.endpoint_display_name
    if endpoint is None:
        step.plan("create endpoint", p.endpoint_display_name)
    step.plan("deploy model", target, traffic_percent=p.traffic_percent)
    previous = endpoints.traffic(endpoint) if endpoint is not None else {}
    step.results.write(**{"model": version.model if version else "", "model-version-id":
                          version.version_id if version else "", "endpoint": endpoint.name if endpoint else "",
                          "deployed-model-id": "", "previous-traffic": json.dumps(previous, sort_keys=True,
                                                                                  separators=(",", ":"))})


if __name__ == "__main__":
    rt.run(main, task="vertex-deploy", step="deploy", params=PARAMS,
           description="Upload a model version and deploy it to an endpoint for a share of the traffic, once.")
