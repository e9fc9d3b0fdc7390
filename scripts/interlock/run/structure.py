"""Loading and structural validation of run inputs: every file goes through the one YAML loader
(interlock.lint.yaml_loader: size, depth and alias caps) and is checked against the lint
engine's Tekton JSON Schemas (closed: an unknown field is an error, as Tekton's admission
webhooks decode with unknown fields disallowed, cmd/webhook/main.go), so `interlock run` and
`interlock lint` agree on what is valid. Semantic checks (types of values, references) stay in
the runner, which knows the values.

Where Tekton's webhook accepts what the schemas (made from the CRDs' Go types) refuse, the
runner follows Tekton:
- field names match case-insensitively, as Go's encoding/json decodes them (`mountpath:` is
  `mountPath`), so they are folded to the schema's spelling first;
- step and sidecar `name` and a step's workspace `mountPath` are optional (task_validation.go
  validateStep; a step without a name is `step-unnamed-<i>`, pkg/pod/entrypoint.go StepName);
- `tekton.dev/v1beta1` Tasks, TaskRuns, Pipelines and PipelineRuns are converted to v1 first
  (v1beta1.py), as Tekton's conversion webhook serves them;
- `metadata.name` is checked by kubernetes_rules (a DNS subdomain), not by the schema's pattern;
- a step's `onError` may be a param reference, checked once substituted;
- a top-level `status` (as `kubectl get -o yaml` leaves it) and ObjectMeta fields the schemas
  do not list (`uid`, `creationTimestamp`, …) are ignored, as the API server ignores them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from interlock import schemas
from interlock.lint import schema, yaml_loader
from interlock.run import v1beta1
from interlock.run.errors import InvalidRun

API_VERSION = "tekton.dev/v1"
MAX_SHOWN = 3


def load(path: Path, kind: str | tuple[str, ...], where: str) -> dict:
    """The one `kind` resource in `path`, checked; InvalidRun names `where` (the run file, or
    the field that referred to this file) for a file that cannot be read. A file of several
    documents is read as a run file: the one document of `kind` in it."""
    docs, problem = yaml_loader.load_all(Path(path))
    if problem is None and not docs:
        problem = yaml_loader.LoadProblem("yaml-syntax", 1, "empty file: no YAML document", "")
    if problem is not None:
        raise InvalidRun(where if where == str(path) else f"{where}: {path}",
                         f"{problem.message} (line {problem.line})")
    kinds = (kind,) if isinstance(kind, str) else kind
    if len(docs) > 1:
        found = [d for d in docs if isinstance(d.data, dict) and d.data.get("kind") in kinds]
        if len(found) != 1:
            raise InvalidRun(str(path), f"{len(docs)} documents, {len(found)} of them a "
                                        f"{' or '.join(kinds)}: expected exactly one")
        docs = found
    return check(docs[0], kinds, str(path))


def check(doc: yaml_loader.Document, kinds: tuple[str, ...], path: str,
          api_versions: tuple[str, ...] = (API_VERSION,)) -> dict:
    """One parsed document of one of `kinds`, checked against its schema; its data."""
    data = doc.data
    at = f"{path} (line {doc.start_line})" if doc.start_line > 1 else path
    if not isinstance(data, dict):
        raise InvalidRun(at, f"expected a {' or '.join(kinds)} mapping, found "
                             f"{type(data).__name__}")
    if data.get("kind") not in kinds:
        raise InvalidRun(f"{at}: kind", f"expected {' or '.join(kinds)}, got {data.get('kind')!r}")
    if data.get("apiVersion") == v1beta1.API and data["kind"] in v1beta1.KINDS:
        data = v1beta1.convert(data, at)  # as Tekton's conversion webhook does
        doc = yaml_loader.Document(data, doc.lines, doc.text, doc.blocks, doc.start_line)
    if data.get("apiVersion") not in api_versions:
        raise InvalidRun(f"{at}: apiVersion", f"expected {' or '.join(api_versions)}, got "
                                              f"{data.get('apiVersion')!r} (not supported locally: "
                                              "other API versions; convert the resource)")
    root = schemas.load(data["apiVersion"], data["kind"])
    fold_keys(data, root, root)
    found = [(yaml_loader.format_path(key), doc.line(key), msg, hint)
             for key, msg, hint in schema.problems(doc, data["apiVersion"], data["kind"])
             if not _relaxed(key, msg)]
    if found:
        shown = "; ".join(f"line {line}: {key}: {msg} ({hint})" for key, line, msg, hint in
                          found[:MAX_SHOWN])
        more = f" (and {len(found) - MAX_SHOWN} more)" if len(found) > MAX_SHOWN else ""
        raise InvalidRun(path, f"not a valid {data['kind']}: {shown}{more}")
    if not isinstance(data.get("spec"), dict):
        raise InvalidRun(f"{at}: spec", "missing or not a mapping")
    return data


def _relaxed(key: tuple, message: str) -> bool:
    """Schema findings Tekton's webhook does not make (see the module docstring)."""
    if tuple(key) == ("status",) or (len(key) == 2 and key[0] == "metadata"
                                     and message.startswith("unknown field")):
        return True  # the API server ignores `status` and keeps any ObjectMeta field
    if len(key) >= 2 and key[-2] in ("steps", "sidecars") and message == "'name' is required":
        return True
    if len(key) >= 2 and key[-2] == "workspaces" and message == "'mountPath' is required" \
            and len(key) >= 4 and key[-4] in ("steps", "sidecars"):
        return True
    if key and key[-1] == "onError" and message.startswith('"$(params.'):
        return True  # a param reference, checked once substituted (validateStep isParamRefs)
    return tuple(key[-2:]) == ("metadata", "name") and len(key) == 2


def fold_keys(value: Any, node: dict, root: dict) -> None:
    """Rename, in place, keys that match a schema property case-insensitively only."""
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if isinstance(value, dict):
        props = node.get("properties") or {}
        lower = {}
        for p in props:
            lower.setdefault(p.lower(), []).append(p)
        for k in list(value):
            if isinstance(k, str) and k not in props and len(lower.get(k.lower(), [])) == 1 \
                    and lower[k.lower()][0] not in value:
                value[lower[k.lower()][0]] = value.pop(k)
        for k, v in value.items():
            sub = props.get(k) if k in props else node.get("additionalProperties")
            if isinstance(sub, dict):
                fold_keys(v, sub, root)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for item in value:
            fold_keys(item, node["items"], root)
