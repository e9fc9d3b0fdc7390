"""The project's Tekton schemas agree with the upstream CRDs (every property path and type),
are closed everywhere upstream is not open on purpose, and catch what the webhook catches."""
from __future__ import annotations

from typing import Any

import pytest

from interlock import paths, schemas
from interlock.lint import schema as lint_schema
from interlock.lint.yaml_loader import Document
from interlock.schemas.generate import PRESERVE, crd_schema
from tests.reference import reference_or_skip

Shape = dict[str, str]  # "spec.steps[].name" -> "string"


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _type(node: dict) -> str:
    if "anyOf" in node:
        return "|".join(sorted(n.get("type", "any") for n in node["anyOf"]))
    if "const" in node:
        return "string"
    return node.get("type", "any")


def shape(node: dict, root: dict, at: str = "", out: Shape | None = None, open_: set[str] | None = None,
          depth: int = 0) -> tuple[Shape, set[str]]:
    """Every property path with its type, and the paths that are open (preserve-unknown)."""
    out = {} if out is None else out
    open_ = set() if open_ is None else open_
    node = _resolve(node, root)
    if at:
        out[at] = _type(node)
    if node.get(PRESERVE) or depth > 40:
        open_.add(at)
    for key, child in (node.get("properties") or {}).items():
        shape(child, root, f"{at}.{key}" if at else key, out, open_, depth + 1)
    if isinstance(node.get("items"), dict):
        shape(node["items"], root, f"{at}[]", out, open_, depth + 1)
    if isinstance(node.get("additionalProperties"), dict):
        shape(node["additionalProperties"], root, f"{at}{{}}", out, open_, depth + 1)
    return out, open_


def _under(path: str, prefixes: set[str]) -> bool:
    return any(path == p or path.startswith((p + ".", p + "[", p + "{")) for p in prefixes if p)


# metadata: the CRDs only say `type: object` (the project types ObjectMeta itself);
# status: written by the controller, left out of the project schema on purpose.
NOT_COMPARED = {"metadata", "status"}


@pytest.fixture(scope="module")
def reference():
    reference_or_skip(paths.REFERENCE / "tekton", "the upstream Tekton CRDs (tekton/300-*.yaml)")
    return paths.REFERENCE


@pytest.mark.reference
@pytest.mark.parametrize("api_version,kind", sorted(schemas.FILES))
def test_project_schema_agrees_with_upstream_crd(reference, api_version, kind):
    upstream = crd_schema(reference, kind, api_version.split("/")[1])
    theirs, theirs_open = shape(upstream, upstream)
    ours_root = schemas.load(api_version, kind)
    ours, _ = shape(ours_root, ours_root)
    skip = NOT_COMPARED | theirs_open  # below an open upstream node the project may be stricter
    missing = sorted(p for p in theirs if not _under(p, NOT_COMPARED) and p not in ours)
    extra = sorted(p for p in ours if not _under(p, skip) and p not in theirs)
    # an untyped open node upstream (an inline taskSpec) may be typed and closed in the project
    wrong = sorted(f"{p}: upstream {theirs[p]}, project {ours[p]}" for p in theirs
                   if p in ours and not _under(p, NOT_COMPARED) and theirs[p] != ours[p]
                   and not (p in theirs_open and theirs[p] == "any"))
    assert (missing, extra, wrong) == ([], [], []), \
        f"{kind}: missing in project {missing[:20]}; not upstream {extra[:20]}; types differ {wrong[:20]}"
    assert len(theirs) > 20  # the walk really compared something


@pytest.mark.reference
@pytest.mark.parametrize("api_version,kind", sorted(schemas.FILES))
def test_required_fields_agree(reference, api_version, kind):
    def required(node: dict, root: dict, at: str = "", out: dict | None = None, depth: int = 0) -> dict:
        out = {} if out is None else out
        node = _resolve(node, root)
        if node.get("required") and depth < 40:
            out[at] = set(node["required"])
        for key, child in (node.get("properties") or {}).items():
            required(child, root, f"{at}.{key}" if at else key, out, depth + 1)
        if isinstance(node.get("items"), dict):
            required(node["items"], root, f"{at}[]", out, depth + 1)
        return out

    upstream = crd_schema(reference, kind, api_version.split("/")[1])
    ours_root = schemas.load(api_version, kind)
    theirs, ours = required(upstream, upstream), required(ours_root, ours_root)
    differ = {p: (theirs[p], ours.get(p)) for p in theirs
              if not _under(p, NOT_COMPARED) and not theirs[p] <= (ours.get(p) or set())}
    assert differ == {}


@pytest.mark.parametrize("api_version,kind", sorted(schemas.FILES))
def test_every_object_is_closed_unless_open_on_purpose(api_version, kind):
    root = schemas.load(api_version, kind)
    loose: list[str] = []

    def walk(node: dict, at: str, depth: int = 0) -> None:
        node = _resolve(node, root)
        if depth > 30:
            return
        if (node.get("type") == "object" or "properties" in node) \
                and "additionalProperties" not in node and not node.get(PRESERVE):
            loose.append(at)
        for key, child in (node.get("properties") or {}).items():
            walk(child, f"{at}.{key}", depth + 1)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                walk(node[key], f"{at}[]", depth + 1)

    walk(root, kind)
    assert loose == []


TASK_STEP = {"apiVersion": "tekton.dev/v1", "kind": "Task", "metadata": {"name": "t"},
             "spec": {"steps": [{"name": "s", "image": "i"}]}}


def _with(change: dict[str, Any], target: str = "step") -> dict:
    doc = {**TASK_STEP, "spec": {**TASK_STEP["spec"], "steps": [{**TASK_STEP["spec"]["steps"][0]}]}}
    (doc["spec"]["steps"][0] if target == "step" else doc["spec"]).update(change)
    return doc


@pytest.mark.parametrize("doc,where", [
    (_with({"onError": "ignore"}), ("spec", "steps", 0, "onError")),
    (_with({"name": "Has_Caps"}), ("spec", "steps", 0, "name")),
    (_with({"params": [{"name": "1bad"}]}, "spec"), ("spec", "params", 0, "name")),
    (_with({"results": [{"name": "r", "type": "int"}]}, "spec"), ("spec", "results", 0, "type")),
    (_with({"args": "not-a-list"}), ("spec", "steps", 0, "args")),
    ({**TASK_STEP, "metadata": {"name": "t", "lables": {}}}, ("metadata", "lables")),
])
def test_webhook_checks_the_crd_leaves_loose(doc, where):
    found = list(lint_schema.problems(Document(doc), "tekton.dev/v1", "Task"))
    assert [key for key, _, _ in found] == [where]


def test_inline_task_spec_in_a_pipeline_is_closed_too():
    doc = {"apiVersion": "tekton.dev/v1", "kind": "Pipeline", "metadata": {"name": "p"},
           "spec": {"tasks": [{"name": "t", "taskSpec": {"steps": [{"name": "s", "image": "i", "scriptt": "x"}]}}]}}
    found = list(lint_schema.problems(Document(doc), "tekton.dev/v1", "Pipeline"))
    assert [(key, msg) for key, msg, _ in found] == [
        (("spec", "tasks", 0, "taskSpec", "steps", 0, "scriptt"), "unknown field `scriptt` in Pipeline")]


def test_clean_task_has_no_schema_problem():
    assert list(lint_schema.problems(Document(TASK_STEP), "tekton.dev/v1", "Task")) == []
