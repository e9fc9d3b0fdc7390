"""`tekton.dev/v1beta1` Tasks, TaskRuns, Pipelines and PipelineRuns, converted to `tekton.dev/v1`
as Tekton's conversion webhook converts them (pkg/apis/pipeline/v1beta1/*_conversion.go), so the
runner sees one API. What v1 has no place for (PipelineResources: `resources` of a Task, run or
pipeline task) is refused, naming the field.
"""
from __future__ import annotations

import copy
from typing import Any

from interlock.run.errors import Unsupported

API = "tekton.dev/v1beta1"
KINDS = ("Task", "TaskRun", "Pipeline", "PipelineRun")


def convert(doc: dict, where: str) -> dict:
    """A v1 copy of a v1beta1 document of one of KINDS."""
    out = copy.deepcopy(doc)
    out["apiVersion"] = "tekton.dev/v1"
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    kind = out["kind"]
    at = f"{where}: spec"
    if kind == "Task":
        _task_spec(spec, at)
    elif kind == "TaskRun":
        _no_resources(spec, at)
        _ref(spec.get("taskRef"))
        _rename(spec, {"stepOverrides": "stepSpecs", "sidecarOverrides": "sidecarSpecs"})
        if isinstance(spec.get("taskSpec"), dict):
            _task_spec(spec["taskSpec"], f"{at}.taskSpec")
    elif kind == "Pipeline":
        _pipeline_spec(spec, at)
    else:
        _no_resources(spec, at)
        _ref(spec.get("pipelineRef"))
        template = {k: spec.pop(k) for k in ("serviceAccountName", "podTemplate") if k in spec}
        if template:
            spec["taskRunTemplate"] = {**template, **(spec.get("taskRunTemplate") or {})}
        if "timeout" in spec:  # the deprecated field is the pipeline's timeout
            spec.setdefault("timeouts", {}).setdefault("pipeline", spec.pop("timeout"))
        for r in spec.get("taskRunSpecs") or []:
            if isinstance(r, dict):
                _rename(r, {"taskServiceAccountName": "serviceAccountName",
                            "taskPodTemplate": "podTemplate", "stepOverrides": "stepSpecs",
                            "sidecarOverrides": "sidecarSpecs"})
        if isinstance(spec.get("pipelineSpec"), dict):
            _pipeline_spec(spec["pipelineSpec"], f"{at}.pipelineSpec")
    return out


def _no_resources(spec: dict, at: str) -> None:
    if spec.get("resources"):
        raise Unsupported(f"{at}.resources", "PipelineResources (removed from Tekton v1)")
    spec.pop("resources", None)


def _rename(obj: dict, names: dict[str, str]) -> None:
    for old, new in names.items():
        if old in obj:
            obj[new] = obj.pop(old)


def _ref(ref: Any) -> None:
    """`bundle:` becomes the bundles resolver (taskref_conversion.go convertBundleToResolver)."""
    if isinstance(ref, dict) and ref.get("bundle"):
        ref["resolver"] = "bundles"
        ref["params"] = [{"name": "bundle", "value": ref.pop("bundle")},
                         {"name": "name", "value": ref.pop("name", "")},
                         {"name": "kind", "value": str(ref.pop("kind", "Task")).lower()}]


def _task_spec(spec: dict, at: str) -> None:
    _no_resources(spec, at)
    for c in [*(spec.get("steps") or []), *(spec.get("sidecars") or []),
              spec.get("stepTemplate") or {}]:
        if isinstance(c, dict):
            _rename(c, {"resources": "computeResources"})


def _pipeline_spec(spec: dict, at: str) -> None:
    _no_resources(spec, at)
    for section in ("tasks", "finally"):
        for i, t in enumerate(spec.get(section) or []):
            if not isinstance(t, dict):
                continue
            _no_resources(t, f"{at}.{section}[{i}]")
            _ref(t.get("taskRef"))
            if isinstance(t.get("taskSpec"), dict):
                _task_spec(t["taskSpec"], f"{at}.{section}[{i}].taskSpec")
