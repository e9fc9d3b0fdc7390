"""Tekton's view of a PipelineRun's tasks: their state, skip reasons, `$(tasks.status)` and the
PipelineRun's `Succeeded` condition.

Spelled and counted as tektoncd/pipeline does (pkg/apis/pipeline/v1/pipelinerun_types.go,
pkg/reconciler/pipelinerun/resources/pipelinerunstate.go): a TaskRun cancelled by a timeout
counts as failed, a task skipped by a timeout fails the run, other skips make it "Completed".
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

from interlock.run.outcome import (COMPLETED, FAILED, FALSE, PIPELINERUN_CANCELLED,
                                   PIPELINERUN_TIMEOUT, SUCCEEDED, TASKRUN_CANCELLED, TRUE,
                                   SkippedTask, TaskRunOutcome)

# Skip reasons (v1.SkippingReason)
WHEN_SKIP = "When Expressions evaluated to false"
PARENT_SKIP = "Parent Tasks were skipped"
STOPPING_SKIP = "PipelineRun was stopping"
MISSING_RESULTS_SKIP = "Results were missing"
PIPELINE_TIMEOUT_SKIP = "PipelineRun timeout has been reached"
TASKS_TIMEOUT_SKIP = "PipelineRun Tasks timeout has been reached"
FINALLY_TIMEOUT_SKIP = "PipelineRun Finally timeout has been reached"
EMPTY_MATRIX_SKIP = "Matrix Parameters have an empty array"
TIMEOUT_SKIPS = (PIPELINE_TIMEOUT_SKIP, TASKS_TIMEOUT_SKIP, FINALLY_TIMEOUT_SKIP)

# PipelineRun reason when a task succeeded without a result another task reads
INVALID_TASK_RESULT_REFERENCE = "InvalidTaskResultReference"
STATUS_NONE = "None"  # `$(tasks.t.status)` of a task that did not run
CANCELLED_BY_TIMEOUT_MSG = "TaskRun cancelled as the PipelineRun it belongs to has timed out."


@dataclass
class TaskState:
    spec: dict                       # the pipeline task as written
    final: bool
    state: str = "pending"           # pending | running | done | skipped | not-run (cancelled)
    skip_reason: str | None = None
    outcomes: list[TaskRunOutcome | None] = field(default_factory=list)  # one per TaskRun
    cancels: list[threading.Event] = field(default_factory=list)
    timed_out: bool = False          # cancelled by a pipeline/tasks/finally timeout
    results: dict[str, Any] = field(default_factory=dict)
    task_spec: dict | None = None    # the resolved Task spec
    on_error: str = "stopAndFail"    # the pipeline task's onError, substituted when it starts

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def succeeded(self) -> bool:
        return self.state == "done" and all(o is not None and o.succeeded for o in self.outcomes)

    @property
    def failed(self) -> bool:
        return self.state == "done" and not self.succeeded

    @property
    def ignored(self) -> bool:
        """Failed, with `onError: continue`: the run goes on and does not fail for it."""
        return self.failed and self.on_error == "continue"

    @property
    def cancelled(self) -> bool:
        """Cancelled (Ctrl-C) rather than failed; a timeout's cancel counts as a failure."""
        unsucceeded = [o for o in self.outcomes if o is not None and not o.succeeded]
        return (self.failed and not self.timed_out and bool(unsucceeded)
                and all(o.reason == TASKRUN_CANCELLED for o in unsucceeded))

    def task_status(self) -> str:
        """`$(tasks.<name>.status)`."""
        return SUCCEEDED if self.succeeded else FAILED if self.failed else STATUS_NONE

    def task_reason(self) -> str:
        """`$(tasks.<name>.reason)`: its TaskRun's condition reason (a failed one's, when one of
        several failed); empty for a task that did not run."""
        done = [o for o in self.outcomes if o is not None]
        failed = [o for o in done if not o.succeeded]
        return (failed or done)[-1].reason if done else ""


def aggregate_status(dag_states: Iterable[TaskState]) -> str:
    """`$(tasks.status)`: Failed if any task failed, else Completed if any was skipped."""
    states = list(dag_states)
    if any(s.failed for s in states):  # an ignored failure too (GetPipelineTaskStatus)
        return FAILED
    if any(s.state == "skipped" for s in states):
        return COMPLETED
    return SUCCEEDED


def skipped_tasks(states: Iterable[TaskState]) -> list[SkippedTask]:
    return [SkippedTask(name=s.name, reason=s.skip_reason or "",
                        when=list(s.spec.get("when") or []) if s.skip_reason == WHEN_SKIP else [])
            for s in states if s.state == "skipped"]


def condition(states: Iterable[TaskState], *, run_name: str, timed_out: bool, cancelled: bool,
              pipeline_timeout: str) -> tuple[str, str, str]:
    """(status, reason, message) of the PipelineRun's Succeeded condition once it is done."""
    succeeded = failed = cancelled_n = skipped = timeout_skips = ignored = 0
    for s in states:
        if s.ignored:
            ignored += 1
        elif s.state == "skipped":
            skipped += 1
            timeout_skips += s.skip_reason in TIMEOUT_SKIPS
        elif s.succeeded:
            succeeded += 1
        elif s.cancelled:
            cancelled_n += 1
        elif s.state == "done":
            failed += 1
    # pipelinerunstate.go GetPipelineConditionStatus: ignored failures count as failed tasks
    # in the message, but do not fail the run
    failures = f"{failed + ignored} (Ignored: {ignored})" if ignored else f"{failed}"
    message = (f"Tasks Completed: {succeeded + failed + cancelled_n + ignored} (Failed: {failures}, "
               f"Cancelled {cancelled_n}), Skipped: {skipped}")
    if timed_out:
        return (FALSE, PIPELINERUN_TIMEOUT,
                f"PipelineRun \"{run_name}\" failed to finish within \"{pipeline_timeout}\"")
    if cancelled:
        return FALSE, PIPELINERUN_CANCELLED, f"PipelineRun \"{run_name}\" was cancelled"
    if failed or timeout_skips:
        return FALSE, FAILED, message
    if cancelled_n:
        return FALSE, PIPELINERUN_CANCELLED, message
    return TRUE, COMPLETED if skipped else SUCCEEDED, message
