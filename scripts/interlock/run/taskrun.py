"""Run one Tekton v1 TaskRun locally: each step in its own podman container, in order, sharing
the Tekton volumes (/workspace, /tekton/home, /tekton/results, /tekton/steps) through folders of
a run folder on the host.

    run_taskrun(taskrun, options=RunOptions(...), log=None, params_override=None,
                context=None, cancel=None, run_dir=None) -> TaskRunOutcome

- `taskrun`: a TaskRun object (apiVersion/kind/metadata/spec) with spec.taskSpec, or spec.taskRef
  resolvable by interlock.run.resolve; spec.params, spec.workspaces, spec.timeout as in Tekton.
  A workspace binding may also be `{name: w, hostPath: {path: DIR}}` (an Interlock extension so
  that a PipelineRun shares one host folder between its tasks), besides emptyDir, secret,
  configMap, persistentVolumeClaim/volumeClaimTemplate (a folder of the run). `options.workspaces`
  (`-w`) binds by the Task's workspace names: a PipelineRun runner passes options with
  `workspaces={}` and hostPath bindings instead.
- `params_override`: `-p` values (raw strings; JSON for arrays/objects), over spec.params.
- `context`: extra variables, full names without `$( )`, e.g.
  {"context.pipelineRun.name": "pr", "context.pipelineRun.uid": "…",
   "context.pipelineTask.retries": "2", "context.task.retry-count": "1"}.
  The key "interlock.pipelineTask" (not a variable) names the pipelineTask: it is the task part
  of log prefixes and is copied to the outcome.
- `log(task, step, line)`: called for every output line (secret values masked).
- `cancel`: set it to stop the TaskRun (its containers are removed); reason TaskRunCancelled.
- `run_dir`: parent folder for this TaskRun's run folder (default: options.run_dir, else a temp
  folder). The run folder is deleted at the end unless options.keep.

Invalid input raises interlock.run.errors.InvalidRun before any container starts. With
options.dry_run nothing runs: the outcome has reason "DryRun" and `plan` set.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import yaml

from interlock.podman import PodmanError
from interlock.run import containers, params as params_mod, results as results_mod, workspaces as ws_mod
from interlock.run import outcome as oc
from interlock.run import readiness
from interlock.run.durations import format_duration, parse_duration
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.options import RunOptions
from interlock.run.outcome import StepOutcome, TaskRunOutcome
from interlock.run.resolve import resolve_task
from interlock.run.steps import (RESULTS, STEPS, ContainerPlan, merge_template, plan_container,
                                 plan_volumes, step_names)
from interlock.run.variables import (KNOWN_PREFIXES, InvalidReference, UndeclaredReference,
                                     lookup, references, substitute)

LogFn = Callable[[str, str, str], None]
DEFAULT_TIMEOUT = 3600.0  # Tekton's default-timeout-minutes: 60
PIPELINE_TASK = "interlock.pipelineTask"
# What the PipelineRun runner puts on each TaskRun (see interlock.run.pipelinerun)
PIPELINE_TASK_LABEL = "tekton.dev/pipelineTask"
CONTEXT_ANNOTATIONS = {
    "interlock.dev/pipelinerun-name": "context.pipelineRun.name",
    "interlock.dev/pipelinerun-uid": "context.pipelineRun.uid",
    "interlock.dev/pipelinetask-retries": "context.pipelineTask.retries",
    "interlock.dev/retry-count": "context.task.retry-count",
}

TASK_FIELDS = {"params", "results", "workspaces", "steps", "sidecars", "stepTemplate", "volumes",
               "description", "displayName"}
TASKRUN_FIELDS = {"params", "taskRef", "taskSpec", "workspaces", "timeout", "podTemplate",
                  "serviceAccountName", "computeResources"}
TASKRUN_UNSUPPORTED = {"debug": "TaskRun debug", "stepSpecs": "stepSpecs overrides",
                       "sidecarSpecs": "sidecarSpecs overrides", "retries": "TaskRun retries",
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

    def describe(self) -> dict:
        def rel(d: dict) -> dict:
            d["mounts"] = [m.replace(str(self.run_dir), "<run>") for m in d["mounts"]]
            return d
        return {"taskRun": self.name, "task": self.task, "timeout": format_duration(self.timeout),
                "sidecars": [rel(s.describe()) for s in self.sidecars],
                "steps": [rel(s.describe()) for s in self.steps]}


def _where(taskrun: dict, where: str | None) -> str:
    return where or f"TaskRun {(taskrun.get('metadata') or {}).get('name', '?')}"


def _check_keys(obj: dict, allowed: set[str], unsupported: dict[str, str], where: str) -> None:
    for key in obj:
        if key in unsupported:
            raise Unsupported(f"{where}.{key}", unsupported[key])
        if key not in allowed:
            raise InvalidRun(f"{where}.{key}", f"unknown field (known: {', '.join(sorted(allowed))})")


def _pod(spec: dict, where: str) -> dict:
    pt = spec.get("podTemplate") or {}
    out: dict = {"env": {}, "securityContext": {}}
    for key, value in pt.items():
        if key == "env":
            out["env"] = {str(e["name"]): str(e.get("value", "")) for e in value or []}
        elif key == "securityContext":
            out["securityContext"] = {k: v for k, v in (value or {}).items()
                                      if k in ("runAsUser", "runAsGroup")}
        elif key not in POD_FIELDS_IGNORED:
            raise Unsupported(f"{where}: spec.podTemplate.{key}", f"podTemplate {key}")
    return out


def _validate_refs(value: object, variables: Mapping[str, object], earlier: Mapping[str, list[str]],
                   where: str) -> None:
    """Every reference must name something declared; step results only of earlier steps."""
    for ref in sorted(references(value)):
        head = ref.split(".", 1)[0].split("[", 1)[0]
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
    meta = taskrun.get("metadata") or {}
    out: dict[str, object] = {}
    for ann, var in CONTEXT_ANNOTATIONS.items():
        if ann in (meta.get("annotations") or {}):
            out[var] = str(meta["annotations"][ann])
    ptask = (meta.get("labels") or {}).get(PIPELINE_TASK_LABEL)
    if ptask:
        out[PIPELINE_TASK] = str(ptask)
    return out


def plan_taskrun(taskrun: dict, *, options: RunOptions,
                 params_override: Mapping[str, object] | None = None,
                 context: Mapping[str, object] | None = None,
                 run_folder: Path, where: str | None = None) -> TaskRunPlan:
    """Resolve and check everything; create the run folder's layout. Raises InvalidRun.
    `where` names the TaskRun in messages (its file; default "TaskRun <name>")."""
    where = _where(taskrun, where)
    meta = taskrun.get("metadata") or {}
    spec = taskrun.get("spec")
    if not isinstance(spec, dict):
        raise InvalidRun(f"{where}: spec", "missing or not a mapping")
    _check_keys(spec, TASKRUN_FIELDS, TASKRUN_UNSUPPORTED, f"{where}: spec")
    name = str(meta.get("name") or meta.get("generateName") or "taskrun").rstrip("-")
    context = {**pipeline_context(taskrun), **(context or {})}
    if PIPELINE_TASK in context:
        # a pipeline's TaskRun: its workspaces and taskRef come from the pipeline, not from
        # the command line's -w (pipeline workspace names) or --task
        options = dataclasses.replace(options, workspaces={}, task_file=None)
    resolved = resolve_task(taskrun, options, where)
    tspec = resolved.spec
    swhere = f"{resolved.source}: spec" if resolved.source != "embedded" else f"{where}: spec.taskSpec"
    _check_keys(tspec, TASK_FIELDS, {}, swhere)
    embedded = resolved.source == "embedded"

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
                                given_where=f"{where}: spec.params", propagate=embedded)

    steps = tspec.get("steps")
    if not isinstance(steps, list) or not steps:
        raise InvalidRun(f"{swhere}.steps", "a Task needs at least one step")
    names = step_names(steps, f"{swhere}.steps")
    sidecars = tspec.get("sidecars") or []
    sidecar_names = step_names(sidecars, f"{swhere}.sidecars")
    isolated = {str(u.get("name")) for c in [*steps, *sidecars] for u in c.get("workspaces") or []}

    for sub in ("results", "workspaces", "steps", "home", "scripts", "logs"):
        (run_folder / sub).mkdir(parents=True, exist_ok=True)
    (run_folder / "workspace").mkdir(exist_ok=True)
    for d in ("results", "workspace", "home", "steps"):
        (run_folder / d).chmod(0o777)  # emptyDir semantics: any runAsUser can write
    workspaces = ws_mod.resolve(tspec.get("workspaces"), spec.get("workspaces"), options,
                                run_folder, isolated, f"{swhere}.workspaces",
                                f"{where}: spec.workspaces")
    declared_results = list(tspec.get("results") or [])
    for i, r in enumerate(declared_results):
        if not isinstance(r, dict) or not r.get("name"):
            raise InvalidRun(f"{swhere}.results[{i}]", "a result needs a `name`")
        rtype = results_mod.declared_type(r)
        if rtype not in ("string", "array", "object"):
            raise InvalidRun(f"{swhere}.results[{i}].type", f"{rtype!r} is not string, array or object")

    ctx = dict(context)
    pipeline_task = ctx.pop(PIPELINE_TASK, None)
    label = str(pipeline_task or name)
    uid = str(ctx.get("context.taskRun.uid") or uuid.uuid4())
    namespace = str(meta.get("namespace") or "default")
    variables: dict[str, object] = {
        **params_mod.variables(values),
        "context.taskRun.name": name, "context.taskRun.namespace": namespace,
        "context.taskRun.uid": uid, "context.task.name": resolved.name,
        "context.task.retry-count": "0",
        **{f"results.{r['name']}.path": f"{RESULTS}/{r['name']}" for r in declared_results},
        **ws_mod.variables(workspaces),
    }
    step_results: dict[str, list[str]] = {}
    for sname, s in zip(names, steps):
        variables[f"steps.step-{sname}.exitCode.path"] = f"{STEPS}/step-{sname}/exitCode"
        step_results[sname] = [str(r.get("name")) for r in s.get("results") or []]
        for r in step_results[sname]:
            variables[f"steps.{sname}.results.{r}.path"] = f"{STEPS}/step-{sname}/results/{r}"
    variables.update(ctx)

    timeout = options.timeout
    if timeout is None:
        timeout = (parse_duration(spec["timeout"], f"{where}: spec.timeout")
                   if "timeout" in spec else DEFAULT_TIMEOUT)
    pod = _pod(spec, where)
    # volume names and sources may use params (e.g. a configMap name given as a param)
    _validate_refs(tspec.get("volumes"), variables, {}, f"{swhere}.volumes")
    volumes = plan_volumes(substitute(tspec.get("volumes"), variables), options, run_folder,
                           f"{swhere}.volumes")
    template = tspec.get("stepTemplate")
    if template is not None and not isinstance(template, dict):
        raise InvalidRun(f"{swhere}.stepTemplate", "must be a mapping")

    def plan(c: dict, kind: str, cname: str, i: int, earlier: dict[str, list[str]]) -> ContainerPlan:
        here = f"{swhere}.{kind}s[{i}]"
        merged = merge_template(template, c) if kind == "step" else dict(c)
        own = {f"step.results.{r}.path": f"{STEPS}/step-{cname}/results/{r}"
               for r in step_results.get(cname, [])} if kind == "step" else {}
        scope = {**variables, **own}
        _validate_refs(merged, scope, earlier, here)
        try:
            merged = substitute(merged, scope, strict=KNOWN_PREFIXES - {"steps"})
        except (InvalidReference, UndeclaredReference) as e:
            raise InvalidRun(here, str(e)) from None
        p = plan_container(merged, kind, cname, i, options=options, run_dir=run_folder,
                           workspaces=workspaces, volumes=volumes, pod=pod, where=here)
        if kind == "step":
            (run_folder / "steps" / f"step-{cname}" / "results").mkdir(parents=True, exist_ok=True)
            for d in (run_folder / "steps" / f"step-{cname}",
                      run_folder / "steps" / f"step-{cname}" / "results"):
                d.chmod(0o777)
        return p

    sidecar_plans = [plan(c, "sidecar", n, i, {}) for i, (n, c) in enumerate(zip(sidecar_names, sidecars))]
    step_plans = []
    for i, (n, s) in enumerate(zip(names, steps)):
        step_plans.append(plan(s, "step", n, i, {k: step_results[k] for k in names[:i]}))
    for i, r in enumerate(declared_results):
        if "value" in r:
            _validate_refs(r["value"], variables, step_results, f"{swhere}.results[{i}].value")
    resolved_spec = substitute(tspec, variables, strict=frozenset())
    return TaskRunPlan(name=name, task=resolved.name, namespace=namespace, uid=uid, label=label,
                       run_dir=run_folder, steps=step_plans, sidecars=sidecar_plans,
                       results=declared_results, timeout=timeout, spec=resolved_spec,
                       step_result_names=step_results, variables=variables,
                       pipeline_task=str(pipeline_task) if pipeline_task else None)


def _run_folder(name: str, options: RunOptions, run_dir: Path | None) -> Path:
    parent = run_dir or options.run_dir
    if parent is None:
        return Path(tempfile.mkdtemp(prefix=f"interlock-{name}-"))
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / name
    if folder.exists():
        folder = parent / f"{name}-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    return folder


def run_taskrun(taskrun: dict, *, options: RunOptions, log: LogFn | None = None,
                params_override: Mapping[str, object] | None = None,
                context: Mapping[str, object] | None = None,
                cancel: threading.Event | None = None,
                run_dir: Path | None = None, where: str | None = None) -> TaskRunOutcome:
    name = str((taskrun.get("metadata") or {}).get("name") or "taskrun")
    folder = _run_folder(name, options, run_dir)
    keep = options.keep and not options.dry_run
    try:
        plan = plan_taskrun(taskrun, options=options, params_override=params_override,
                            context=context, run_folder=folder, where=where)
        if options.dry_run:
            out = TaskRunOutcome(plan.name, plan.task, oc.UNKNOWN, "DryRun",
                                 "nothing was run (--dry-run)")
            out.plan = plan.describe()
            out.pipeline_task = plan.pipeline_task
            return out
        out = _execute(plan, options, log or _print_log, cancel)
        out.pipeline_task = plan.pipeline_task
        out.retry_count = int(str(plan.variables.get("context.task.retry-count", "0")) or 0)
        if keep:
            out.run_dir = str(folder)
            (folder / "spec.yaml").write_text(yaml.safe_dump(plan.spec, sort_keys=False))
            (folder / "outcome.json").write_text(json.dumps(out.to_dict(), indent=2))
        return out
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _print_log(task: str, step: str, line: str) -> None:
    print(f"[{task}/{step}] {line}", flush=True)


def _masker(plans: list[ContainerPlan]) -> Callable[[str], str]:
    secrets = sorted({v.strip() for p in plans for v in p.secret_env.values() if len(v.strip()) >= 3},
                     key=len, reverse=True)

    def mask(line: str) -> str:
        for s in secrets:
            if s in line:
                line = line.replace(s, "***")
        return line
    return mask


def _step_runtime(p: ContainerPlan, values: Mapping[str, object]) -> ContainerPlan:
    """Fill `$(steps.<s>.results.<r>)` with the values earlier steps produced."""
    if not values:
        return p
    p.command = substitute(p.command, values) if p.command else p.command
    p.args = substitute(p.args, values)
    p.env = substitute(p.env, values)
    p.workdir = str(substitute(p.workdir, values))
    if p.script:
        p.script = str(substitute(p.script, values))
    return p


def _execute(plan: TaskRunPlan, options: RunOptions, log: LogFn,
             cancel: threading.Event | None) -> TaskRunOutcome:
    folder = plan.run_dir
    run_id = uuid.uuid4().hex[:10]
    mask = _masker(plan.steps + plan.sidecars)
    out = TaskRunOutcome(plan.name, plan.task, oc.UNKNOWN, "Running", started=oc.now(),
                         run_id=run_id)
    deadline = time.monotonic() + plan.timeout if plan.timeout else None
    logs = folder / "logs"

    def finish(status: str, reason: str, message: str = "") -> TaskRunOutcome:
        out.status, out.reason, out.message, out.finished = status, reason, message, oc.now()
        return out

    users, missing = containers.image_users([p.image for p in plan.steps + plan.sidecars])
    if missing:
        for p in plan.steps:
            out.steps.append(StepOutcome(p.name, "Skipped", oc.TASKRUN_IMAGE_PULL_FAILED))
        return finish(oc.FALSE, oc.TASKRUN_IMAGE_PULL_FAILED,
                      f"image(s) {', '.join(missing)} not found locally (no registry is reachable: "
                      "build them with `interlock images build`, or map them with --image-map)")
    for p in plan.steps + plan.sidecars:
        problem = containers.non_root_problem(users[p.image], p.user) if p.non_root else None
        if problem:  # the kubelet refuses to create the container; Tekton fails the TaskRun
            for q in plan.steps:
                out.steps.append(StepOutcome(q.name, "Skipped", oc.CREATE_CONTAINER_CONFIG_ERROR))
            return finish(oc.FALSE, oc.CREATE_CONTAINER_CONFIG_ERROR,
                          f"{p.kind} {p.name!r}: container has runAsNonRoot and {problem} "
                          f"(image {p.image})")
    network = options.network
    # `podman run --rm` removes a step that exits by itself; the label sweep (one more podman
    # call) is needed only for sidecars, stopped steps, podman errors or an exception
    sweep = True
    containers.track(run_id)
    try:
        for i, sc in enumerate(plan.sidecars):
            _write_script(folder, sc)
            cname = f"interlock-{run_id}-sidecar-{sc.name}"
            containers.start_sidecar(sc, name=cname, run_id=run_id,
                                     network=network if i == 0 else f"container:interlock-{run_id}-sidecar-{plan.sidecars[0].name}")
        for sc in plan.sidecars:
            if sc.readiness and not readiness.wait_ready(
                    sc.readiness, f"interlock-{run_id}-sidecar-{sc.name}", deadline, cancel):
                cancelled = cancel is not None and cancel.is_set()
                reason = oc.TASKRUN_CANCELLED if cancelled else oc.TASKRUN_TIMEOUT
                for q in plan.steps:
                    out.steps.append(StepOutcome(q.name, "Skipped", reason))
                return finish(oc.FALSE, reason,
                              f'TaskRun "{plan.name}" was cancelled' if cancelled else
                              f'TaskRun "{plan.name}" failed to finish within '
                              f'"{format_duration(plan.timeout)}": sidecar {sc.name!r} never '
                              "became ready")
        # steps share the first sidecar's network namespace, as containers of one pod share it
        step_network = (f"container:interlock-{run_id}-sidecar-{plan.sidecars[0].name}"
                        if plan.sidecars and network != "host" else network)
        step_values: dict[str, object] = {}
        failure: tuple[str, str] | None = None
        tidy = not plan.sidecars
        result_names = [str(r["name"]) for r in plan.results]
        for p in plan.steps:
            if failure is not None:
                reason = failure[0] if failure[0] in (oc.TASKRUN_TIMEOUT, oc.TASKRUN_CANCELLED) else oc.STEP_SKIPPED
                out.steps.append(StepOutcome(p.name, "Skipped", reason))
                continue
            p = _step_runtime(p, step_values)
            _write_script(folder, p)
            step = StepOutcome(p.name, "Running", "", started=oc.now(),
                               container=f"interlock-{run_id}-{p.name}")
            out.steps.append(step)
            with open(logs / f"{p.name}.log", "w", encoding="utf-8") as logfile:
                def on_line(line: str, _step: str = p.name, _f=logfile) -> None:
                    line = mask(line)
                    _f.write(line + "\n")
                    log(plan.label, _step, line)
                ex = containers.run_step(p, name=f"interlock-{run_id}-{p.name}", run_id=run_id,
                                         network=step_network, on_line=on_line, timeout=p.timeout,
                                         deadline=deadline, cancel=cancel)
            step.finished = oc.now()
            step.exit_code = ex.code
            if ex.code is None or ex.code >= 125:
                tidy = False
            step_dir = folder / "steps" / f"step-{p.name}"
            (step_dir / "exitCode").write_text(str(ex.code if ex.code is not None else 1))
            try:
                step.results = results_mod.read(p.results, step_dir / "results",
                                                f"step {p.name!r}")
            except results_mod.ResultError as e:
                step.status, step.reason = "Failed", oc.STEP_ERROR
                failure = (oc.TASKRUN_VALIDATION_FAILED, str(e))
                continue
            for r, v in step.results.items():
                step_values[f"steps.{p.name}.results.{r}"] = v
            if ex.cancelled:
                step.status, step.reason = "Failed", oc.TASKRUN_CANCELLED
                failure = (oc.TASKRUN_CANCELLED, f'TaskRun "{plan.name}" was cancelled')
                continue
            if ex.deadline:
                step.status, step.reason = "Failed", oc.TASKRUN_TIMEOUT
                failure = (oc.TASKRUN_TIMEOUT, f'TaskRun "{plan.name}" failed to finish within '
                                               f'"{format_duration(plan.timeout)}"')
                continue
            size = results_mod.termination_size(folder / "results", step_dir / "results",
                                                result_names, plan.step_result_names.get(p.name, []))
            if size > results_mod.TERMINATION_LIMIT:
                step.status, step.reason = "Failed", oc.STEP_ERROR
                failure = (oc.TASKRUN_RESULT_TOO_LARGE,
                           f"step {p.name!r}: termination message of {size} bytes is above max "
                           f"allowed size {results_mod.TERMINATION_LIMIT}, caused by large task result")
                continue
            if ex.timed_out:
                step.status, step.reason = "Failed", oc.STEP_TIMEOUT
                if p.on_error == "continue":
                    step.status, step.reason = "Failed", oc.STEP_TIMEOUT
                    continue
                failure = (oc.FAILED, f"step {p.name!r} exceeded its timeout "
                                      f"{format_duration(p.timeout)!r}")
                continue
            if ex.code == 0:
                step.status, step.reason = "Succeeded", oc.STEP_COMPLETED
            elif p.on_error == "continue":
                step.status, step.reason = "Failed", oc.STEP_CONTINUED
            else:
                step.status, step.reason = "Failed", oc.STEP_ERROR
                detail = f": {ex.tail.splitlines()[-1]}" if ex.code in (125, 126, 127) and ex.tail else ""
                failure = (oc.FAILED, f'"step-{p.name}" exited with code {ex.code}{detail}')
        sweep = not tidy
    except PodmanError as e:
        return finish(oc.FALSE, oc.FAILED, str(e))
    finally:
        if sweep:
            containers.remove_run(run_id)
        else:
            containers.untrack(run_id)
    try:
        out.results = _task_results(plan, folder, step_values)
    except results_mod.ResultError as e:
        failure = failure or (oc.TASKRUN_VALIDATION_FAILED, str(e))
    if failure is not None:
        return finish(oc.FALSE, *failure)
    return finish(oc.TRUE, oc.SUCCEEDED, "All Steps have completed executing")


def _task_results(plan: TaskRunPlan, folder: Path, step_values: Mapping[str, object]) -> dict:
    values = results_mod.read([r for r in plan.results if "value" not in r], folder / "results",
                              f"TaskRun {plan.name!r}")
    for r in plan.results:
        if "value" in r:
            try:
                values[str(r["name"])] = substitute(r["value"], step_values)
            except UndeclaredReference:
                pass  # the step did not write it: left out, as a missing result
    return values


def _write_script(folder: Path, p: ContainerPlan) -> None:
    if p.script is None or p.script_file is None:
        return
    f = folder / "scripts" / p.script_file
    f.write_text(p.script, encoding="utf-8")
    f.chmod(0o755)
