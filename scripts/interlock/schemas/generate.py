"""Developer tool: derive the project's Tekton JSON Schemas from the upstream CRDs.

    python -m interlock.schemas.generate [--reference DIR]

Run it by hand when Tekton is upgraded, review the diff, commit the JSON files. Nothing
else reads the upstream CRDs at lint time: the committed schemas are the project's own.

What it does to each CRD's openAPIV3Schema:
- drops descriptions, defaults, formats and list-type hints (lint needs shapes, not docs),
  then marks every timeout `format: duration` (checked with Go's grammar by lint);
- closes every object that Tekton does not mark `x-kubernetes-preserve-unknown-fields`
  (`additionalProperties: false`), as `kubectl apply --validate=strict` would, so that a
  misspelt `scriptt:` is an error instead of being pruned silently;
- adds what Tekton's admission webhook checks but the CRD leaves loose (see OVERLAYS);
- replaces the loose embedded specs (`taskSpec`, `pipelineSpec`) by the closed Task and
  Pipeline spec schemas, so inline specs are checked as strictly as catalog files.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any, Callable

import yaml

from interlock import paths
from interlock.schemas import FILES, HERE

Schema = dict[str, Any]
Path_ = tuple[str, ...]  # property path; "[]" stands for array items, "{}" for map values

CRD_FILES = {
    "Task": "300-task.yaml",
    "Pipeline": "300-pipeline.yaml",
    "TaskRun": "300-taskrun.yaml",
    "PipelineRun": "300-pipelinerun.yaml",
    "StepAction": "300-stepaction.yaml",
}
PRESERVE = "x-kubernetes-preserve-unknown-fields"


@cache
def _crd(path: Path) -> Schema:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are large; libyaml is 10x faster
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


def crd_schema(reference: Path, kind: str, version: str) -> Schema:
    """The upstream openAPIV3Schema of one kind and version, as published in the CRD
    (a fresh copy: callers may change it)."""
    crd = copy.deepcopy(_crd(reference / "tekton" / CRD_FILES[kind]))
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return entry["schema"]["openAPIV3Schema"]
    raise KeyError(f"{CRD_FILES[kind]} has no version {version}")


def convert(node: Schema) -> Schema:
    """One OpenAPI v3 (structural) schema node as a closed JSON Schema node."""
    out: Schema = {}
    for key in ("type", "enum", "required"):
        if key in node:
            out[key] = copy.deepcopy(node[key])
    if "anyOf" in node:  # only int-or-string in the Tekton CRDs
        out["anyOf"] = [convert(n) for n in node["anyOf"]]
    if "properties" in node:
        out["properties"] = {k: convert(v) for k, v in sorted(node["properties"].items())}
    if "items" in node:
        out["items"] = convert(node["items"])
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = convert(extra)
    elif extra is not None:
        out["additionalProperties"] = extra
    elif node.get(PRESERVE):
        out[PRESERVE] = True  # kept as a marker: open on purpose, like upstream
    elif node.get("type") == "object" or "properties" in node:
        out["additionalProperties"] = False
    return out


def visit(node: Schema, fn: Callable[[Path_, Schema], None], at: Path_ = ()) -> None:
    """Call fn(path, node) on every schema node, parents first."""
    fn(at, node)
    for key, child in (node.get("properties") or {}).items():
        visit(child, fn, at + (key,))
    if isinstance(node.get("items"), dict):
        visit(node["items"], fn, at + ("[]",))
    if isinstance(node.get("additionalProperties"), dict):
        visit(node["additionalProperties"], fn, at + ("{}",))


# Kubernetes ObjectMeta: the CRDs say only `type: object`; these are the fields an author
# writes (server-populated ones such as uid or managedFields do not belong in a catalog file).
DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT_META: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
}
# metadata of an embedded taskSpec (tektoncd/pipeline EmbeddedTask.Metadata: labels, annotations)
EMBEDDED_META: Schema = {"type": "object", "additionalProperties": False,
                         "properties": {"labels": STRING_MAP, "annotations": STRING_MAP}}


def _overlay(at: Path_, node: Schema) -> None:
    """What Tekton's webhook validates beyond the CRD, at any depth."""
    props = node.get("properties") or {}
    parent = at[-2] if len(at) >= 2 else ""
    # https://tekton.dev/docs/pipelines/tasks/#specifying-parameters : param types are
    # string, array or object, and names start with a letter or `_` (then alnum, `-`, `_`, `.`).
    if parent == "params" and "default" in props:
        props["type"] = {"type": "string", "enum": ["string", "array", "object"]}
        props["name"] = {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_.-]*$"}
    # https://tekton.dev/docs/pipelines/tasks/#emitting-results : result types likewise.
    if parent == "results" and "type" in props:
        props["type"] = {"type": "string", "enum": ["string", "array", "object"]}
    # https://tekton.dev/docs/pipelines/tasks/#specifying-onerror-for-a-step
    if parent == "steps" and "onError" in props:
        props["onError"] = {"type": "string", "enum": ["continue", "stopAndFail"]}
    # https://tekton.dev/docs/pipelines/tasks/#defining-steps : step names are DNS labels.
    if parent == "steps" and at[:2] != ("status",) and "name" in props:
        props["name"] = {"type": "string", "pattern": DNS_LABEL, "maxLength": 63}
    # https://tekton.dev/docs/pipelines/pipelines/#guard-task-execution-using-when-expressions
    if parent == "when" and "operator" in props:
        props["operator"] = {"type": "string", "enum": ["in", "notin"]}
    # Every timeout (step, pipeline task, TaskRun, taskRunSpecs, PipelineRun `timeouts.*`) is a
    # metav1.Duration: the API server decodes it with Go's time.ParseDuration, and the webhook
    # refuses a negative one ("negative timeout"). The lint rule `duration` checks this format.
    for name, prop in props.items():
        if prop.get("type") == "string" and (name == "timeout" or at[-1:] == ("timeouts",)):
            prop["format"] = "duration"


def _replace(schema: Schema, where: Path_, new: Schema) -> None:
    node = schema
    for key in where[:-1]:
        node = node["items"] if key == "[]" else node["properties"][key]
    props = node["properties"] if where[-1] != "[]" else None
    if props is None or PRESERVE not in props[where[-1]]:
        raise ValueError(f"expected an open (preserve-unknown-fields) node at {'.'.join(where)}")
    props[where[-1]] = new


def project_schema(reference: Path, kind: str, api_version: str) -> Schema:
    """The project's closed schema for one kind, derived from the upstream CRDs."""
    version = api_version.split("/")[1]
    schema = convert(crd_schema(reference, kind, version))
    defs: Schema = {}

    def spec_of(k: str) -> Schema:
        spec = convert(crd_schema(reference, k, "v1"))["properties"]["spec"]
        visit(spec, _overlay)
        return spec

    if kind in ("Pipeline", "PipelineRun", "TaskRun"):
        task_spec = spec_of("Task")
        embedded = copy.deepcopy(task_spec)
        # EmbeddedTask = TaskSpec + the custom-task fields apiVersion/kind/spec + metadata
        embedded["properties"].update({
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "spec": {"type": "object", PRESERVE: True}, "metadata": EMBEDDED_META})
        defs["TaskSpec"], defs["EmbeddedTask"] = task_spec, embedded
    if kind == "PipelineRun":
        defs["PipelineSpec"] = spec_of("Pipeline")
        for section in ("tasks", "finally"):
            _replace(defs["PipelineSpec"], (section, "[]", "taskSpec"), {"$ref": "#/$defs/EmbeddedTask"})
        _replace(schema, ("spec", "pipelineSpec"), {"$ref": "#/$defs/PipelineSpec"})
    if kind == "Pipeline":
        for section in ("tasks", "finally"):
            _replace(schema, ("spec", section, "[]", "taskSpec"), {"$ref": "#/$defs/EmbeddedTask"})
    if kind == "TaskRun":
        _replace(schema, ("spec", "taskSpec"), {"$ref": "#/$defs/TaskSpec"})

    visit(schema, _overlay)
    props = schema["properties"]
    props["apiVersion"] = {"const": api_version}
    props["kind"] = {"const": kind}
    props["metadata"] = copy.deepcopy(OBJECT_META)
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    props.pop("status", None)  # written by the controller, never by a catalog author
    out: Schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": f"Interlock's schema for {api_version} {kind}; generated by "
                    "scripts/interlock/schemas/generate.py from the Tekton CRDs, then owned here.",
        **schema,
    }
    if defs:
        out["$defs"] = defs
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=paths.REFERENCE,
                        help="folder holding tekton/300-*.yaml (default: %(default)s)")
    args = parser.parse_args(argv)
    if not (args.reference / "tekton").is_dir():
        print(f"error: {args.reference / 'tekton'} not found; pass --reference", file=sys.stderr)
        return 2
    for (api_version, kind), filename in FILES.items():
        schema = project_schema(args.reference, kind, api_version)
        (HERE / filename).write_text(json.dumps(schema, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        print(f"wrote {filename}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
