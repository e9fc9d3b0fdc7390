"""Endpoints: get or create one, deploy a model version to a share of its traffic, and undo it.

Traffic splits are maps of deployed-model id to whole percentages that add up to 100
(DeployModelRequest.traffic_split; "0" names the model being deployed). The new model gets N %
and the others keep their proportions among the rest, rounded by largest remainder so the sum
stays exactly 100. An endpoint with no traffic yet gives the new model all of it.

Re-running is harmless: a version already deployed on the endpoint is not deployed again (its
traffic and replica counts are brought to what was asked), and its `previous-traffic` is the
current split without it, the others scaled back to 100 (the inverse of the shift above, up to
rounding).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from interlock_steps import runtime as rt

from . import labels
from .client import Vertex, VertexError
from .waiting import Backoff

ENDPOINT_PARAMS = [
    rt.param("endpoint", default="", help="endpoint id or resource name; empty: found or created by display name"),
    rt.param("endpoint-display-name", default="", help="endpoint display name to find or create"),
    rt.param("endpoint-labels", labels.parse, default={}, help="labels of an endpoint the step creates"),
]
DEPLOY_PARAMS = [
    rt.param("traffic-percent", rt.integer, default=100, help="share of the endpoint's traffic for the new version"),
    rt.param("machine-type", default="n1-standard-2", help="machine type of the serving replicas"),
    rt.param("accelerator-type", default="", help="e.g. NVIDIA_TESLA_T4; empty: none"),
    rt.param("accelerator-count", rt.integer, default=0, help="accelerators per replica"),
    rt.param("min-replica-count", rt.integer, default=1, help="replicas always running"),
    rt.param("max-replica-count", rt.integer, default=1, help="replicas autoscaling may reach"),
    rt.param("deployed-model-display-name", default="", help="display name of the deployment; default the model's"),
    rt.param("serving-service-account", default="", help="service account the serving container runs as"),
]


# --- traffic arithmetic -----------------------------------------------------------------------------
def _apportion(weights: dict[str, float], total: int) -> dict[str, int]:
    """Whole numbers proportional to `weights` that add up to `total` (largest remainder;
    ties to the first key in sorted order, so the result is deterministic)."""
    mass = sum(weights.values())
    if not weights or mass <= 0:
        return {}
    exact = {k: weights[k] * total / mass for k in sorted(weights)}
    whole = {k: math.floor(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (-(exact[k] - whole[k]), k))[:total - sum(whole.values())]:
        whole[k] += 1
    return whole


def shifted(current: dict[str, int], new: str, percent: int) -> dict[str, int]:
    """The split with `new` at `percent` and the others scaled to share the rest."""
    others = {k: v for k, v in current.items() if k != new and v > 0}
    if not others:
        return {new: 100}
    split = {new: percent, **_apportion({k: float(v) for k, v in others.items()}, 100 - percent)}
    return checked(split, "traffic split")


def without(current: dict[str, int], removed: str) -> dict[str, int]:
    """The split as it was before `removed` got its share (the others scaled back to 100)."""
    others = {k: v for k, v in current.items() if k != removed and v > 0}
    return _apportion({k: float(v) for k, v in others.items()}, 100) if others else {}


def checked(split: dict[str, int], what: str, deployed: set[str] | None = None) -> dict[str, int]:
    """`split` if it is a valid traffic split: whole percentages from 0 to 100 adding up to 100
    (or nothing at all), over deployed models when `deployed` is given."""
    if any(not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 100 for v in split.values()):
        raise rt.BadInput(f"{what}: percentages must be whole numbers from 0 to 100, got {split}")
    if split and sum(split.values()) != 100:
        raise rt.BadInput(f"{what}: percentages add up to {sum(split.values())}, not 100: {split}")
    unknown = sorted(set(split) - deployed) if deployed is not None else []
    if unknown:
        raise rt.BadInput(f"{what}: deployed models {unknown} are not on the endpoint (it has {sorted(deployed or [])})")
    return {k: v for k, v in split.items() if v > 0}


# --- endpoints -----------------------------------------------------------------------------------------
def endpoint_name(reference: str, parent: str) -> str:
    if not reference or reference.startswith("projects/"):
        return reference
    return f"{parent}/endpoints/{reference}"


def get(vertex: Vertex, name: str) -> Any:
    return vertex.call("get endpoint", vertex.endpoints.get_endpoint, name=name)


def find_by_display_name(vertex: Vertex, display_name: str) -> Any | None:
    found = vertex.call("list endpoints", lambda **kw: list(vertex.endpoints.list_endpoints(**kw)),
                        request={"parent": vertex.parent, "filter": f'display_name="{display_name}"'})
    if len(found) > 1:
        raise rt.TargetFailed(f"{len(found)} endpoints are named {display_name!r} ({', '.join(e.name for e in found)}): "
                              "give the one to use as endpoint", target=display_name)
    return found[0] if found else None


def get_or_create(vertex: Vertex, display_name: str, endpoint_labels: dict[str, str], backoff: Backoff) -> tuple[Any, bool]:
    """(the endpoint with this display name, whether this call created it)."""
    existing = find_by_display_name(vertex, display_name)
    if existing is not None:
        return existing, False
    attempts = 0

    def attempt() -> Any:
        nonlocal attempts
        attempts += 1
        if attempts > 1:   # the last create may have gone through before its answer was lost
            again = find_by_display_name(vertex, display_name)
            if again is not None:
                return again
        operation = vertex.call("create endpoint", vertex.endpoints.create_endpoint, retry=False,
                                parent=vertex.parent, endpoint={"display_name": display_name,
                                                                "labels": endpoint_labels})
        return vertex.finish(operation, "endpoint creation", backoff)

    created = vertex.step.retrying(retry_on=lambda e: isinstance(e, VertexError) and e.retryable,
                                   doing="creating the endpoint again")(attempt)
    vertex.step.record("create endpoint", created.name, display_name=display_name)
    return created, True


def traffic(endpoint: Any) -> dict[str, int]:
    return {k: int(v) for k, v in endpoint.traffic_split.items() if int(v) > 0}


def deployed_version(endpoint: Any, model: str, version_id: str) -> Any | None:
    """The deployed model of this model version on the endpoint, if any."""
    return next((d for d in endpoint.deployed_models
                 if d.model.split("@")[0] == model and d.model_version_id == version_id), None)


@dataclass(frozen=True)
class Resources:
    machine_type: str
    accelerator_type: str
    accelerator_count: int
    min_replicas: int
    max_replicas: int

    def check(self) -> None:
        if self.min_replicas < 1 or self.max_replicas < self.min_replicas:
            raise rt.BadInput(f"replica counts: need 1 <= min-replica-count <= max-replica-count, got "
                              f"{self.min_replicas} and {self.max_replicas}", param="min-replica-count")
        if bool(self.accelerator_type) != (self.accelerator_count > 0):
            raise rt.BadInput("params 'accelerator-type' and 'accelerator-count' go together: give both or neither",
                              param="accelerator-count")

    def dedicated(self) -> dict[str, Any]:
        machine: dict[str, Any] = {"machine_type": self.machine_type}
        if self.accelerator_type:
            machine.update(accelerator_type=self.accelerator_type, accelerator_count=self.accelerator_count)
        return {"machine_spec": machine, "min_replica_count": self.min_replicas, "max_replica_count": self.max_replicas}


def deploy(vertex: Vertex, endpoint: Any, model: str, version_id: str, display_name: str, resources: Resources,
           split: dict[str, int], service_account: str, backoff: Backoff) -> str:
    """Deploy the version with traffic `split` ("0" for it); returns the deployed model's id."""
    deployed: dict[str, Any] = {"model": f"{model}@{version_id}", "display_name": display_name,
                                "dedicated_resources": resources.dedicated()}
    if service_account:
        deployed["service_account"] = service_account
    # deployModel is not idempotent (it adds a deployment): no blind retry, a re-run finds it
    operation = vertex.call("deploy model", vertex.endpoints.deploy_model, retry=False,
                            endpoint=endpoint.name, deployed_model=deployed, traffic_split=split)
    result = vertex.finish(operation, "model deployment", backoff)
    return result.deployed_model.id


def set_traffic(vertex: Vertex, endpoint: Any, split: dict[str, int]) -> Any:
    """Patch the endpoint's traffic split (idempotent: the same split twice is the same state)."""
    from google.protobuf import field_mask_pb2

    body = {"name": endpoint.name, "traffic_split": split}
    return vertex.call("update endpoint traffic", vertex.endpoints.update_endpoint, endpoint=body,
                       update_mask=field_mask_pb2.FieldMask(paths=["traffic_split"]))


def set_replicas(vertex: Vertex, endpoint: Any, current: Any, resources: Resources, backoff: Backoff) -> None:
    """Bring a deployed model's replica counts to what was asked (mutateDeployedModel)."""
    from google.protobuf import field_mask_pb2

    dedicated = current.dedicated_resources
    if (dedicated.min_replica_count, dedicated.max_replica_count) == (resources.min_replicas, resources.max_replicas):
        return
    change = {"id": current.id, "model": current.model,
              "dedicated_resources": {"machine_spec": dedicated.machine_spec,
                                      "min_replica_count": resources.min_replicas,
                                      "max_replica_count": resources.max_replicas}}
    mask = field_mask_pb2.FieldMask(paths=["dedicated_resources.min_replica_count",
                                           "dedicated_resources.max_replica_count"])
    operation = vertex.call("update replica counts", vertex.endpoints.mutate_deployed_model,
                            endpoint=endpoint.name, deployed_model=change, update_mask=mask)
    vertex.finish(operation, "replica count update", backoff)
    vertex.step.record("update replica counts", f"{endpoint.name} deployed model {current.id}",
                       min=resources.min_replicas, max=resources.max_replicas)


def undeploy(vertex: Vertex, endpoint: Any, deployed_id: str, split: dict[str, int], backoff: Backoff) -> None:
    """Take a deployed model off the endpoint, giving its traffic back as `split` in the same call."""
    operation = vertex.call("undeploy model", vertex.endpoints.undeploy_model, endpoint=endpoint.name,
                            deployed_model_id=deployed_id, traffic_split=split)
    vertex.finish(operation, "model undeployment", backoff)


def restore(vertex: Vertex, name: str, previous: dict[str, int], undeploy_id: str, backoff: Backoff) -> str:
    """Put endpoint `name` back as vertex-deploy found it: its split `previous` and, when
    `undeploy_id` is still on it, that deployment taken off in the same call. Read as it is now,
    so a second run does nothing. What was done: undeployed, traffic or none."""
    current = get(vertex, name)
    deployed = {d.id for d in current.deployed_models}
    checked(previous, "param 'previous-traffic'", deployed)
    if undeploy_id and undeploy_id in deployed:
        undeploy(vertex, current, undeploy_id, previous, backoff)
        vertex.step.record("undeploy model", f"{current.name} deployed model {undeploy_id}", traffic=previous)
        return "undeployed"
    if traffic(current) != previous:
        set_traffic(vertex, current, previous)
        vertex.step.record("restore endpoint traffic", current.name, traffic=previous, was=traffic(current))
        return "traffic"
    return "none"
