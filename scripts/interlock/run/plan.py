"""Everything about a TaskRun that can be known before a container starts: the Task it runs,
its params, workspaces, volumes, variables and one ContainerPlan per step and sidecar.

plan_taskrun() raises InvalidRun (file and field named) for anything invalid or unsupported, so
that bad input never starts a container.
"""
from __future__ import annotations

import copy
import dataclasses
import secrets as random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from interlock.run import feature_flags as flags, kubernetes_rules as rules
from interlock.run import params as params_mod, results as results_mod, standins, step_refs
from interlock.run import workspaces as ws_mod
from interlock.run.durations import format_duration, parse_duration
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.hostfs import Under
from interlock.run.options import RunOptions
from interlock.run.resolve import resolve_task
from interlock.run.steps import (RESULTS, RUN, STEPS, ContainerPlan, Mount, merge_template,
                                 plan_container, plan_volumes, step_names)
from interlock.run.variables import (KNOWN_PREFIXES, InvalidReference, UndeclaredReference,
                                     checked, lookup, references, substitute)

DEFAULT_TIMEOUT = 3600.0  # Tekton's default-timeout-minutes: 60
PIPELINE_TASK = "interlock.pipelineTask"
# What the PipelineRun runner puts on each TaskRun (see interlock.run.pipelinerun)
PIPELINE_TASK_LABEL = "tekton.dev/pipelineTask"
RETRY_COUNT_ANNOTATION = "interlock.dev/retry-count"
CONTEXT_ANNOTATIONS = {
    "interlock.dev/pipelinerun-name": "context.pipelineRun.name",
    "interlock.dev/pipelinerun-uid": "context.pipelineRun.uid",
    "interlock.dev/pipelinetask-retries": "context.pipelineTask.retries",
    RETRY_COUNT_ANNOTATION: "context.task.retry-count",
}

TASK_FIELDS = {"params", "results", "workspaces", "steps", "sidecars", "stepTemplate", "volumes",
               "description", "displayName", "metadata"}
TASKRUN_FIELDS = {"params", "taskRef", "taskSpec", "workspaces", "timeout", "podTemplate",
                  "serviceAccountName", "computeResources", "retries"}
TASKRUN_UNSUPPORTED = {"debug": "TaskRun debug", "stepSpecs": "stepSpecs overrides",
                       "sidecarSpecs": "sidecarSpecs overrides",
                       "status": "TaskRun status (pending/cancel)", "managedBy": "managedBy"}
POD_FIELDS_IGNORED = {"nodeSelector", "tolerations", "affinity", "schedulerName",
                      "priorityClassName", "imagePullSecrets", "runtimeClassName",
                      "automountServiceAccountToken", "topologySpreadConstraints",
                      "enableServiceLinks", "dnsPolicy", "dnsConfig", "hostAliases"}


@dataclass
class TaskRunPlan:
    name: str
    task: str
    namespace: str
    uid: str
    label: str                               # task part of log prefixes
    run_dir: Path
    steps: list[ContainerPlan]
    sidecars: list[ContainerPlan]
    results: list[dict]                      # declared task results
    timeout: float | None
    spec: dict                               # the Task spec after substitution (for --keep)
    step_result_names: dict[str, list[str]] = field(default_factory=dict)
    variables: dict[str, object] = field(default_factory=dict)
    pipeline_task: str | None = None
    secret_values: set[str] = field(default_factory=set, repr=False)  # masked in logs
    # folders (Under) and files (NewFile: Secret/ConfigMap keys of volumes) to create when the
    # run starts (planning creates nothing), each reached from its root without following symlinks
    folders: list = field(default_factory=list)

    def describe(self) -> dict:
        def rel(d: dict) -> dict:
            d["mounts"] = [m.replace(str(self.run_dir), "<run>") for m in d["mounts"]]
            return d
        return {"taskRun": self.name, "task": self.task, "timeout": format_duration(self.timeout),
                "sidecars": [rel(s.describe()) for s in self.sidecars],
                "steps": [rel(s.describe()) for s in self.steps]}


def run_name(taskrun: dict, where: str, pipeline: bool = False) -> str:
    """metadata.name, checked: it names the run folder (see `named` for generateName). A
    pipeline's TaskRun is named `<pipelinerun>-<pipelineTask>[-<index>]` from names checked
    already."""
    meta = taskrun.get("metadata") or {}
    if not isinstance(meta, dict):
        raise InvalidRun(f"{where}: metadata", "must be a mapping")
    if meta.get("name"):
        return rules.resource_name(meta["name"], f"{where}: metadata.name")
    if meta.get("generateName"):
        return rules.resource_name(str(meta["generateName"]).rstrip("-") or "x",
                                   f"{where}: metadata.generateName")
    return "taskrun"


def named(run: dict) -> dict:
    """The run with the name the API server gives a `generateName` (the prefix and 5 random
    characters), so that `$(context.taskRun.name)` and the run folder agree."""
    meta = run.get("metadata")
    if not isinstance(meta, dict) or meta.get("name") or not meta.get("generateName"):
        return run
    suffix = "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
    return {**run, "metadata": {**meta, "name": f"{meta['generateName']}{suffix}"}}


def where_of(taskrun: dict, where: str | None) -> str:
    """How messages name a TaskRun: its file, else `TaskRun <name>`."""
    meta = taskrun.get("metadata")
    return where or f"TaskRun {meta.get('name', '?') if isinstance(meta, dict) else '?'}"


def _check_keys(obj: dict, allowed: set[str], unsupported: dict[str, str], where: str) -> None:
    for key in obj:
        if key in unsupported:
            raise Unsupported(f"{where}.{key}", unsupported[key])
        if key not in allowed:
            raise InvalidRun(f"{where}.{key}", f"unknown field (known: {', '.join(sorted(allowed))})")


def _pod(spec: dict, where: str) -> dict:
    pt = spec.get("podTemplate") or {}
    if not isinstance(pt, dict):
        raise InvalidRun(f"{where}: spec.podTemplate", "must be a mapping")
    out: dict = {"env": {}, "securityContext": {}, "volumes": []}
    for key, value in pt.items():
        if key == "env":
            for i, e in enumerate(value or []):
                here = f"{where}: spec.podTemplate.env[{i}]"
                if not isinstance(e, dict):
                    raise InvalidRun(here, "must be a mapping")
                if "valueFrom" in e:
                    raise Unsupported(f"{here}.valueFrom", "podTemplate env valueFrom")
                name = rules.env_name(e.get("name"), f"{here}.name")
                out["env"][name] = "" if e.get("value") is None else str(e["value"])
        elif key == "volumes":
            out["volumes"] = value or []
        elif key == "securityContext":
            if not isinstance(value or {}, dict):
                raise InvalidRun(f"{where}: spec.podTemplate.securityContext", "must be a mapping")
            out["securityContext"] = {k: v for k, v in (value or {}).items()
                                      if k in ("runAsUser", "runAsGroup", "runAsNonRoot")}
        elif key not in POD_FIELDS_IGNORED:
            raise Unsupported(f"{where}: spec.podTemplate.{key}", f"podTemplate {key}")
    return out


def _validate_refs(value: object, variables: Mapping[str, object], earlier: Mapping[str, list[str]],
                   where: str) -> None:
    """Every reference must name something declared; step results only of earlier steps."""
    for ref in sorted(references(value)):
        head = ref.split(".", 1)[0].split("[", 1)[0]
        if not checked(ref):
            continue
        if head == "steps":
            parts = ref.split(".")
            if len(parts) >= 4 and parts[2] == "results":
                step, res = parts[1], parts[3].split("[", 1)[0]
                if res in earlier.get(step, []):
                    continue
                raise InvalidRun(where, f"$({ref}): step {step!r} is not an earlier step that "
                                        f"declares result {res!r}")
        if head == "tasks":
            raise InvalidRun(where, f"$({ref}): task results can only be used in a Pipeline")
        try:
            lookup(ref, variables)
        except UndeclaredReference as e:
            raise InvalidRun(where, str(e)) from None
        except InvalidReference as e:
            raise InvalidRun(where, str(e)) from None


def pipeline_context(taskrun: dict) -> dict[str, object]:
    """Context a PipelineRun runner passed in the TaskRun's labels and annotations."""
    meta = taskrun.get("metadata") if isinstance(taskrun.get("metadata"), dict) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    out: dict[str, object] = {}
    for ann, var in CONTEXT_ANNOTATIONS.items():
        if ann in annotations:
            out[var] = str(annotations[ann])
    ptask = labels.get(PIPELINE_TASK_LABEL)
    if ptask:
        out[PIPELINE_TASK] = str(ptask)
    return out


def plan_taskrun(taskrun: dict, *, options: RunOptions,
                 params_override: Mapping[str, object] | None = None,
                 context: Mapping[str, object] | None = None,
                 run_folder: Path, where: str | None = None) -> TaskRunPlan:
    """Resolve and check everything; create nothing (the folders the run needs are listed in
    `folders`). Raises InvalidRun. `where` names the TaskRun in messages (its file; default
    "TaskRun <name>")."""
    where = where_of(taskrun, where)
    meta = taskrun.get("metadata") or {}
    spec = taskrun.get("spec")
    if not isinstance(spec, dict):
        raise InvalidRun(f"{where}: spec", "missing or not a mapping")
    _check_keys(spec, TASKRUN_FIELDS, TASKRUN_UNSUPPORTED, f"{where}: spec")
    retries = spec.get("retries", 0)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise InvalidRun(f"{where}: spec.retries", f"{retries!r} must be a non-negative integer")
    context = {**pipeline_context(taskrun), **(context or {})}
    name = run_name(taskrun, where, pipeline=PIPELINE_TASK in context)
    if PIPELINE_TASK in context:
        # a pipeline's TaskRun: its workspaces and taskRef come from the pipeline, not from
        # the command line's -w (pipeline workspace names) or --task
        options = dataclasses.replace(options, workspaces={}, task_file=None)
    resolved = resolve_task(taskrun, options, where)
    tspec = copy.deepcopy(resolved.spec)
    swhere = f"{resolved.source}: spec" if resolved.source != "embedded" else f"{where}: spec.taskSpec"
    _check_keys(tspec, TASK_FIELDS, {}, swhere)
    embedded = resolved.source == "embedded"
    if embedded:
        _propagate_workspaces(tspec, spec.get("workspaces"))
    flags.check_task(tspec, options.feature_flags, swhere)

    given = params_mod.given(spec.get("params"), f"{where}: spec.params")
    override = dict(params_override or {})
    declared_names = {str(p.get("name")) for p in tspec.get("params") or [] if isinstance(p, dict)}
    if override:
        # an embedded spec may use propagated params it does not declare, but a `-p` name
        # that nothing declares or uses is a typo
        used = {r.split(".", 1)[1].split(".", 1)[0].split("[", 1)[0]
                for r in references(tspec) if r.startswith("params.")} if embedded else set()
        unknown = [n for n in override if n not in declared_names and n not in used]
        if unknown:
            raise InvalidRun("-p", f"param(s) {', '.join(map(repr, unknown))} not declared by Task "
                                   f"{resolved.name} (declared: {', '.join(sorted(declared_names)) or 'none'})")
    given.update(override)
    values = params_mod.resolve(tspec.get("params"), given, where=f"{swhere}.params",
                                given_where=f"{where}: spec.params", propagate=embedded,
                                cli=set(override))

    steps = tspec.get("steps")
    if not isinstance(steps, list) or not steps:
        raise InvalidRun(f"{swhere}.steps", "a Task needs at least one step")
    steps = step_refs.expand(steps, options, params_mod.variables(values), f"{swhere}.steps")
    tspec["steps"] = steps
    names = step_names(steps, f"{swhere}.steps")
    sidecars = tspec.get("sidecars") or []
    sidecar_names = step_names(sidecars, f"{swhere}.sidecars")
    isolated = {str(u.get("name")) for c in [*steps, *sidecars] for u in c.get("workspaces") or []}

    folders: list = []
    workspaces = ws_mod.resolve(tspec.get("workspaces"), spec.get("workspaces"), options,
                                run_folder, isolated, f"{swhere}.workspaces",
                                f"{where}: spec.workspaces", folders)
    declared_results = tspec.get("results") or []
    if not isinstance(declared_results, list):
        raise InvalidRun(f"{swhere}.results", "must be a list")
    for i, r in enumerate(declared_results):
        if not isinstance(r, dict) or not r.get("name"):
            raise InvalidRun(f"{swhere}.results[{i}]", "a result needs a `name`")
        rules.result_name(r["name"], f"{swhere}.results[{i}].name")
        rtype = results_mod.declared_type(r)
        if rtype not in ("string", "array", "object"):
            raise InvalidRun(f"{swhere}.results[{i}].type", f"{rtype!r} is not string, array or object")

    ctx = dict(context)
    pipeline_task = ctx.pop(PIPELINE_TASK, None)
    label = str(pipeline_task or name)
    uid = str(ctx.get("context.taskRun.uid") or meta.get("uid") or uuid.uuid4())
    namespace = str(meta.get("namespace") or "default")
    # an embedded spec is named after its TaskRun (taskspec.go GetTaskData: the TaskRun's meta)
    task_name = name if embedded else resolved.name
    variables: dict[str, object] = {
        **params_mod.variables(values),
        "context.taskRun.name": name, "context.taskRun.namespace": namespace,
        "context.taskRun.uid": uid, "context.task.name": task_name,
        "context.task.retry-count": "0",
        **{f"results.{r['name']}.path": f"{RESULTS}/{r['name']}" for r in declared_results},
        **ws_mod.variables(workspaces),
    }
    step_results: dict[str, list[str]] = {}
    for i, (sname, s) in enumerate(zip(names, steps)):
        # /tekton/steps/step-<name> and /tekton/steps/<index> link to /tekton/run/<index>/status
        variables[f"steps.step-{sname}.exitCode.path"] = f"{STEPS}/step-{sname}/exitCode"
        step_results[sname] = [str(r.get("name")) for r in s.get("results") or []
                               if isinstance(r, dict)]
        for r in step_results[sname]:
            variables[f"steps.{sname}.results.{r}.path"] = f"{STEPS}/step-{sname}/results/{r}"
    variables.update(ctx)
    # context is applied after params (taskrun/resources/apply.go: ApplyParameters, then
    # ApplyContexts), so a param value may itself hold `$(context.task.retry-count)`
    contexts = {k: v for k, v in variables.items() if k.startswith("context.")}
    for k in [k for k in variables if k.startswith("params.")]:
        variables[k] = substitute(variables[k], contexts, strict=())

    timeout = options.timeout
    if timeout is None:
        timeout = (parse_duration(spec["timeout"], f"{where}: spec.timeout")
                   if "timeout" in spec else DEFAULT_TIMEOUT)
    pod = _pod(spec, where)
    # workspaces are volumes too (a volumeMount may name `$(workspaces.w.volume)`), then the
    # Task's volumes and the podTemplate's (pod.go Build appends them in this order)
    volumes = {w.volume: Mount(w.host, "", w.readonly, w.root) for w in workspaces.values() if w.bound}
    for field_name, source, vwhere in (("volumes", tspec, f"{swhere}.volumes"),
                                       ("volumes", pod, f"{where}: spec.podTemplate.volumes")):
        # volume names and sources may use params (e.g. a configMap name given as a param)
        _validate_refs(source.get(field_name), variables, {}, vwhere)
        plan_volumes(substitute(source.get(field_name), variables), options, run_folder,
                     vwhere, folders, out=volumes)
    template = tspec.get("stepTemplate")
    if template is not None and not isinstance(template, dict):
        raise InvalidRun(f"{swhere}.stepTemplate", "must be a mapping")
    run_dirs = [Under(run_folder, f"run/{i}") for i in range(len(steps))]

    def plan(c: dict, kind: str, cname: str, i: int, earlier: dict[str, list[str]]) -> ContainerPlan:
        here = f"{swhere}.{kind}s[{i}]"
        merged = merge_template(template, c) if kind == "step" else dict(c)
        own = {f"step.results.{r}.path": f"{STEPS}/step-{cname}/results/{r}"
               for r in step_results.get(cname, [])} if kind == "step" else {}
        if kind == "step":  # where Tekton's entrypoint reads a step's artifacts (not reported here)
            own["step.artifacts.path"] = f"{STEPS}/step-{cname}/artifacts/provenance.json"
        scope = {**variables, **own}
        _validate_refs(merged, scope, earlier, here)
        try:
            merged = substitute(merged, scope, strict=KNOWN_PREFIXES - {"steps"})
        except (InvalidReference, UndeclaredReference) as e:
            raise InvalidRun(here, str(e)) from None
        mounts = [Mount(d.path, f"{RUN}/{j}", readonly=j != i) for j, d in enumerate(run_dirs)] \
            if kind == "step" else None
        return plan_container(merged, kind, cname, i, options=options, run_dir=run_folder,
                              workspaces=workspaces, volumes=volumes, pod=pod, where=here,
                              folders=folders, run_mounts=mounts)

    sidecar_plans = [plan(c, "sidecar", n, i, {}) for i, (n, c) in enumerate(zip(sidecar_names, sidecars))]
    step_plans = []
    for i, (n, s) in enumerate(zip(names, steps)):
        step_plans.append(plan(s, "step", n, i, {k: step_results[k] for k in names[:i]}))
        folders += [run_dirs[i], Under(run_dirs[i].path, "status/results"),
                    Under(run_dirs[i].path, "status/artifacts")]
    for i, r in enumerate(declared_results):
        if "value" in r:
            _validate_refs(r["value"], variables, step_results, f"{swhere}.results[{i}].value")
    resolved_spec = substitute(tspec, variables, strict=frozenset())
    secret_values = {v for c in [*step_plans, *sidecar_plans] for v in c.secret_env.values()}
    for source in [*(spec.get("workspaces") or []), *(tspec.get("volumes") or []),
                   *(pod.get("volumes") or [])]:
        if isinstance(source, dict):
            secret_values |= standins.secret_values(substitute(source, variables), options)
    return TaskRunPlan(name=name, task=task_name, namespace=namespace, uid=uid, label=label,
                       run_dir=run_folder, steps=step_plans, sidecars=sidecar_plans,
                       results=declared_results, timeout=timeout, spec=resolved_spec,
                       step_result_names=step_results, variables=variables,
                       pipeline_task=str(pipeline_task) if pipeline_task else None,
                       secret_values=secret_values, folders=folders)


def _propagate_workspaces(tspec: dict, bindings: object) -> None:
    """A workspace the TaskRun binds and its embedded spec uses without declaring it is
    declared for it (pkg/reconciler/taskrun/taskrun.go propagateWorkspaces)."""
    declared = {str(w.get("name")) for w in tspec.get("workspaces") or [] if isinstance(w, dict)}
    used = {r.split(".")[1] for r in references(tspec) if r.startswith("workspaces.")}
    for b in bindings or []:
        if isinstance(b, dict) and b.get("name") in used - declared:
            tspec.setdefault("workspaces", []).append({"name": str(b["name"])})
