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

Invalid input raises interlock.run.errors.InvalidRun before any container starts and before
anything is created on the host: planning is pure, the run folder and the folders the plan lists
are created after it. With options.dry_run nothing runs and nothing is created: the outcome has
reason "DryRun" and `plan` set.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Mapping

import yaml

from interlock.podman import PodmanError
from interlock.run import containers, envfile, hostfs, readiness, results as results_mod
from interlock.run import outcome as oc
from interlock.run.durations import format_duration
from interlock.run.errors import InvalidRun
from interlock.run.masking import Masker
from interlock.run.options import RunOptions
from interlock.run.outcome import StepOutcome, TaskRunOutcome
from interlock.run.plan import (PIPELINE_TASK, TaskRunPlan, named, pipeline_context, plan_taskrun, run_name,
                                where_of)
from interlock.run.steps import RUN, ContainerPlan, mount_for
from interlock.run.variables import UndeclaredReference, substitute

LogFn = Callable[[str, str, str], None]
# The run folder's own layout (mode): the Tekton volumes are world-writable like the emptyDirs
# they stand for, so a step can run as any user; env/ holds the env-files (owner only).
LAYOUT = (("scripts", 0o755), ("logs", 0o755), ("env", 0o700), ("results", 0o777),
          ("workspace", 0o777), ("home", 0o777), ("steps", 0o755), ("run", 0o755))
STANDINS = "standins"  # Secret/ConfigMap files of volumes: removed when the run ends, --keep or not
_MISSING_WORKDIR = re.compile(r'^Error: workdir ".*" does not exist on container [0-9a-f]+$')


def run_taskrun(taskrun: dict, *, options: RunOptions, log: LogFn | None = None,
                params_override: Mapping[str, object] | None = None,
                context: Mapping[str, object] | None = None,
                cancel: threading.Event | None = None,
                run_dir: Path | None = None, where: str | None = None) -> TaskRunOutcome:
    parent = run_dir or options.run_dir
    taskrun = named(taskrun)
    plan_args = dict(options=options, params_override=params_override, context=context, where=where)
    if options.dry_run:
        # planned against a folder that is never created: nothing is written anywhere
        plan = plan_taskrun(taskrun, run_folder=hostfs.folder_candidate(None, "dry-run", 0),
                            **plan_args)
        out = TaskRunOutcome(plan.name, plan.task, oc.UNKNOWN, "DryRun",
                             "nothing was run (--dry-run)")
        out.plan = plan.describe()
        out.pipeline_task = plan.pipeline_task
        return out
    retries = (taskrun.get("spec") or {}).get("retries") or 0
    for attempt in range(retries + 1):
        # a TaskRun's own retries (taskrun reconciler: a failed attempt is retried with a new
        # pod, its own timeout, and `$(context.task.retry-count)` counting up)
        if attempt:
            plan_args["context"] = {**(context or {}), "context.task.retry-count": str(attempt)}
            (log or _print_log)(str(taskrun["metadata"]["name"]), "taskrun",
                                f"retry {attempt} of {retries}")
        out = _attempt(taskrun, parent, plan_args, options, log, cancel)
        if out.succeeded or (cancel is not None and cancel.is_set()):
            break
    return out


def _attempt(taskrun: dict, parent: Path | None, plan_args: dict, options: RunOptions,
             log: LogFn | None, cancel: threading.Event | None) -> TaskRunOutcome:
    plan = _plan_in_new_folder(taskrun, parent, plan_args)
    folder = plan.run_dir
    try:
        out = _Execution(plan, options, log or _print_log, cancel).run()
        out.pipeline_task = plan.pipeline_task
        out.retry_count = int(str(plan.variables.get("context.task.retry-count", "0")) or 0)
        if options.keep:
            out.run_dir = str(folder)
            (folder / "spec.yaml").write_text(yaml.safe_dump(plan.spec, sort_keys=False))
            (folder / "outcome.json").write_text(json.dumps(out.to_dict(), indent=2))
        return out
    finally:
        shutil.rmtree(folder / STANDINS, ignore_errors=True)
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)


def _plan_in_new_folder(taskrun: dict, parent: Path | None, plan_args: dict) -> TaskRunPlan:
    """Plan (every check), then claim the run folder the plan is made for; when a concurrent
    run sharing --run-dir took that name meanwhile, plan again for another one."""
    context = {**pipeline_context(taskrun), **(plan_args.get("context") or {})}
    name = run_name(taskrun, where_of(taskrun, plan_args.get("where")),
                    pipeline=PIPELINE_TASK in context)
    for attempt in range(100):
        folder = hostfs.folder_candidate(parent, name, attempt)
        if folder.exists():
            continue
        plan = plan_taskrun(taskrun, run_folder=folder, **plan_args)
        try:
            if hostfs.claim_folder(folder):
                return plan
        except hostfs.HostPathError as e:
            raise InvalidRun("--run-dir", str(e.strerror)) from None
    raise InvalidRun("--run-dir", f"{parent}: no free run folder name for {name!r}")


def _print_log(task: str, step: str, line: str) -> None:
    print(f"[{task}/{step}] {line}", flush=True)


def _step_runtime(p: ContainerPlan, values: Mapping[str, object]) -> ContainerPlan:
    """Fill `$(steps.<s>.results.<r>)` with the values earlier steps produced."""
    if not values:
        return p
    p.command = substitute(p.command, values) if p.command else p.command
    p.args = substitute(p.args, values)
    p.env = substitute(p.env, values)
    p.workdir = str(substitute(p.workdir, values)) if p.workdir else p.workdir
    if p.script:
        p.script = str(substitute(p.script, values))
    return p


class _Execution:
    """One TaskRun's containers: checks, sidecars, then the steps in order."""

    def __init__(self, plan: TaskRunPlan, options: RunOptions, log: LogFn,
                 cancel: threading.Event | None):
        self.plan, self.options, self.log, self.cancel = plan, options, log, cancel
        self.run_id = uuid.uuid4().hex[:10]
        self.mask = Masker(plan.secret_values)
        self.deadline = time.monotonic() + plan.timeout if plan.timeout else None
        self.out = TaskRunOutcome(plan.name, plan.task, oc.UNKNOWN, "Running", started=oc.now(),
                                  run_id=self.run_id, masker=self.mask)
        self.failure: tuple[str, str] | None = None   # (TaskRun reason, message)
        self.step_values: dict[str, object] = {}      # steps.<s>.results.<r> -> value
        self.tidy = not plan.sidecars                 # every container removed itself (--rm)

    def container(self, name: str, sidecar: bool = False) -> str:
        return f"interlock-{self.run_id}-{'sidecar-' if sidecar else ''}{name}"

    def finish(self, status: str, reason: str, message: str = "") -> TaskRunOutcome:
        o = self.out
        o.status, o.reason, o.message, o.finished = status, reason, message, oc.now()
        return o

    def skip_all(self, reason: str) -> None:
        for q in self.plan.steps:
            self.out.steps.append(StepOutcome(q.name, "Skipped", reason))

    def say(self, step: str, line: str) -> None:
        self.log(self.plan.label, step, self.mask(line))

    def prepare(self) -> tuple[str, str] | None:
        """Create the run folder's layout and every folder the plan needs (subPaths, emptyDirs),
        never through a symlink; a `-w` folder changed since planning refuses the run."""
        try:
            for sub, mode in LAYOUT:
                hostfs.make_dirs(hostfs.Under(self.plan.run_dir, sub), mode)
            for item in self.plan.folders:
                if isinstance(item, hostfs.NewFile):
                    hostfs.write_new(item)
                else:
                    hostfs.make_dirs(item)
            # /tekton/steps/step-<name> and /tekton/steps/<index> link to the step's
            # /tekton/run/<index>/status (cmd/entrypoint/subcommands/step_init.go stepInit);
            # steps/ is the runner's and read-only in every container
            steps = self.plan.run_dir / "steps"
            for i, q in enumerate(self.plan.steps):
                for link in (f"step-{q.name}", str(i)):
                    os.symlink(f"{RUN}/{i}/status", steps / link)
        except OSError as e:
            return oc.CREATE_CONTAINER_CONFIG_ERROR, f"cannot create a folder of the run: {e.strerror or e}"
        return None

    def preflight(self) -> tuple[str, str] | None:
        """Images present, runAsNonRoot satisfied: what the kubelet checks before starting."""
        plans = self.plan.steps + self.plan.sidecars
        configs, missing = containers.image_configs([p.image for p in plans])
        if missing:
            return (oc.TASKRUN_IMAGE_PULL_FAILED,
                    f"image(s) {', '.join(missing)} not found locally (no registry is reachable: "
                    "build them with `interlock images build`, or map them with --image-map)")
        for p in self.plan.steps:
            if p.lookup_entrypoint:
                # Tekton's entrypoint lookup: ENTRYPOINT, else CMD, then the step's args
                # (pkg/pod/entrypoint_lookup_impl.go imageInfo, cmd/entrypoint/main.go)
                found = configs[p.image].get("Entrypoint") or configs[p.image].get("Cmd") or []
                p.command = [str(c) for c in found] or None
        for p in plans:
            user = str(configs[p.image].get("User") or "")
            problem = containers.non_root_problem(user, p.user) if p.non_root else None
            if problem:
                return (oc.CREATE_CONTAINER_CONFIG_ERROR,
                        f"{p.kind} {p.name!r}: container has runAsNonRoot and {problem} "
                        f"(image {p.image})")
        return None

    def ready(self, p: ContainerPlan) -> tuple[ContainerPlan, str | None]:
        """The container as it starts: mounts re-proven inside their roots (an earlier step may
        have turned a subPath folder into a symlink), its script written, its workingDir made.
        The problem, as the kubelet would report it, when it cannot start."""
        _write_script(self.plan.run_dir, p)
        for note in p.notes:
            self.say(p.name, f"(interlock) {note}")
        try:
            p.mounts = [m.checked() for m in p.mounts]
            _make_working_dir(p, self.plan.run_dir)
        except OSError as e:
            return p, f"{p.kind} {p.name!r}: {e.strerror or e}"
        return p, None

    def env_file(self, p: ContainerPlan, name: str) -> tuple[Path, dict[str, str]]:
        path = self.plan.run_dir / "env" / f"{name}.env"
        return path, envfile.write(path, {**p.env, **p.secret_env})

    def start_sidecars(self) -> tuple[str, str] | None:
        """Start every sidecar, then wait for their readiness probes (unless the flag
        await-sidecar-readiness is false)."""
        sidecars = self.plan.sidecars
        if sidecars and self.options.network != "host":
            # the pod's network namespace outlives any of its containers: a pause container
            # holds it, as the pod sandbox does, so a sidecar that exits takes nothing with it
            containers.start_pause(self.container("pod"), self.run_id, sidecars[0].image,
                                   self.options.network)
        for sc in sidecars:
            sc, problem = self.ready(sc)
            if problem:
                return oc.CREATE_CONTAINER_CONFIG_ERROR, problem
            network = self.step_network()
            name = self.container(sc.name, sidecar=True)
            env_file, environ = self.env_file(sc, name)
            try:
                containers.start_sidecar(sc, name=name, run_id=self.run_id, network=network,
                                         env_file=env_file, environ=environ, mask=self.mask)
            finally:
                env_file.unlink(missing_ok=True)  # podman has read it (`run -d` has returned)
        waits = self.options.flag("await-sidecar-readiness") == "true"
        for sc in sidecars if waits else []:
            if sc.readiness and not readiness.wait_ready(
                    sc.readiness, self.container(sc.name, sidecar=True), self.deadline,
                    self.cancel):
                if self.cancel is not None and self.cancel.is_set():
                    return oc.TASKRUN_CANCELLED, f'TaskRun "{self.plan.name}" was cancelled'
                return (oc.TASKRUN_TIMEOUT, f'TaskRun "{self.plan.name}" failed to finish within '
                        f'"{format_duration(self.plan.timeout)}": sidecar {sc.name!r} never '
                        "became ready")
        return None

    def step_network(self) -> str:
        """Steps and sidecars share one network namespace, as the containers of a pod do."""
        if self.plan.sidecars and self.options.network != "host":
            return f"container:{self.container('pod')}"
        return self.options.network

    def run_step(self, i: int, p: ContainerPlan, network: str) -> None:
        p, problem = self.ready(_step_runtime(p, self.step_values))
        step = StepOutcome(p.name, "Running", "", started=oc.now(), container=self.container(p.name))
        self.out.steps.append(step)
        if problem:
            step.finished, step.status, step.reason = oc.now(), "Failed", oc.STEP_ERROR
            self.failure = (oc.CREATE_CONTAINER_CONFIG_ERROR, problem)
            return
        with open(self.plan.run_dir / "logs" / f"{p.name}.log", "w", encoding="utf-8") as logfile:
            missing_workdir = []

            def on_line(line: str) -> None:
                if _MISSING_WORKDIR.match(line):  # podman's refusal, before the step started
                    missing_workdir.append(line)
                    return
                logfile.write(line + "\n")
                self.log(self.plan.label, p.name, line)
            ex = self.attempt(p, network, on_line)
            if ex.code == 126 and missing_workdir and not p.workdir_tmpfs:
                p.workdir_tmpfs = True
                ex = self.attempt(p, network, on_line)
        step.finished, step.exit_code = oc.now(), ex.code
        if ex.code is None or ex.code >= 125:
            self.tidy = False  # stopped by us, or podman itself failed: sweep the label
        # reached from the run folder, never through a symlink the step left in its status folder
        try:
            hostfs.write_text(hostfs.Under(self.plan.run_dir, f"run/{i}/status/exitCode"),
                              str(ex.code if ex.code is not None else 1))
        except OSError as e:
            self.say(p.name, f"(interlock) exitCode not written: {e.strerror or e}")
        self.judge(p, step, ex, hostfs.Under(self.plan.run_dir, f"run/{i}/status/results"))

    def attempt(self, p: ContainerPlan, network: str, on_line) -> containers.Exit:
        env_file, environ = self.env_file(p, self.container(p.name))
        try:
            return containers.run_step(p, name=self.container(p.name), run_id=self.run_id,
                                       network=network, on_line=on_line, timeout=p.timeout,
                                       deadline=self.deadline, cancel=self.cancel,
                                       env_file=env_file, environ=environ, mask=self.mask,
                                       grace=self.options.grace)
        finally:
            env_file.unlink(missing_ok=True)

    def judge(self, p: ContainerPlan, step: StepOutcome, ex: containers.Exit,
              step_results: hostfs.Under) -> None:
        """The step's status and reason, and the TaskRun's failure if it fails it."""
        name = self.plan.name
        if ex.cancelled:
            step.status, step.reason = "Failed", oc.TASKRUN_CANCELLED
            self.failure = (oc.TASKRUN_CANCELLED, f'TaskRun "{name}" was cancelled')
            return
        if ex.deadline:
            step.status, step.reason = "Failed", oc.TASKRUN_TIMEOUT
            self.failure = (oc.TASKRUN_TIMEOUT, f'TaskRun "{name}" failed to finish within '
                                                f'"{format_duration(self.plan.timeout)}"')
            return
        # what Tekton's entrypoint adds besides the results and StartedAt
        internal = ({"Reason": oc.STEP_TIMEOUT} if ex.timed_out else
                    {"ExitCode": str(ex.code)} if ex.code and p.on_error == "continue" else {})
        try:
            size = results_mod.termination_size(
                hostfs.Under(self.plan.run_dir, "results"), step_results,
                [str(r["name"]) for r in self.plan.results], self.plan.step_result_names.get(p.name, []),
                step.started or oc.now(), internal, f"step {p.name!r}")
            if size > results_mod.TERMINATION_LIMIT:
                step.status, step.reason = "Failed", oc.STEP_ERROR
                self.failure = (oc.TASKRUN_RESULT_TOO_LARGE,
                                f"step {p.name!r}: Termination message is above max allowed size "
                                f"{results_mod.TERMINATION_LIMIT}, caused by large task result. "
                                f"(its results came to {size} bytes)")
                return
            step.results = results_mod.read(p.results, step_results, f"step {p.name!r}")
        except results_mod.ResultError as e:
            step.status, step.reason = "Failed", oc.STEP_ERROR
            self.failure = (oc.TASKRUN_VALIDATION_FAILED, str(e))
            return
        for r, v in step.results.items():
            self.step_values[f"steps.{p.name}.results.{r}"] = v
        if ex.timed_out:
            step.status, step.reason = "Failed", oc.STEP_TIMEOUT
            if p.on_error != "continue":
                self.failure = (oc.FAILED, f"step {p.name!r} exceeded its timeout "
                                           f"{format_duration(p.timeout)!r}")
            return
        if ex.code == 0:
            step.status, step.reason = "Succeeded", oc.STEP_COMPLETED
        elif p.on_error == "continue":
            step.status, step.reason = "Failed", oc.STEP_CONTINUED
        else:
            step.status, step.reason = "Failed", oc.STEP_ERROR
            podman_error = ex.code in (125, 126, 127, containers.START_ERROR) and ex.tail
            detail = f": {ex.tail.splitlines()[-1]}" if podman_error else ""
            self.failure = (oc.FAILED, f'"step-{p.name}" exited with code {ex.code}{detail}')

    def run(self) -> TaskRunOutcome:
        refused = self.prepare() or self.preflight()
        if refused:
            self.skip_all(refused[0])
            return self.finish(oc.FALSE, *refused)
        sweep = True
        containers.track(self.run_id)
        try:
            refused = self.start_sidecars()
            if refused:
                self.skip_all(refused[0])
                return self.finish(oc.FALSE, *refused)
            network = self.step_network()
            for i, p in enumerate(self.plan.steps):
                if self.failure is None:
                    self.run_step(i, p, network)
                    continue
                stopped = self.failure[0] in (oc.TASKRUN_TIMEOUT, oc.TASKRUN_CANCELLED)
                self.out.steps.append(StepOutcome(p.name, "Skipped",
                                                  self.failure[0] if stopped else oc.STEP_SKIPPED))
            # `podman run --rm` removed every step that ended by itself: the label sweep (one
            # more podman call) is only needed for sidecars, stopped steps or podman errors
            sweep = not self.tidy
        except PodmanError as e:
            return self.finish(oc.FALSE, oc.FAILED, str(e))
        finally:
            if sweep:
                containers.remove_run(self.run_id)
            else:
                containers.untrack(self.run_id)
        if self.failure is None or self.failure[0] != oc.TASKRUN_RESULT_TOO_LARGE:
            try:  # results too large never reach the TaskRun (Tekton cannot read them either)
                self.out.results = _task_results(self.plan, self.plan.run_dir, self.step_values)
            except results_mod.ResultError as e:
                self.failure = self.failure or (oc.TASKRUN_VALIDATION_FAILED, str(e))
        if self.failure is not None:
            return self.finish(oc.FALSE, *self.failure)
        return self.finish(oc.TRUE, oc.SUCCEEDED, "All Steps have completed executing")


def _task_results(plan: TaskRunPlan, folder: Path, step_values: Mapping[str, object]) -> dict:
    values = results_mod.read([r for r in plan.results if "value" not in r],
                              hostfs.Under(folder, "results"),
                              f"TaskRun {plan.name!r}")
    for r in plan.results:
        if "value" in r:
            try:
                values[str(r["name"])] = substitute(r["value"], step_values)
            except UndeclaredReference:
                pass  # the step did not write it: left out, as a missing result
    return values


def _make_working_dir(p: ContainerPlan, run_dir: Path) -> None:
    """Create a workingDir that lies on a shared volume, as Tekton's working-dir initializer
    does, without following a symlink an earlier step left; in the run's own folders it is
    world-writable like the emptyDir it stands for."""
    found = mount_for(p.mounts, p.workdir) if p.workdir else None
    if found is None or not found[1] or found[0].readonly:
        return
    mount, rel = found
    hostfs.make_dirs(hostfs.Under(mount.host, rel),
                     0o777 if mount.host.is_relative_to(run_dir.resolve()) else 0o755)


def _write_script(folder: Path, p: ContainerPlan) -> None:
    """scripts/ is the runner's own (mounted read-only): no container can have changed it."""
    if p.script is None or p.script_file is None:
        return
    f = folder / "scripts" / p.script_file
    f.write_text(p.script, encoding="utf-8")
    f.chmod(0o755)
