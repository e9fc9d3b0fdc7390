"""Model Registry: upload a model (or a new version of one) once, however often the step runs.

Vertex AI gives every upload a new version, so a re-run must find what it uploaded before:
each version the step uploads carries an `interlock-spec` label, a hash of what defines it
(display name, artifact URI, serving container, parent model). The step lists the versions
(of the parent model, or of the models with that display name) with that label first, and
uploads only when there is none. Aliases are then made to hold (mergeVersionAliases), as an
alias another version holds moves to this one (Vertex AI docs, "How to use model version
aliases").
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from interlock_steps import runtime as rt

from . import gapic, labels
from .client import Vertex
from .waiting import Backoff

# version aliases: lowercase letters, digits and '-', starting with a letter, not numeric
_ALIAS = re.compile(r"^[a-z][a-z0-9-]{0,126}[a-z0-9]$")

MODEL_PARAMS = [
    rt.param("model-display-name", required=True, help="the model's display name"),
    rt.param("artifact-uri", required=True, help="gs:// folder of the model artifacts (vertex-train's model-dir)"),
    rt.param("serving-image-uri", required=True, help="the serving container image"),
    rt.param("serving-command", rt.string_list, default=[], help="the serving container's command (JSON array)"),
    rt.param("serving-args", rt.string_list, default=[], help="the serving container's args (JSON array)"),
    rt.param("serving-env", labels.parse, default={}, help="serving container env: KEY=value pairs or a JSON object"),
    rt.param("predict-route", default="", help="HTTP path the container serves predictions on"),
    rt.param("health-route", default="", help="HTTP path of the container's health check"),
    rt.param("container-port", rt.integer, default=0, help="port the container listens on; 0: Vertex's 8080"),
    rt.param("parent-model", default="", help="model (id or resource name) to add a version to; empty: a new model"),
    rt.param("version-aliases", rt.string_list, default=[], help="aliases for the version, e.g. candidate"),
    rt.param("model-labels", labels.parse, default={}, help="model labels: key=value pairs or a JSON object"),
]


def upload_body(p: Any) -> dict[str, Any]:
    """The Model (REST JSON) to upload; BadInput naming the param that is wrong."""
    if not p.artifact_uri.startswith("gs://"):
        raise rt.BadInput(f"param 'artifact-uri' must be a gs:// URI, got {p.artifact_uri!r}", param="artifact-uri")
    for alias in p.version_aliases:
        if not _ALIAS.match(alias) or alias.isdigit():
            raise rt.BadInput(f"param 'version-aliases': {alias!r} is not a valid alias (lowercase letters, digits "
                              "and '-', starting with a letter, at most 128)", param="version-aliases")
    if not 0 <= p.container_port <= 65535:
        raise rt.BadInput(f"param 'container-port' must be a port number, got {p.container_port}", param="container-port")
    container: dict[str, Any] = {"imageUri": p.serving_image_uri}
    for key, value in (("command", p.serving_command), ("args", p.serving_args), ("predictRoute", p.predict_route),
                       ("healthRoute", p.health_route)):
        if value:
            container[key] = value
    if p.serving_env:
        container["env"] = [{"name": k, "value": v} for k, v in sorted(p.serving_env.items())]
    if p.container_port:
        container["ports"] = [{"containerPort": p.container_port}]
    model = {"displayName": p.model_display_name, "artifactUri": p.artifact_uri, "containerSpec": container,
             "labels": labels.user_labels(p.model_labels, "model-labels")}
    try:
        gapic.from_json("model", "Model", model)
    except ValueError as error:
        raise rt.BadInput(f"the model the params describe is not valid: {error}", param="serving-image-uri") from None
    return model


def parent_model(reference: str, parent: str) -> str:
    """A model id or resource name as a resource name ('' stays '')."""
    if not reference or reference.startswith("projects/"):
        return reference
    return f"{parent}/models/{reference}"


def fingerprint(model: dict[str, Any], parent_model_name: str) -> str:
    """The `interlock-spec` label value: what makes this version this version (40 hex digits,
    within a label value's 63 characters)."""
    defining = {"displayName": model["displayName"], "artifactUri": model["artifactUri"],
                "containerSpec": model["containerSpec"], "parentModel": parent_model_name}
    return hashlib.sha256(json.dumps(defining, sort_keys=True).encode()).hexdigest()[:40]


@dataclass
class Version:
    model: str          # projects/p/locations/l/models/ID
    version_id: str
    aliases: list[str]
    uploaded: bool      # by this run (False: found from an earlier one)


def find(vertex: Vertex, display_name: str, parent_model_name: str, spec: str) -> Version | None:
    """The version an earlier run uploaded with this spec, if any."""
    by_spec = f'labels.{labels.SPEC}="{spec}"'

    def versions_of(name: str) -> list[Any]:
        return vertex.call("list model versions", lambda **kw: list(vertex.models.list_model_versions(**kw)),
                           request={"name": name, "filter": by_spec})

    if parent_model_name:
        candidates = versions_of(parent_model_name)
    else:
        models = vertex.call("list models", lambda **kw: list(vertex.models.list_models(**kw)),
                             request={"parent": vertex.parent, "filter": f'display_name="{display_name}"'})
        candidates = [v for m in models for v in versions_of(m.name)]
    if not candidates:
        return None
    found = max(candidates, key=lambda v: v.version_create_time)
    return Version(found.name, found.version_id, list(found.version_aliases), uploaded=False)


def upload(vertex: Vertex, model: dict[str, Any], parent_model_name: str, spec: str, aliases: list[str],
           backoff: Backoff) -> Version:
    body = {**model, "labels": {**model["labels"], labels.SPEC: spec}, "versionAliases": aliases}
    request: dict[str, Any] = {"parent": vertex.parent, "model": gapic.from_json("model", "Model", body)}
    if parent_model_name:
        request["parent_model"] = parent_model_name
    # models.upload is not idempotent: no blind retry; a re-run finds the version by its label
    operation = vertex.call("upload model", vertex.models.upload_model, retry=False, request=request)
    result = vertex.finish(operation, "model upload", backoff)
    return Version(result.model, result.model_version_id, list(aliases), uploaded=True)


def ensure_aliases(vertex: Vertex, version: Version, aliases: list[str]) -> Version:
    """Give the version every alias asked for that it lacks (moving them from other versions)."""
    missing = [a for a in aliases if a not in version.aliases]
    if not missing:
        return version
    updated = vertex.call("merge version aliases", vertex.models.merge_version_aliases,
                          name=f"{version.model}@{version.version_id}", version_aliases=missing)
    vertex.step.record("merge version aliases", f"{version.model}@{version.version_id}", aliases=missing)
    return Version(version.model, version.version_id, list(updated.version_aliases), version.uploaded)
