"""What a PipelineRun asks for, checked before anything runs.

`load()` reads the PipelineRun (embedded pipelineSpec or pipelineRef), resolves params and
workspace bindings, parses timeouts, builds the DAG and checks every pipeline task's shape and
pipeline-level references. Anything it cannot run raises PipelineRunInvalid naming the field;
fields it does not know are refused, never ignored.
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from interlock.run import dag, matrix as matrix_mod, timeouts as timeouts_mod, when as when_mod
from interlock.run import feature_flags as flags, kubernetes_rules as rules
from interlock.run.errors import InvalidRun
from interlock.run.options import RunOptions
from interlock.run.variables import (InvalidReference, UndeclaredReference, checked, lookup,
                                     references)

_SPEC_FIELDS = {"pipelineRef", "pipelineSpec", "params", "workspaces", "timeouts",
                "taskRunTemplate", "taskRunSpecs", "status"}
_PIPELINE_FIELDS = {"tasks", "finally", "params", "workspaces", "results", "description",
                    "displayName"}
_TASK_FIELDS = {"name", "displayName", "description", "taskRef", "taskSpec", "params", "workspaces",
                "runAfter", "when", "retries", "timeout", "matrix", "onError"}
# taskRunSpecs fields with an effect here (the others only matter to a scheduler)
_RUNSPEC_FIELDS = {"pipelineTaskName", "podTemplate", "timeout", "serviceAccountName", "metadata",
                   "computeResources", "stepSpecs", "sidecarSpecs"}
_TEMPLATE_FIELDS = {"podTemplate", "serviceAccountName"}


class PipelineRunInvalid(ValueError):
    """Input that cannot run (exit code 2); the message names the file/field and value."""


@dataclass
class PipelineRunSpec:
    name: str                        # the PipelineRun's
    uid: str
    namespace: str
    pipeline_name: str
    where: str                       # how messages name the pipeline spec
    spec: dict                       # the Pipeline's spec
    params: dict[str, Any]           # resolved values
    workspaces: dict[str, dict | None]  # pipeline workspace -> binding (None: optional, unbound)
    timeouts: timeouts_mod.Timeouts
    template: dict                   # taskRunTemplate, copied to every TaskRun
    run_specs: dict[str, dict]       # taskRunSpecs by pipelineTaskName
    graph: dag.Graph

    @property
    def dag_names(self) -> list[str]:
        return list(self.graph.order)

    @property
    def final_names(self) -> list[str]:
        return [t["name"] for t in self.spec.get("finally") or []]

    def tasks(self) -> list[tuple[dict, bool]]:
        """Every pipeline task as written, with whether it is a finally task."""
        return ([(t, False) for t in self.spec.get("tasks") or []]
                + [(t, True) for t in self.spec.get("finally") or []])

    def at(self, name: str) -> str:
        """`spec.pipelineSpec.tasks[2] (build)`: where a task is, for messages."""
        for section in ("tasks", "finally"):
            names = [t["name"] for t in self.spec.get(section) or []]
            if name in names:
                return f"{self.where}.{section}[{names.index(name)}] ({name})"
        return f"{self.where} ({name})"

    def base_variables(self, task: Mapping) -> dict[str, Any]:
        """Params, pipeline context and workspace bindings, as a pipeline task sees them."""
        v: dict[str, Any] = {f"params.{k}": val for k, val in self.params.items()}
        v.update({"context.pipelineRun.name": self.name,
                  "context.pipelineRun.namespace": self.namespace,
                  "context.pipelineRun.uid": self.uid,
                  "context.pipeline.name": self.pipeline_name,
                  "context.pipelineTask.retries": str(task.get("retries", 0))})
        for name, binding in self.workspaces.items():
            v[f"workspaces.{name}.bound"] = "true" if binding is not None else "false"
        return v


def load(pr: object, options: RunOptions, params_override: Mapping[str, Any]) -> PipelineRunSpec:
    if not isinstance(pr, dict) or pr.get("kind") != "PipelineRun":
        raise PipelineRunInvalid("kind: expected PipelineRun")
    meta = pr.get("metadata") or {}
    if not isinstance(meta, dict):
        raise PipelineRunInvalid("metadata: must be a mapping")
    if meta.get("name"):
        name = rules.resource_name(meta["name"], "metadata.name")
    else:  # generateName: a prefix, to which the API server adds 5 characters
        prefix = rules.dns_label(str(meta.get("generateName") or "pipelinerun-").rstrip("-")[:57],
                                 "metadata.generateName", "generateName")
        name = f"{prefix}-{uuid.uuid4().hex[:5]}"
    spec = pr.get("spec")
    if not isinstance(spec, dict):
        raise PipelineRunInvalid("spec: required, a mapping")
    _refuse_unknown(spec, _SPEC_FIELDS, "spec")
    if spec.get("status"):
        raise PipelineRunInvalid(f"spec.status: {spec['status']!r}: not supported locally: "
                                 "pending or cancelled PipelineRuns")
    pipeline_name, pspec, where = _pipeline(spec, name, options)
    _refuse_unknown(pspec, _PIPELINE_FIELDS, where)
    pspec = copy.deepcopy(pspec)
    try:
        flags.check_pipeline(pspec, options.feature_flags, where)
    except InvalidRun as e:
        raise PipelineRunInvalid(str(e)) from None
    if "pipelineSpec" in spec:
        _propagate_run_workspaces(pspec, spec.get("workspaces") or [])
    _propagate_task_workspaces(pspec)
    template = spec.get("taskRunTemplate") or {}
    if not isinstance(template, dict) or set(template) - _TEMPLATE_FIELDS:
        raise PipelineRunInvalid("spec.taskRunTemplate: only podTemplate and serviceAccountName "
                                 "are supported")
    try:
        timeouts = timeouts_mod.resolve(spec, options.timeout)
    except timeouts_mod.TimeoutInvalid as e:
        raise PipelineRunInvalid(str(e)) from None
    tasks = pspec.get("tasks") or []
    final = pspec.get("finally") or []
    if not isinstance(tasks, list) or not tasks:
        raise PipelineRunInvalid(f"{where}.tasks: a pipeline needs at least one task")
    if not isinstance(final, list):
        raise PipelineRunInvalid(f"{where}.finally: must be a list")
    try:
        graph = dag.build(tasks, f"{where}.tasks")
        dag.validate_finally(final, set(graph.order), f"{where}.finally")
    except dag.PipelineInvalid as e:
        raise PipelineRunInvalid(str(e)) from None
    run = PipelineRunSpec(
        name=name, uid=meta.get("uid") or str(uuid.uuid4()),
        namespace=meta.get("namespace") or "default", pipeline_name=pipeline_name, where=where,
        spec=pspec, template=template, timeouts=timeouts, graph=graph,
        run_specs=_run_specs(spec.get("taskRunSpecs"), {t.get("name") for t in tasks + final
                                                        if isinstance(t, dict)}),
        params=_params(pspec.get("params") or [], spec.get("params") or [], params_override,
                       where, embedded="pipelineSpec" in spec),
        workspaces=_workspace_bindings(pspec.get("workspaces") or [],
                                       spec.get("workspaces") or [], options, where))
    for section, items in (("tasks", tasks), ("finally", final)):
        for i, t in enumerate(items):
            _check_task(run, t, f"{where}.{section}[{i}]", final=section == "finally")
    _check_results(pspec.get("results") or [], set(graph.order), set(run.final_names),
                   f"{where}.results")
    return run


def _propagate_run_workspaces(pspec: dict, bindings: list) -> None:
    """A workspace the PipelineRun binds that its embedded pipelineSpec does not declare is
    declared for it (pipelinerun.go propagateWorkspaces)."""
    declared = {w.get("name") for w in pspec.get("workspaces") or [] if isinstance(w, dict)}
    for b in bindings:
        if isinstance(b, dict) and b.get("name") and b["name"] not in declared:
            pspec.setdefault("workspaces", []).append({"name": b["name"]})


def _propagate_task_workspaces(pspec: dict) -> None:
    """A pipeline workspace that an embedded taskSpec uses (`$(workspaces.w…)`) without the
    pipeline task mapping it is mapped under its own name (pipelinerun.go propagateWorkspaces)."""
    declared = {w.get("name") for w in pspec.get("workspaces") or [] if isinstance(w, dict)}
    for t in [*(pspec.get("tasks") or []), *(pspec.get("finally") or [])]:
        if not isinstance(t, dict) or not isinstance(t.get("taskSpec"), dict):
            continue
        mapped = {w.get("name") for w in t.get("workspaces") or [] if isinstance(w, dict)}
        own = {w.get("name") for w in t["taskSpec"].get("workspaces") or [] if isinstance(w, dict)}
        used = {r.split(".")[1] for r in references(t["taskSpec"]) if r.startswith("workspaces.")}
        for name in sorted((used & declared) - mapped - own):
            t.setdefault("workspaces", []).append({"name": name, "workspace": name})


def _run_specs(given: object, names: set) -> dict[str, dict]:
    """spec.taskRunSpecs by pipeline task: podTemplate and timeout apply; serviceAccountName,
    metadata, computeResources and step/sidecar specs only matter to a cluster."""
    out: dict[str, dict] = {}
    for i, r in enumerate(given or []):
        at = f"spec.taskRunSpecs[{i}]"
        if not isinstance(r, dict) or r.get("pipelineTaskName") not in names:
            raise PipelineRunInvalid(f"{at}.pipelineTaskName: {r.get('pipelineTaskName') if isinstance(r, dict) else r!r} "
                                     "is not a task of the pipeline")
        _refuse_unknown(r, _RUNSPEC_FIELDS, at)
        if "timeout" in r:
            try:
                timeouts_mod.parse(r["timeout"], f"{at}.timeout")
            except timeouts_mod.TimeoutInvalid as e:
                raise PipelineRunInvalid(str(e)) from None
        out[r["pipelineTaskName"]] = r
    return out


def _refuse_unknown(obj: Mapping, known: set[str], where: str) -> None:
    unknown = set(obj) - known
    if unknown:
        raise PipelineRunInvalid(f"{where}: not supported locally: field(s) "
                                 f"{', '.join(sorted(unknown))}")


def _pipeline(spec: dict, run_name: str, options: RunOptions) -> tuple[str, dict, str]:
    """(pipeline name, pipeline spec, how messages name it)."""
    if "pipelineSpec" in spec and "pipelineRef" in spec:
        raise PipelineRunInvalid("spec: give pipelineSpec or pipelineRef, not both")
    if isinstance(spec.get("pipelineSpec"), dict):
        return run_name, spec["pipelineSpec"], "spec.pipelineSpec"
    ref = spec.get("pipelineRef")
    if not isinstance(ref, dict):
        raise PipelineRunInvalid("spec: a PipelineRun needs spec.pipelineSpec or spec.pipelineRef")
    from interlock.run import resolve  # the catalog resolver (tasks/ and pipelines/)
    pipeline = resolve.resolve_pipeline(ref, options)  # InvalidRun names the field
    name = (pipeline.get("metadata") or {}).get("name") or ref.get("name") or "pipeline"
    pspec = pipeline.get("spec")
    if not isinstance(pspec, dict):
        raise PipelineRunInvalid(f"Pipeline {name}: spec is missing")
    return name, pspec, f"Pipeline {name} spec"


def _check_task(run: PipelineRunSpec, t: dict, at: str, final: bool) -> None:
    _refuse_unknown(t, _TASK_FIELDS, at)
    # Tekton: "Pipeline Task name must be a valid DNS Label"; it names TaskRuns and folders
    rules.dns_label(t["name"], f"{at}.name", "pipeline task name")
    if ("taskRef" in t) == ("taskSpec" in t):
        raise PipelineRunInvalid(f"{at} ({t['name']}): needs exactly one of taskRef, taskSpec")
    if isinstance(t.get("taskSpec"), dict) and t["taskSpec"].get("apiVersion"):
        raise PipelineRunInvalid(f"{at}.taskSpec: not supported locally: custom tasks")
    retries = t.get("retries", 0)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise PipelineRunInvalid(f"{at}.retries: {retries!r} must be a non-negative integer")
    on_error = t.get("onError")
    if on_error is not None and not str(on_error).startswith("$(params."):
        # pipeline_validation.go ValidateOnError
        if on_error not in ("continue", "stopAndFail"):
            raise PipelineRunInvalid(f"{at}.onError: {on_error!r}: PipelineTask OnError must be "
                                     'either "continue" or "stopAndFail"')
        if on_error == "continue" and retries > 0:
            raise PipelineRunInvalid(f"{at}.onError: PipelineTask OnError cannot be set to "
                                     '"continue" when Retries is greater than 0')
    try:
        if "timeout" in t:
            timeouts_mod.parse(t["timeout"], f"{at}.timeout")
        when_mod.validate(t.get("when"), f"{at}.when")
        matrix_mod.validate(t.get("matrix"), f"{at}.matrix", t.get("params") or [])
    except (timeouts_mod.TimeoutInvalid, when_mod.WhenInvalid, matrix_mod.MatrixInvalid) as e:
        raise PipelineRunInvalid(str(e)) from None
    for j, ws in enumerate(t.get("workspaces") or []):
        target = ws.get("workspace", ws.get("name"))
        if target not in run.workspaces:
            raise PipelineRunInvalid(f"{at}.workspaces[{j}].workspace: {target!r} is not a "
                                     "workspace of the pipeline")
    # pipeline-level references must be declared; task results are checked against the Tasks
    fields = {k: t.get(k) for k in ("params", "when", "workspaces")}
    matrix = t.get("matrix") if isinstance(t.get("matrix"), dict) else {}
    # a matrix `include` entry's name is a label (left as written, like displayName)
    fields["matrix"] = {**matrix, "include": [{k: v for k, v in i.items() if k != "name"}
                                             for i in matrix.get("include") or []
                                             if isinstance(i, dict)]}
    variables = run.base_variables(t)
    for ref in sorted(references(fields)):
        if not checked(ref) or ref.startswith(("context.task.", "context.taskRun.")):
            continue  # unknown context is left as written; a TaskRun's own context, there
        if ref.startswith("tasks."):
            if not final and (ref == "tasks.status" or ref.endswith((".status", ".reason"))):
                raise PipelineRunInvalid(f"{at} ({t['name']}): $({ref}) is only available in "
                                         "finally tasks")
            continue
        try:
            lookup(ref, variables)
        except (UndeclaredReference, InvalidReference) as e:
            raise PipelineRunInvalid(f"{at} ({t['name']}): {e}") from None


def _check_results(results: list, dag: set[str], final: set[str], at: str) -> None:
    """Pipeline results as Tekton's webhook checks them (pipeline_validation.go
    validatePipelineResults, taskContainsResult): only result references, `$(tasks.<t>…)` of a
    DAG task or `$(finally.<t>…)` of a finally task; in a string, nothing before the first one."""
    for i, r in enumerate(results):
        here = f"{at}[{i}]"
        if not isinstance(r, dict) or not isinstance(r.get("name"), str) or "value" not in r:
            raise PipelineRunInvalid(f"{here}: needs name and value")
        refs = sorted(references(r["value"]))
        if not refs:
            raise PipelineRunInvalid(f"{here} ({r['name']}): expected pipeline results to be task "
                                     "result expressions but no expressions were found")
        if isinstance(r["value"], str) and r["value"].split("$", 1)[0] != "":
            raise PipelineRunInvalid(f"{here} ({r['name']}): {r['value']!r}: referencing a "
                                     "nonexistent task (a result value starts with $(...))")
        for ref in refs:
            head, _, rest = ref.partition(".")
            task = rest.split(".", 1)[0]
            section = dag if head == "tasks" else final if head == "finally" else None
            if section is None or ".results." not in ref or task not in section:
                raise PipelineRunInvalid(f"{here} ({r['name']}): $({ref}): referencing a "
                                         "nonexistent task (use $(tasks.<task>.results.<r>) of a "
                                         "task, $(finally.<task>.results.<r>) of a finally task)")


def _params(declared: list, given: list, override: Mapping[str, Any], where: str,
            embedded: bool) -> dict[str, Any]:
    """Pipeline param values: defaults, PipelineRun spec.params, `-p` overrides (raw strings,
    JSON for arrays/objects); types, enums and object keys checked by interlock.run.params."""
    from interlock.run import params as params_mod
    values = params_mod.given(given, "spec.params")
    names = {d.get("name") for d in declared if isinstance(d, dict)}
    unknown = sorted(set(override) - names)
    if unknown:
        raise PipelineRunInvalid(f"-p {unknown[0]}: the pipeline declares no such param "
                                 f"(declared: {', '.join(sorted(map(str, names))) or 'none'})")
    values.update(override)
    return params_mod.resolve(declared, values, where=f"{where}.params", given_where="spec.params",
                              cli=set(override),
                              propagate=embedded)


def _workspace_bindings(declared: list, given: list, options: RunOptions,
                        where: str) -> dict[str, dict | None]:
    """Pipeline workspace name -> the binding its tasks get (None: optional and unbound).

    `-w name=DIR` binds a host folder (passed on as hostPath, which only the local runner reads);
    spec.workspaces of the PipelineRun are passed on as written.
    """
    bindings: dict[str, dict | None] = {}
    given_map = {w.get("name"): w for w in given if isinstance(w, dict)}
    for i, d in enumerate(declared):
        name = d.get("name") if isinstance(d, dict) else None
        if not isinstance(name, str):
            raise PipelineRunInvalid(f"{where}.workspaces[{i}].name: required")
        rules.folder_name(name, f"{where}.workspaces[{i}].name")
        if name in options.workspaces:
            bindings[name] = {"name": name, "hostPath": {"path": str(options.workspaces[name])}}
        elif name in given_map:
            bindings[name] = dict(given_map[name])
        elif d.get("optional"):
            bindings[name] = None
        else:
            raise PipelineRunInvalid(f"spec.workspaces: the pipeline requires workspace {name!r}; "
                                     f"bind it with -w {name}=DIR or in spec.workspaces")
    typo = sorted(set(options.workspaces) - set(bindings))
    if typo:
        raise PipelineRunInvalid(f"-w {typo[0]}: the pipeline declares no such workspace "
                                 f"(declared: {', '.join(sorted(bindings)) or 'none'})")
    extra = sorted(set(given_map) - set(bindings))
    if extra:
        raise PipelineRunInvalid(f"spec.workspaces: {extra[0]!r} is not a workspace of the "
                                 "pipeline")
    return bindings
