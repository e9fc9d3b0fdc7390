"""Run a Tekton v1 PipelineRun locally: the DAG, when, finally, retries, timeouts and matrix.

Each pipeline task becomes one TaskRun (or one per matrix combination) handed to an executor —
by default `interlock.run.taskrun.run_taskrun`, which runs it in real containers. Independent
tasks run at once in a thread pool of `parallel` workers. Statuses, reasons and skip reasons are
spelled as Tekton spells them (pkg/apis/pipeline/v1/pipelinerun_types.go and
pkg/reconciler/pipelinerun/resources/pipelinerunstate.go in tektoncd/pipeline):

- a failed DAG task puts the run in "stopping": tasks not started yet are skipped with
  "PipelineRun was stopping", running ones finish, `finally` tasks still run;
- a task skipped by its `when` skips only itself: tasks ordered after it (runAfter) still run,
  tasks that read its results are skipped with "Results were missing";
- any other skipped parent skips its children with "Parent Tasks were skipped";
- `spec.timeouts.tasks|finally` cancel what runs (a failure, so waiting tasks see the run
  stopping), then the run fails; `spec.timeouts.pipeline` cancels everything, skips every task
  not started (finally included) and the run ends "PipelineRunTimeout".

What the run asks for is loaded and checked by pipeline_spec.py; the TaskRun objects are built
by pipeline_taskruns.py; Tekton's statuses, skip reasons and condition live in
pipeline_status.py; this module checks every task up front, then schedules.

TaskRuns handed to the executor carry `metadata.name` `<pipelinerun>-<pipelineTask>[-<index>]`,
Tekton's labels `tekton.dev/pipelineRun|pipelineTask|pipeline`, and the pipeline context in
annotations (see plan.CONTEXT_ANNOTATIONS) so the TaskRun runner can fill `$(context.task.retry-count)`
and `$(context.pipelineRun.*)`.
"""
from __future__ import annotations

import concurrent.futures as cf
import copy
import dataclasses
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

import yaml

from interlock.run import hostfs, matrix as matrix_mod, pipeline_spec, pipeline_taskruns
from interlock.run import timeouts as timeouts_mod, when as when_mod
from interlock.run.errors import InvalidRun
from interlock.run.options import RunOptions
from interlock.run.outcome import (FALSE, TASKRUN_CANCELLED, TASKRUN_VALIDATION_FAILED,
                                   UNKNOWN, PipelineRunOutcome, TaskRunOutcome, now)
from interlock.run.pipeline_spec import PipelineRunInvalid, PipelineRunSpec
from interlock.run.plan import RETRY_COUNT_ANNOTATION
from interlock.run.pipeline_status import (  # noqa: F401  (skip reasons re-exported)
    CANCELLED_BY_TIMEOUT_MSG, EMPTY_MATRIX_SKIP, FINALLY_TIMEOUT_SKIP,
    INVALID_TASK_RESULT_REFERENCE, MISSING_RESULTS_SKIP, PARENT_SKIP, PIPELINE_TIMEOUT_SKIP,
    STOPPING_SKIP, TASKS_TIMEOUT_SKIP, WHEN_SKIP, TaskState, aggregate_status, condition,
    skipped_tasks)
from interlock.run.variables import (InvalidReference, UndeclaredReference, lookup, references,
                                     substitute)

LogFn = Callable[[str, str, str], None]


class Executor(Protocol):
    def __call__(self, taskrun: dict, cancel: threading.Event,
                 log: LogFn | None) -> TaskRunOutcome: ...


def run_pipelinerun(pipelinerun: dict, *, options: RunOptions, log: LogFn | None = None,
                    parallel: int | None = None, cancel: threading.Event | None = None,
                    executor: Executor | None = None,
                    params_override: Mapping[str, Any] | None = None) -> PipelineRunOutcome:
    """Run every task of the PipelineRun; raise PipelineRunInvalid before anything starts if the
    input is invalid. `executor` replaces the container runner (tests use a fake)."""
    try:
        run = _PipelineRun(pipelinerun, options=options, log=log,
                           parallel=parallel or options.parallel or 2, cancel=cancel,
                           executor=executor, params_override=params_override or {})
        run.check_tasks()
    except InvalidRun as e:  # from resolving/planning a task: same exit path, file named by caller
        raise PipelineRunInvalid(str(e)) from None
    return run.execute()


def _task_options(options: RunOptions, run_dir: Path | None = None) -> RunOptions:
    """Options for the pipeline's TaskRuns: `--timeout` is the pipeline's, not each task's;
    -w and --task bind pipeline names, which the TaskRuns receive as hostPath bindings (into
    the -w folders, or the pipeline's run folder for its shared claims: their only roots)."""
    roots = (*options.workspaces.values(), *([run_dir] if run_dir else []))
    return dataclasses.replace(options, timeout=None, workspaces={}, task_file=None,
                               pipeline_file=None, host_roots=tuple(Path(r) for r in roots))


def _container_executor(options: RunOptions, run_dir: Path | None, where: str) -> Executor:
    from interlock.run.taskrun import run_taskrun  # the TaskRun runner (containers)
    task_options = _task_options(options, run_dir)

    def execute(taskrun: dict, cancel: threading.Event, log: LogFn | None) -> TaskRunOutcome:
        ptask = taskrun["metadata"]["labels"]["tekton.dev/pipelineTask"]
        return run_taskrun(taskrun, options=task_options, log=log, cancel=cancel,
                           run_dir=run_dir, where=f"{where} ({ptask})")
    return execute


class _PipelineRun:
    def __init__(self, pr: dict, *, options: RunOptions, log: LogFn | None, parallel: int,
                 cancel: threading.Event | None, executor: Executor,
                 params_override: Mapping[str, Any]):
        self.options = options
        self.log = log
        self.parallel = max(1, parallel)
        self.cancel = cancel or threading.Event()
        self.executor = executor
        self.run: PipelineRunSpec = pipeline_spec.load(pr, options, params_override)
        self.name = self.run.name
        self.dag_names = self.run.dag_names
        self.final_names = self.run.final_names
        self.timeouts = self.run.timeouts
        self.states = {t["name"]: TaskState(spec=t, final=final) for t, final in self.run.tasks()}
        # what happened so far; only the scheduling thread changes these
        self.started = now()
        self.t0 = time.monotonic()
        self.finally_t0: float | None = None      # when the finally tasks could start
        self.timed_out = False                    # timeouts.pipeline fired
        self.tasks_timed_out = False
        self.finally_timed_out = False
        self.cancelled = False                    # Ctrl-C / SIGTERM
        self.stopping = False                     # a DAG task failed: start no more DAG tasks
        self.invalid_result: str | None = None    # InvalidTaskResultReference: the run fails
        self.futures: dict[cf.Future, tuple[str, int]] = {}  # running TaskRun -> (task, index)

    # ---- variables ----

    def _variables(self, task: Mapping, final: bool) -> dict[str, Any]:
        v = self.run.base_variables(task)
        for s in self.states.values():
            if s.final:
                continue
            for r, value in s.results.items():
                v[f"tasks.{s.name}.results.{r}"] = value
            if s.spec.get("matrix") and s.state == "done":
                v[f"tasks.{s.name}.matrix.length"] = str(len(s.outcomes))
                for r, value in s.results.items():
                    v[f"tasks.{s.name}.matrix.{r}.length"] = str(len(value))
            if final:
                v[f"tasks.{s.name}.status"] = s.task_status()
                v[f"tasks.{s.name}.reason"] = s.task_reason()
        if final:
            v["tasks.status"] = aggregate_status(self.states[n] for n in self.dag_names)
        return v

    def _missing_results(self, task: Mapping, variables: Mapping[str, Any]) -> list[str]:
        """Result references that resolve to nothing (a bad index is an error instead)."""
        fields = {k: task.get(k) for k in ("params", "matrix", "when")}
        if isinstance(task.get("taskSpec"), dict):
            fields["taskSpec"] = {k: task["taskSpec"].get(k) for k in ("steps", "sidecars")}
        missing = []
        for ref in sorted(references(fields)):
            if ref.startswith("tasks.") and (".results." in ref or ".matrix." in ref):
                try:
                    lookup(ref, variables)
                except UndeclaredReference:
                    missing.append(ref)
        return missing

    def _check_produced(self, s: TaskState, missing: list[str]) -> None:
        """A DAG task reading a result its parent succeeded without writing fails the whole
        run, as Tekton fails it (InvalidTaskResultReference); a skipped or failed parent's
        missing result only skips the reader ("Results were missing")."""
        for ref in missing:
            producer = self.states[ref.split(".")[1]]
            if producer.succeeded:
                raise _InvalidResultReference(
                    f"{self.run.at(s.name)}: $({ref}): task {producer.name!r} succeeded without "
                    "producing this result")

    # ---- checking every task before anything runs ----

    def _task_spec(self, s: TaskState) -> dict:
        """The Task a pipeline task runs (embedded or resolved from the catalog), cached."""
        if s.task_spec is None:
            from interlock.run.resolve import resolve_pipeline_task
            s.task_spec = resolve_pipeline_task(s.spec, self.options, self.run.at(s.name)).spec
        return s.task_spec

    def _placeholders(self, s: TaskState) -> dict[str, Any]:
        return pipeline_taskruns.placeholder_variables(
            self.run, s.spec, s.final, lambda name: self._task_spec(self.states[name]))

    def _taskruns(self, s: TaskState, variables: Mapping[str, Any]) -> list[dict]:
        return pipeline_taskruns.build(self.run, s.spec, variables)

    def check_tasks(self) -> None:
        """Resolve every task, check result references against what the producing tasks
        declare, and plan each TaskRun (params, types, workspaces, steps) without running it."""
        from interlock.run.plan import plan_taskrun
        options = _task_options(self.options)
        for name in self.dag_names + self.final_names:
            s = self.states[name]
            at = self.run.at(s.name)
            variables = self._placeholders(s)
            try:
                substitute(copy.deepcopy(s.spec.get("when") or []), variables)
                runs = self._taskruns(s, variables)
            except (UndeclaredReference, InvalidReference) as e:
                hint = (" (the task it names does not declare that result)"
                        if getattr(e, "name", "").startswith("tasks.") else "")
                raise PipelineRunInvalid(f"{at}: {e}{hint}") from None
            except matrix_mod.MatrixInvalid as e:
                raise PipelineRunInvalid(f"{at}.matrix: {e}") from None
            for tr in runs[:1]:  # planning creates nothing: a folder that does not exist will do
                plan_taskrun(tr, options=options, where=at,
                             run_folder=hostfs.folder_candidate(None, "check", 0))

    # ---- scheduling ----

    def execute(self) -> PipelineRunOutcome:
        if self.options.dry_run:
            return self._dry_run()
        folder = self._run_folder()
        keep = self.options.keep
        try:
            self._share_claims(folder)
            if self.executor is None:
                self.executor = _container_executor(self.options, folder, self.run.where)
            outcome = self._schedule_all()
            if keep:
                outcome.run_dir = str(folder)
                (folder / "pipeline.yaml").write_text(yaml.safe_dump(
                    {"params": self.run.params, "spec": self.run.spec}, sort_keys=False))
                (folder / "outcome.json").write_text(json.dumps(outcome.to_dict(), indent=2))
            return outcome
        finally:
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)

    def _run_folder(self) -> Path:
        """The PipelineRun's run folder, claimed atomically (runs may share --run-dir)."""
        for attempt in range(100):
            folder = hostfs.folder_candidate(self.options.run_dir, self.name, attempt)
            try:
                if hostfs.claim_folder(folder):
                    return folder
            except hostfs.HostPathError as e:
                raise PipelineRunInvalid(f"--run-dir: {e.strerror}") from None
        raise PipelineRunInvalid(f"--run-dir: no free run folder name for {self.name!r}")

    def _share_claims(self, folder: Path) -> None:
        """A persistentVolumeClaim/volumeClaimTemplate workspace is one volume for the whole
        PipelineRun: a folder of the run shared by its tasks (emptyDir stays per TaskRun)."""
        for name, binding in self.run.workspaces.items():
            if binding and ("persistentVolumeClaim" in binding or "volumeClaimTemplate" in binding):
                shared = hostfs.make_dirs(hostfs.Under(folder, f"workspaces/{name}"))
                self.run.workspaces[name] = {"name": name, "hostPath": {"path": str(shared)},
                                         **({"subPath": binding["subPath"]}
                                            if binding.get("subPath") else {})}

    def _dry_run(self) -> PipelineRunOutcome:
        """Plan every TaskRun in order, results standing in as placeholders; run nothing."""
        started = now()
        executor = self.executor or _container_executor(self.options, None, self.run.where)
        tasks: list[TaskRunOutcome] = []
        for name in self.dag_names + self.final_names:
            s = self.states[name]
            for tr in self._taskruns(s, self._placeholders(s)):
                out = executor(tr, threading.Event(), self.log)
                out.pipeline_task = name
                tasks.append(out)
        return PipelineRunOutcome(name=self.name, pipeline=self.run.pipeline_name, status=UNKNOWN,
                                  reason="DryRun", message="nothing was run (--dry-run)",
                                  tasks=tasks, started=started, finished=now())

    def _schedule_all(self) -> PipelineRunOutcome:
        self.started = now()
        self.t0 = time.monotonic()
        pool = cf.ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="pipelinetask")
        try:
            while True:
                self._check_deadlines()
                self._schedule(pool)
                if not self.futures and not self._pending():
                    break
                done, _ = cf.wait(list(self.futures), timeout=self._wait_time(),
                                  return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    self._collect(fut)
        except BaseException:
            self._cancel_all(timeout=False)
            cf.wait(list(self.futures))
            raise
        finally:
            pool.shutdown(wait=True)
        return self._outcome()

    def _pending(self) -> list[str]:
        return [n for n, s in self.states.items() if s.state == "pending"]

    def _wait_time(self) -> float:
        """Sleep until the next deadline (or a short tick to watch for Ctrl-C)."""
        left = [1.0]
        for deadline in self._deadlines():
            left.append(max(0.0, deadline - time.monotonic()) + 0.01)
        return min(left)

    def _deadlines(self) -> list[float]:
        out = []
        if self.timeouts.pipeline and not self.timed_out:
            out.append(self.t0 + self.timeouts.pipeline)
        if self.timeouts.tasks and not self.tasks_timed_out and self.finally_t0 is None:
            out.append(self.t0 + self.timeouts.tasks)
        if self.timeouts.finally_ and self.finally_t0 is not None and not self.finally_timed_out:
            out.append(self.finally_t0 + self.timeouts.finally_)
        return out

    def _check_deadlines(self) -> None:
        t = time.monotonic()
        if self.cancel.is_set() and not self.cancelled:
            self.cancelled = True  # Ctrl-C: stop what runs, start nothing more, not even finally
            self._say("PipelineRun cancelled: stopping running tasks")
            self._cancel_all(timeout=False)
            for s in self.states.values():
                if s.state == "pending":
                    s.state = "not-run"
        if self.timeouts.pipeline and not self.timed_out and t >= self.t0 + self.timeouts.pipeline:
            self.timed_out = True
            self._say("PipelineRun timeout reached: cancelling running tasks")
            self._cancel_all(timeout=True)
            self._skip_pending(self.dag_names + self.final_names, PIPELINE_TIMEOUT_SKIP)
        if (self.timeouts.tasks and not self.tasks_timed_out and self.finally_t0 is None
                and t >= self.t0 + self.timeouts.tasks):
            self.tasks_timed_out = True
            self._say("PipelineRun tasks timeout reached: cancelling running tasks")
            # as in Tekton, the cancelled tasks count as failed, so the tasks waiting for them
            # are skipped as the run is stopping; a task ready to start is skipped for the timeout
            self._cancel_all(timeout=True, names=self.dag_names)
        if (self.timeouts.finally_ and self.finally_t0 is not None and not self.finally_timed_out
                and t >= self.finally_t0 + self.timeouts.finally_):
            self.finally_timed_out = True
            self._say("PipelineRun finally timeout reached: cancelling finally tasks")
            self._cancel_all(timeout=True, names=self.final_names)
            self._skip_pending(self.final_names, FINALLY_TIMEOUT_SKIP)

    def _cancel_all(self, timeout: bool, names: list[str] | None = None) -> None:
        for name in names or list(self.states):
            s = self.states[name]
            if s.state == "running":
                s.timed_out = s.timed_out or timeout
                for ev in s.cancels:
                    ev.set()

    def _skip_pending(self, names: list[str], reason: str) -> None:
        for n in names:
            s = self.states[n]
            if s.state == "pending":
                self._mark_skipped(s, reason)

    def _mark_skipped(self, s: TaskState, reason: str) -> None:
        s.state, s.skip_reason = "skipped", reason
        self._say(f"{s.name}: skipped ({reason})")

    def _schedule(self, pool: cf.ThreadPoolExecutor) -> None:
        if self.cancelled or self.invalid_result:
            return
        for name in self.dag_names:
            s = self.states[name]
            if s.state == "pending":
                self._advance(pool, s)
        dag_done = all(self.states[n].state in ("done", "skipped") for n in self.dag_names)
        if not dag_done:
            return
        if self.finally_t0 is None:
            self.finally_t0 = time.monotonic()
        for name in self.final_names:
            s = self.states[name]
            if s.state == "pending":
                self._advance(pool, s)

    def _advance(self, pool: cf.ThreadPoolExecutor, s: TaskState) -> None:
        """Skip or start one pending task. A reference that only fails with real values (an
        index past the end of an array result, a matrix too large) fails that task, as Tekton
        fails it, instead of stopping the runner."""
        try:
            if s.final:
                reason = self._finally_skip_reason(s)
            else:
                reason = self._dag_skip_reason(s)
                if not reason and not all(self.states[p].state in ("done", "skipped")
                                          for p in self.run.graph.parents[s.name]):
                    return
            if reason:
                self._mark_skipped(s, reason)
            else:
                self._launch(pool, s)
        except _InvalidResultReference as e:
            self.invalid_result = str(e)
            self._say(f"failing the PipelineRun: {e}")
            self._cancel_all(timeout=False)
            for other in self.states.values():
                if other.state == "pending":
                    other.state = "not-run"
        except (UndeclaredReference, InvalidReference, matrix_mod.MatrixInvalid,
                when_mod.WhenInvalid) as e:
            failed = TaskRunOutcome(name=f"{self.name}-{s.name}", task=_task_name(s.spec),
                                    status=FALSE, reason=TASKRUN_VALIDATION_FAILED,
                                    message=f"{self.run.at(s.name)}: {e}", started=now(), finished=now())
            failed.pipeline_task = s.name
            s.state, s.outcomes = "done", [failed]
            self._say(f"{s.name}: failed ({e})")
            if not s.final:
                self.stopping = True

    def _dag_skip_reason(self, s: TaskState) -> str | None:
        """Tekton's ResolvedPipelineTask.skip(), in its order."""
        if self.stopping:
            return STOPPING_SKIP
        parents = [self.states[p] for p in self.run.graph.parents[s.name]]
        if any(p.state == "skipped" and p.skip_reason != WHEN_SKIP for p in parents):
            return PARENT_SKIP
        if not all(p.state in ("done", "skipped") for p in parents):
            return None
        variables = self._variables(s.spec, final=False)
        missing = self._missing_results(s.spec, variables)
        if missing:
            self._check_produced(s, missing)
            return MISSING_RESULTS_SKIP
        if not self._when_allows(s, variables):
            return WHEN_SKIP
        if self.timed_out:
            return PIPELINE_TIMEOUT_SKIP
        if self.tasks_timed_out:
            return TASKS_TIMEOUT_SKIP
        if matrix_mod.has_empty_array(substitute(pipeline_taskruns.unnamed(s.spec.get("matrix")),
                                                variables)):
            return EMPTY_MATRIX_SKIP
        return None

    def _finally_skip_reason(self, s: TaskState) -> str | None:
        """Tekton's IsFinallySkipped()."""
        variables = self._variables(s.spec, final=True)
        if self._missing_results(s.spec, variables):
            return MISSING_RESULTS_SKIP
        if not self._when_allows(s, variables):
            return WHEN_SKIP
        if self.timed_out:
            return PIPELINE_TIMEOUT_SKIP
        if self.finally_timed_out:
            return FINALLY_TIMEOUT_SKIP
        if matrix_mod.has_empty_array(substitute(pipeline_taskruns.unnamed(s.spec.get("matrix")),
                                                variables)):
            return EMPTY_MATRIX_SKIP
        return None

    def _when_allows(self, s: TaskState, variables: Mapping[str, Any]) -> bool:
        exprs = s.spec.get("when") or []
        return when_mod.allows(substitute(exprs, variables)) if exprs else True

    def _launch(self, pool: cf.ThreadPoolExecutor, s: TaskState) -> None:
        variables = self._variables(s.spec, final=s.final)
        s.on_error = str(substitute(s.spec.get("onError") or "stopAndFail", variables))
        runs = self._taskruns(s, variables)
        s.state = "running"
        s.outcomes = [None] * len(runs)
        s.cancels = [threading.Event() for _ in runs]
        for i, tr in enumerate(runs):
            fut = pool.submit(self._attempts, s, i, tr, s.cancels[i])
            self.futures[fut] = (s.name, i)

    def _attempts(self, s: TaskState, index: int, taskrun: dict,
                  cancel: threading.Event) -> TaskRunOutcome:
        """Run one TaskRun, retrying a failure up to `retries` times (Tekton's retries)."""
        retries = int(s.spec.get("retries", 0))
        label = s.name if len(s.outcomes) == 1 else f"{s.name}[{index}]"
        log = (lambda _t, step, line: self.log(label, step, line)) if self.log else None
        outcome: TaskRunOutcome | None = None
        for attempt in range(retries + 1):
            if cancel.is_set():
                break
            tr = copy.deepcopy(taskrun)
            tr["metadata"]["annotations"][RETRY_COUNT_ANNOTATION] = str(attempt)
            if attempt:
                self._say(f"{label}: retry {attempt} of {retries}")
            try:
                outcome = self.executor(tr, cancel, log)
            except InvalidRun as e:  # found only at run time (e.g. a result's value): fail it
                outcome = TaskRunOutcome(name=tr["metadata"]["name"], task=_task_name(s.spec),
                                         status=FALSE, reason=TASKRUN_VALIDATION_FAILED,
                                         message=str(e), started=now(), finished=now())
            outcome.retry_count = attempt
            if outcome.succeeded or cancel.is_set():
                break
        if outcome is None:  # cancelled before it could start
            outcome = TaskRunOutcome(name=taskrun["metadata"]["name"], task=_task_name(s.spec),
                                     status=FALSE, reason=TASKRUN_CANCELLED,
                                     message="TaskRun was cancelled before it started",
                                     started=now(), finished=now())
        outcome.pipeline_task = s.name
        return outcome

    def _collect(self, fut: cf.Future) -> None:
        name, index = self.futures.pop(fut)
        s = self.states[name]
        outcome = fut.result()
        if s.timed_out and outcome.reason == TASKRUN_CANCELLED:  # Tekton's message says why
            outcome.message = CANCELLED_BY_TIMEOUT_MSG
        s.outcomes[index] = outcome
        if any(o is None for o in s.outcomes):
            return
        s.state = "done"
        per_run = [o.results for o in s.outcomes if o is not None and o.succeeded]
        if s.spec.get("matrix"):
            s.results = matrix_mod.aggregate_results(per_run)
        elif per_run:
            s.results = dict(per_run[0])
        reasons = sorted({o.reason for o in s.outcomes if o is not None and not o.succeeded})
        self._say(f"{name}: " + ("succeeded" if s.succeeded else f"failed ({', '.join(reasons)})"
                                 + (", ignored (onError: continue)" if s.ignored else "")))
        if s.failed and not s.final and not s.ignored:
            self.stopping = True

    def _say(self, message: str) -> None:
        if self.log:
            self.log(self.name, "pipeline", message)

    # ---- outcome ----

    def _outcome(self) -> PipelineRunOutcome:
        ordered = [self.states[n] for n in self.dag_names + self.final_names]
        status, reason, message = condition(
            ordered, run_name=self.name, timed_out=self.timed_out, cancelled=self.cancelled,
            pipeline_timeout=timeouts_mod.go_format(self.timeouts.pipeline or 0))
        if self.invalid_result and not self.timed_out:
            status, reason, message = FALSE, INVALID_TASK_RESULT_REFERENCE, self.invalid_result
        return PipelineRunOutcome(
            name=self.name, pipeline=self.run.pipeline_name, status=status, reason=reason,
            message=message, tasks=[o for s in ordered for o in s.outcomes if o is not None],
            skipped=skipped_tasks(ordered), results=self._pipeline_results(),
            started=self.started, finished=now())

    def _pipeline_results(self) -> dict[str, Any]:
        """spec.results from task results; one whose task produced nothing is left out."""
        variables = self._variables({}, final=False)
        for s in self.states.values():  # finally tasks' results are `$(finally.<t>.results.<r>)`
            if s.final:
                variables.update({f"finally.{s.name}.results.{r}": v for r, v in s.results.items()})
        out: dict[str, Any] = {}
        for r in self.run.spec.get("results") or []:
            try:
                value = substitute(copy.deepcopy(r["value"]), variables)
            except (UndeclaredReference, InvalidReference):
                continue
            if not references(value):  # a finally result that was never produced stays out
                out[r["name"]] = value
        return out


class _InvalidResultReference(Exception):
    pass


def _task_name(t: Mapping) -> str:
    ref = t.get("taskRef") or {}
    return ref.get("name") or "embedded"
