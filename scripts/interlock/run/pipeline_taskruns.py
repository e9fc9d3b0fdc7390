"""The TaskRun objects a pipeline task becomes, and the stand-in results used to check them.

`build()` turns one pipeline task into one TaskRun (or one per matrix combination) with the
pipeline's variables substituted, named `<pipelinerun>-<task>[-<index>]`, labelled as Tekton
labels them and carrying the pipeline context in annotations the TaskRun runner reads.
`placeholder_variables()` gives every declared task result a typed placeholder, so that all
TaskRuns can be planned (and so checked, or shown by --dry-run) before anything runs.
"""
from __future__ import annotations

import copy
import re
import uuid
from typing import Any, Callable, Mapping

from interlock.run import matrix as matrix_mod
from interlock.run.outcome import SUCCEEDED
from interlock.run.pipeline_spec import PipelineRunSpec
from interlock.run.plan import CONTEXT_ANNOTATIONS
from interlock.run.variables import references, substitute

TASKRUN_CONTEXT = {f"context.{k}": f"$(context.{k})" for k in (
    "taskRun.name", "taskRun.namespace", "taskRun.uid", "task.name", "task.retry-count")}
_INDEXED_RESULT = re.compile(r"^(tasks\.[^.\[]+\.results\.[^.\[]+)\[(\d+)\]$")


def build(run: PipelineRunSpec, task: Mapping, variables: Mapping[str, Any]) -> list[dict]:
    """The TaskRun object(s) for a pipeline task. Raises UndeclaredReference/InvalidReference
    for a reference that does not resolve, MatrixInvalid for a matrix over the limit."""
    # a TaskRun's own context is resolved by the TaskRun (after its params: apply.go)
    variables = {**TASKRUN_CONTEXT, **variables}
    params = substitute(copy.deepcopy(task.get("params") or []), variables)
    combos: list[dict[str, str]] = [{}]
    if task.get("matrix"):
        combos = matrix_mod.combinations(substitute(unnamed(task["matrix"]), variables))
        if len(combos) > matrix_mod.MAX_COMBINATIONS:
            raise matrix_mod.MatrixInvalid(
                f"{len(combos)} combinations exceed the limit of {matrix_mod.MAX_COMBINATIONS}"
                " (Tekton's default-max-matrix-combinations-count)")
    spec: dict[str, Any] = {}
    if "taskSpec" in task:
        spec["taskSpec"] = _propagate(task["taskSpec"], variables, task.get("params"))
    else:
        spec["taskRef"] = substitute(copy.deepcopy(task["taskRef"]), variables)
    workspaces = _workspaces(run, task, variables)
    if workspaces:
        spec["workspaces"] = workspaces
    if "timeout" in task:
        spec["timeout"] = task["timeout"]
    spec.update(copy.deepcopy(run.template))
    overrides = run.run_specs.get(task["name"]) or {}
    if "timeout" in overrides:  # taskRunSpecs win over the pipeline task's own timeout
        spec["timeout"] = overrides["timeout"]
    if isinstance(overrides.get("podTemplate"), dict):  # field by field over taskRunTemplate's
        spec["podTemplate"] = {**(spec.get("podTemplate") or {}),
                               **copy.deepcopy(overrides["podTemplate"])}
    runs = []
    for i, combo in enumerate(combos):
        context = {"context.pipelineRun.name": run.name, "context.pipelineRun.uid": run.uid,
                   "context.pipelineTask.retries": str(task.get("retries", 0)), "context.task.retry-count": "0"}
        annotations = {annotation: context[variable] for annotation, variable in CONTEXT_ANNOTATIONS.items()}
        runs.append({
            "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            # one uid per TaskRun, kept by its retries: Tekton retries the same TaskRun object
            "metadata": {"uid": str(uuid.uuid4()),
                         "name": f"{run.name}-{task['name']}" + (f"-{i}" if task.get("matrix")
                                                                  else ""),
                         "namespace": run.namespace,
                         "labels": {"tekton.dev/pipelineRun": run.name,
                                    "tekton.dev/pipelineTask": task["name"],
                                    "tekton.dev/pipeline": run.pipeline_name},
                         "annotations": annotations},
            "spec": {**copy.deepcopy(spec),
                     "params": [*params, *({"name": k, "value": v} for k, v in combo.items())]}})
    return runs


def unnamed(matrix: Mapping | None) -> dict:
    """A copy of the matrix without its `include` names (labels, left as written)."""
    out = copy.deepcopy(dict(matrix or {}))
    if isinstance(out.get("include"), list):
        out["include"] = [{k: v for k, v in i.items() if k != "name"} if isinstance(i, dict) else i
                          for i in out["include"]]
    return out


def _workspaces(run: PipelineRunSpec, task: Mapping, variables: Mapping[str, Any]) -> list[dict]:
    """The pipeline's bindings under the task's workspace names, subPaths joined."""
    out = []
    for ws in task.get("workspaces") or []:
        binding = run.workspaces.get(ws.get("workspace", ws["name"]))
        if binding is None:
            continue  # an optional pipeline workspace left unbound
        b = {**copy.deepcopy(binding), "name": ws["name"]}
        sub = substitute(ws.get("subPath"), variables)
        if sub:
            b["subPath"] = f"{b['subPath']}/{sub}" if b.get("subPath") else sub
        out.append(b)
    return out


def _propagate(task_spec: dict, variables: Mapping[str, Any], given: object) -> dict:
    """Pipeline params, context and task results reach an embedded taskSpec (pipelinerun
    resources/apply.go propagateParams and PropagateResults), except params the taskSpec
    declares or the pipeline task gives itself (those win: they become the TaskRun's params);
    the rest stays for the TaskRun runner."""
    own = {f"params.{p.get('name')}" for p in task_spec.get("params") or [] if isinstance(p, dict)}
    visible = {k: v for k, v in variables.items()
               if (k.startswith("params.") and k not in own) or k.startswith("context.pipeline")
               or (k.startswith("tasks.") and ".results." in k)}
    for p in given or []:
        name = f"params.{p.get('name')}" if isinstance(p, dict) else None
        if name is None or name in own:
            continue
        visible.pop(name, None)  # the pipeline task's own value wins ...
        if isinstance(p.get("value"), dict) and isinstance(variables.get(name), dict):
            # ... key by key for an object: the run's keys it leaves out still reach the spec
            visible.update({f"{name}.{k}": v for k, v in variables[name].items()
                            if k not in p["value"]})
    return substitute(copy.deepcopy(task_spec), visible, strict=())


def placeholder_variables(run: PipelineRunSpec, task: Mapping, final: bool,
                          task_spec: Callable[[str], Mapping]) -> dict[str, Any]:
    """Variables as they will be at run time, each task result standing in as a placeholder
    of its declared type (`task_spec(name)` is the resolved Task of a pipeline task)."""
    v = run.base_variables(task)
    largest = _largest_index(run.spec)
    for t in run.spec.get("tasks") or []:
        name = t["name"]
        fanned = bool(t.get("matrix"))
        for r in task_spec(name).get("results") or []:
            ref = f"tasks.{name}.results.{r.get('name')}"
            kind = r.get("type") or "string"
            # as many items as the largest index the pipeline reads, so `[i]` resolves
            value: Any = ([f"<{ref}[{i}]>" for i in range(1 + largest.get(ref, 0))]
                          if kind == "array" else _AnyKey(ref, r.get("properties")) if kind == "object"
                          else f"<{ref}>")
            v[ref] = [value] if fanned and kind == "string" else value
            if fanned:
                v[f"tasks.{name}.matrix.{r.get('name')}.length"] = f"<{ref}.length>"
        if fanned:
            v[f"tasks.{name}.matrix.length"] = f"<tasks.{name}.matrix.length>"
        if final:
            v[f"tasks.{name}.status"] = SUCCEEDED
            v[f"tasks.{name}.reason"] = SUCCEEDED
    if final:
        v["tasks.status"] = SUCCEEDED
    return v


def _largest_index(spec: Mapping) -> dict[str, int]:
    """Largest `[i]` the pipeline reads of each task result."""
    out: dict[str, int] = {}
    for ref in references(spec):
        m = _INDEXED_RESULT.match(ref)
        if m:
            out[m.group(1)] = max(out.get(m.group(1), 0), int(m.group(2)))
    return out


class _AnyKey(dict):
    """Placeholder of an object result: its declared keys, and any other key, read as
    placeholder strings (the whole object passes into an object param as its declared keys)."""

    def __init__(self, ref: str, properties: object = None):
        super().__init__({str(k): f"<{ref}.{k}>" for k in properties or {}}
                         if isinstance(properties, dict) else {})
        self.ref = ref

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return f"<{self.ref}.{key}>"
