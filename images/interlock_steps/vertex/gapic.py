"""The four `aiplatform_v1` service clients the steps use, imported without the other 31.

`import google.cloud.aiplatform_v1` runs a package `__init__` that imports every service of the
API and ~250 message modules: 0.56 s in the vertex image, against 0.26 s for the job, model,
endpoint and prediction services alone, and more than half of a step's cold start. So the
packages on the way to those services are registered with their search path but without
running their `__init__` (importlib's module_from_spec without exec_module); each service
module then imports just the message modules it needs, as it would anyway. A process that
imported the whole package first keeps it unchanged.

Nothing else changes: the client classes, their REST transport and the message types are the
library's own.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

PACKAGE = "google.cloud.aiplatform_v1"
SERVICES = {
    "jobs": ("job_service", "JobServiceClient"),
    "models": ("model_service", "ModelServiceClient"),
    "endpoints": ("endpoint_service", "EndpointServiceClient"),
    "prediction": ("prediction_service", "PredictionServiceClient"),
}


def _register_without_running(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not an installed package (is google-cloud-aiplatform installed?)")
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)


def client_class(service: str) -> Any:
    """The client class of one service: "jobs", "models", "endpoints" or "prediction"."""
    module, cls = SERVICES[service]
    for package in (PACKAGE, f"{PACKAGE}.types", f"{PACKAGE}.services", f"{PACKAGE}.services.{module}"):
        _register_without_running(package)
    return getattr(importlib.import_module(f"{PACKAGE}.services.{module}.client"), cls)


def message(module: str, name: str) -> Any:
    """A message class of `aiplatform_v1.types.<module>` (CustomJob, Model…), imported the same way."""
    for package in (PACKAGE, f"{PACKAGE}.types"):
        _register_without_running(package)
    return getattr(importlib.import_module(f"{PACKAGE}.types.{module}"), name)


def from_json(module: str, name: str, body: dict[str, Any]) -> Any:
    """A message from REST-style JSON (camelCase or snake_case keys, enums by name), as the API
    reference documents it; ValueError naming the first field the message does not have."""
    import json

    from google.protobuf import json_format

    try:
        return message(module, name).from_json(json.dumps(body))
    except json_format.ParseError as error:
        raise ValueError(" ".join(str(error).split())[:300]) from None
