"""What the fake Vertex AI holds: custom jobs, models and their versions, endpoints, long-running
operations and the predictors behind deployed models.

Nothing runs in the background: a job's state and an operation's completion are functions of
the fake's clock (a ManualClock in tests makes them exact), and each request first applies the
operations that completed since the last one (`advance`). Resources are kept in the name form
of their JSON (enums by name); the server converts at the edges.
"""
from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import errors

PENDING, RUNNING, SUCCEEDED = "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"
FAILED, CANCELLING, CANCELLED = "JOB_STATE_FAILED", "JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"
EXPIRED, PARTIALLY_SUCCEEDED, QUEUED = "JOB_STATE_EXPIRED", "JOB_STATE_PARTIALLY_SUCCEEDED", "JOB_STATE_QUEUED"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED, PARTIALLY_SUCCEEDED})
V1 = "type.googleapis.com/google.cloud.aiplatform.v1."


@dataclass
class JobPlan:
    """How a new custom job moves, in seconds of the fake's clock: PENDING for `pending`, then
    RUNNING for `running`, then `outcome` (FAILED with `error`). None: it stays in that state
    until the test moves it (`VertexState.set_job_state`)."""

    pending: float | None = 1.0
    running: float | None = 5.0
    outcome: str = SUCCEEDED
    error: str = "The replica workerpool0-0 exited with a non-zero status of 1."

    def timeline(self, start: float) -> list[tuple[float, str, dict | None]]:
        entries: list[tuple[float, str, dict | None]] = [(start, PENDING, None)]
        if self.pending is None:
            return entries
        entries.append((start + self.pending, RUNNING, None))
        if self.running is None:
            return entries
        error = errors.VertexError("INTERNAL", self.error).rpc_status() if self.outcome == FAILED else None
        return [*entries, (start + self.pending + self.running, self.outcome, error)]


@dataclass
class Job:
    name: str
    spec: dict[str, Any]            # what the client sent (displayName, jobSpec, labels…)
    created_at: float
    timeline: list[tuple[float, str, dict | None]]

    def at(self, now: float) -> tuple[float, str, dict | None]:
        return [entry for entry in self.timeline if entry[0] <= now][-1]

    def state(self, now: float) -> str:
        return self.at(now)[1]

    def move(self, now: float, *entries: tuple[float, str, dict | None]) -> None:
        """Replace what was still to come with `entries`."""
        self.timeline = [e for e in self.timeline if e[0] <= now] + list(entries)

    def resource(self, now: float, stamp: Callable[[float], str]) -> dict[str, Any]:
        when, state, error = self.at(now)
        started = next((t for t, s, _ in self.timeline if s == RUNNING and t <= now), None)
        body = {**self.spec, "name": self.name, "state": state, "createTime": stamp(self.created_at),
                "updateTime": stamp(when)}
        if started is not None:
            body["startTime"] = stamp(started)
        if state in TERMINAL:
            body["endTime"] = stamp(when)
        if error:
            body["error"] = error
        return body


@dataclass
class ModelVersion:
    version_id: str
    spec: dict[str, Any]            # the uploaded Model (displayName, artifactUri, containerSpec, labels…)
    aliases: list[str]
    created_at: float


@dataclass
class Model:
    name: str                       # projects/p/locations/l/models/ID
    versions: dict[str, ModelVersion] = field(default_factory=dict)
    created_at: float = 0.0

    @property
    def default(self) -> ModelVersion:
        return next(v for v in self.versions.values() if "default" in v.aliases)

    def version(self, ref: str | None) -> ModelVersion | None:
        """By version id or alias; the default version for None."""
        if ref is None:
            return self.default
        return self.versions.get(ref) or next((v for v in self.versions.values() if ref in v.aliases), None)

    def resource(self, version: ModelVersion, stamp: Callable[[float], str]) -> dict[str, Any]:
        return {**version.spec, "name": self.name, "versionId": version.version_id,
                "versionAliases": list(version.aliases), "createTime": stamp(self.created_at),
                "updateTime": stamp(version.created_at), "versionCreateTime": stamp(version.created_at),
                "versionUpdateTime": stamp(version.created_at), "etag": f"v{version.version_id}",
                "supportedDeploymentResourcesTypes": ["DEDICATED_RESOURCES"]}


@dataclass
class Endpoint:
    name: str
    spec: dict[str, Any]            # displayName, labels, description…
    created_at: float
    deployed: dict[str, dict[str, Any]] = field(default_factory=dict)    # id -> DeployedModel
    traffic: dict[str, int] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)                 # predictions per deployed model
    updated_at: float = 0.0

    def resource(self, stamp: Callable[[float], str]) -> dict[str, Any]:
        body = {**self.spec, "name": self.name, "createTime": stamp(self.created_at),
                "updateTime": stamp(self.updated_at or self.created_at), "etag": f"e{int(self.updated_at * 1000)}"}
        if self.deployed:
            body["deployedModels"] = list(self.deployed.values())
        if self.traffic:
            body["trafficSplit"] = dict(self.traffic)
        return body


@dataclass
class Operation:
    name: str
    kind: str                       # upload, createEndpoint, deploy, undeploy, mutate
    created_at: float
    done_at: float
    metadata_type: str
    response: dict[str, Any] | None = None
    error: errors.VertexError | None = None
    effect: Callable[[], None] | None = None
    applied: bool = False

    def resource(self, now: float, stamp: Callable[[float], str]) -> dict[str, Any]:
        done = now >= self.done_at
        body: dict[str, Any] = {"name": self.name, "metadata": {
            "@type": V1 + self.metadata_type,
            "genericMetadata": {"createTime": stamp(self.created_at),
                                "updateTime": stamp(min(now, self.done_at))}}}
        if done:
            body["done"] = True
            if self.error is not None:
                body["error"] = self.error.rpc_status()
            else:
                body["response"] = self.response or {}
        return body


@dataclass
class OperationPlan:
    """How long the next operations of a kind take, and whether they fail (with `error`)."""

    seconds: float
    error: errors.VertexError | None = None


@dataclass
class Predictor:
    """What a deployed model answers: scale × (sum of the numbers in an instance) + bias.
    `latency` seconds pass on the fake's sleep before each answer; `error` fails every call."""

    scale: float = 1.0
    bias: float = 0.0
    latency: float = 0.0
    error: str | None = None

    def predict(self, instance: Any) -> float:
        return round(self.scale * _sum(instance) + self.bias, 6)


def _sum(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return sum(_sum(v) for v in value.values())
    if isinstance(value, list):
        return sum(_sum(v) for v in value)
    return 0.0


class VertexState:
    def __init__(self, clock: Callable[[], float] = time.monotonic, *, wall_start: float | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._origin = (clock(), time.time() if wall_start is None else wall_start)
        self.jobs: dict[str, Job] = {}
        self.models: dict[str, Model] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.operations: dict[str, Operation] = {}
        self.predictors: dict[str, Predictor] = {}     # by artifactUri; unknown ones get Predictor()
        self.job_plan = JobPlan()
        self.job_plans: dict[str, JobPlan] = {}           # by display name, over job_plan
        self.cancel_seconds = 1.0
        self.operation_plans: dict[str, OperationPlan] = {
            "upload": OperationPlan(1.0), "createEndpoint": OperationPlan(0.5), "deploy": OperationPlan(2.0),
            "undeploy": OperationPlan(1.0), "mutate": OperationPlan(1.0)}
        self.page_size = 50
        self._ids = itertools.count(1)

    # --- ids, times ----------------------------------------------------------------------------
    def new_id(self) -> str:
        """Numeric ids, as Vertex AI gives (19 digits)."""
        return str(4_000_000_000_000_000_000 + next(self._ids))

    def stamp(self, moment: float) -> str:
        """RFC 3339 (microseconds, UTC) of a moment of the fake's clock."""
        wall = self._origin[1] + (moment - self._origin[0])
        return datetime.fromtimestamp(wall, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def advance(self) -> None:
        """Apply the effects of the operations that are done by now, in the order they finished."""
        now = self.clock()
        with self.lock:
            for operation in sorted(self.operations.values(), key=lambda o: o.done_at):
                if not operation.applied and operation.done_at <= now:
                    operation.applied = True
                    if operation.error is None and operation.effect is not None:
                        operation.effect()

    def start_operation(self, parent: str, kind: str, metadata_type: str, response: dict[str, Any],
                        effect: Callable[[], None]) -> Operation:
        plan = self.operation_plans[kind]
        now = self.clock()
        operation = Operation(f"{parent}/operations/{self.new_id()}", kind, now, now + plan.seconds, metadata_type,
                              response=response, error=plan.error, effect=effect)
        self.operations[operation.name] = operation
        return operation

    # --- what tests drive ------------------------------------------------------------------------
    def set_job_state(self, name: str, state: str, error: str | None = None, code: str = "INTERNAL") -> None:
        """Move a job now (a test driving the state machine); FAILED jobs carry `error`."""
        with self.lock:
            job = self.jobs[name]
            status = errors.VertexError(code, error or "The job failed.").rpc_status() if state == FAILED else None
            job.move(self.clock(), (self.clock(), state, status))

    def job_named(self, display_name: str) -> Job:
        with self.lock:
            return next(j for j in self.jobs.values() if j.spec.get("displayName") == display_name)

    def predictor(self, artifact_uri: str) -> Predictor:
        return self.predictors.setdefault(artifact_uri, Predictor())

    # --- what exists before a test (a scenario's models and endpoints) ------------------------------
    def seed_model(self, name: str, spec: dict[str, Any]) -> Model:
        """A model with one version ("1", alias default); `spec` as the Model's REST JSON
        (displayName, artifactUri, containerSpec…)."""
        if not re.fullmatch(r"projects/[^/]+/locations/[^/]+/models/[^/]+", name):
            raise ValueError(f"model {name!r}: expected projects/<p>/locations/<l>/models/<id>")
        now = self.clock()
        with self.lock:
            self.models[name] = Model(name, {"1": ModelVersion("1", dict(spec), ["default"], now)}, created_at=now)
            return self.models[name]

    def seed_endpoint(self, name: str, spec: dict[str, Any]) -> Endpoint:
        """An endpoint as the Endpoint's REST JSON: displayName, labels, deployedModels (each with
        id, model and modelVersionId of a model seeded before), trafficSplit."""
        if not re.fullmatch(r"projects/[^/]+/locations/[^/]+/endpoints/[^/]+", name):
            raise ValueError(f"endpoint {name!r}: expected projects/<p>/locations/<l>/endpoints/<id>")
        now = self.clock()
        deployed: dict[str, dict[str, Any]] = {}
        for entry in spec.get("deployedModels") or []:
            model = self.models.get(entry.get("model", ""))
            if model is None or entry.get("modelVersionId") not in model.versions or not entry.get("id"):
                raise ValueError(f"endpoint {name}: deployed model {entry.get('id')!r} names no seeded model version "
                                 f"({entry.get('model')!r} version {entry.get('modelVersionId')!r})")
            deployed[entry["id"]] = {**entry, "createTime": self.stamp(now)}
        traffic = {k: int(v) for k, v in (spec.get("trafficSplit") or {}).items()}
        if set(traffic) - set(deployed) or (traffic and sum(traffic.values()) != 100):
            raise ValueError(f"endpoint {name}: trafficSplit {traffic} must name its deployed models and add up to 100")
        endpoint = Endpoint(name, {k: v for k, v in spec.items() if k in ("displayName", "description", "labels")}, now,
                            deployed=deployed, traffic=traffic)
        with self.lock:
            self.endpoints[name] = endpoint
        return endpoint


# --- list filters (AIP-160, the subset Vertex AI's list methods are called with here) -----------
def parse_filter(text: str) -> list[tuple[str, str]]:
    """`labels.run="abc" AND display_name="x"` -> [("labels.run", "abc"), ("display_name", "x")]."""
    clauses: list[tuple[str, str]] = []
    for part in [p.strip() for p in text.split(" AND ")] if text.strip() else []:
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key or not (key.startswith("labels.") or key in ("display_name", "state")):
            raise errors.invalid(f"Unsupported filter: {text!r}")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        clauses.append((key, value))
    return clauses


def matches(resource: dict[str, Any], clauses: list[tuple[str, str]]) -> bool:
    for key, value in clauses:
        if key.startswith("labels."):
            actual = (resource.get("labels") or {}).get(key[len("labels."):])
        else:
            actual = resource.get({"display_name": "displayName"}.get(key, key))
        if actual != value:
            return False
    return True


def page(items: list[dict[str, Any]], query: dict[str, str], default_size: int) -> tuple[list[dict[str, Any]], str]:
    """One page of `items` and the next page token ("" at the end)."""
    try:
        start = int(query.get("pageToken") or 0)
        size = int(query.get("pageSize") or default_size) or default_size
    except ValueError:
        raise errors.invalid("Invalid page token.") from None
    end = start + size
    return items[start:end], (str(end) if end < len(items) else "")
