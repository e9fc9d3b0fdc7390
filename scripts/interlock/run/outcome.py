"""What a run produced, shaped like Tekton's status so people and scripts read it the same way.

Statuses follow the `Succeeded` condition: "True", "False" or "Unknown". Reasons are spelled as
Tekton spells them (pkg/apis/pipeline/v1 and pkg/status in tektoncd/pipeline).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from interlock.run.masking import Masker

# TaskRun condition reasons
SUCCEEDED = "Succeeded"
FAILED = "Failed"
TASKRUN_TIMEOUT = "TaskRunTimeout"
TASKRUN_CANCELLED = "TaskRunCancelled"
TASKRUN_VALIDATION_FAILED = "TaskRunValidationFailed"
TASKRUN_RESOLUTION_FAILED = "TaskRunResolutionFailed"
TASKRUN_RESULT_TOO_LARGE = "TaskRunResultLargerThanAllowedLimit"
TASKRUN_IMAGE_PULL_FAILED = "TaskRunImagePullFailed"
CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"  # e.g. runAsNonRoot on a root image

# PipelineRun condition reasons
COMPLETED = "Completed"  # succeeded, but some tasks were skipped
PIPELINERUN_TIMEOUT = "PipelineRunTimeout"
PIPELINERUN_CANCELLED = "Cancelled"
PIPELINERUN_VALIDATION_FAILED = "PipelineValidationFailed"
PIPELINERUN_RESOLUTION_FAILED = "PipelineRunResolutionFailed"

# Step termination reasons (StepState.terminationReason)
STEP_COMPLETED = "Completed"
STEP_CONTINUED = "Continued"   # failed with onError: continue; exit code kept
STEP_ERROR = "Error"
STEP_TIMEOUT = "TimeoutExceeded"
STEP_SKIPPED = "Skipped"       # an earlier step failed
STEP_CANCELLED = "Cancelled"

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


def now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z") if t else None


def _duration(started: datetime | None, finished: datetime | None) -> float | None:
    return round((finished - started).total_seconds(), 3) if started and finished else None


@dataclass
class StepOutcome:
    name: str
    status: str                      # "Succeeded" | "Failed" | "Skipped" (human term for the table)
    reason: str                      # a STEP_* termination reason
    exit_code: int | None = None
    started: datetime | None = None
    finished: datetime | None = None
    results: dict[str, Any] = field(default_factory=dict)   # step results (`$(steps.s.results.r)`)
    container: str | None = None     # podman container name (the step's, for debugging)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason,
                "exitCode": self.exit_code, "startTime": _iso(self.started),
                "completionTime": _iso(self.finished),
                "duration": _duration(self.started, self.finished), "results": self.results}


@dataclass
class TaskRunOutcome:
    name: str                        # the TaskRun's metadata.name
    task: str                        # the Task's name (taskRef name or "embedded")
    status: str                      # TRUE | FALSE | UNKNOWN
    reason: str
    message: str = ""
    steps: list[StepOutcome] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    started: datetime | None = None
    finished: datetime | None = None
    retry_count: int = 0
    pipeline_task: str | None = None  # set by the PipelineRun runner
    run_dir: str | None = None        # kept run folder, when --keep
    plan: dict[str, Any] | None = None  # --dry-run: what would run
    run_id: str | None = None         # the `interlock.run` label of its containers
    # the secret values the TaskRun used: to_dict() masks them, wherever the outcome goes
    masker: Masker = field(default_factory=Masker, repr=False, compare=False)

    @property
    def succeeded(self) -> bool:
        return self.status == TRUE

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": "TaskRun", "name": self.name, "task": self.task,
             "condition": {"type": "Succeeded", "status": self.status, "reason": self.reason,
                           "message": self.message},
             "startTime": _iso(self.started), "completionTime": _iso(self.finished),
             "duration": _duration(self.started, self.finished),
             "retryCount": self.retry_count,
             "steps": [s.to_dict() for s in self.steps], "results": self.results}
        if self.pipeline_task is not None:
            d["pipelineTask"] = self.pipeline_task
        if self.run_dir:
            d["runDir"] = self.run_dir
        if self.plan is not None:
            d["plan"] = self.plan
        if self.run_id:
            d["runId"] = self.run_id
        return self.masker.tree(d)


@dataclass
class SkippedTask:
    """A pipelineTask that never ran (status.skippedTasks): reason as Tekton spells it, e.g.
    "When Expressions evaluated to false", "Parent Tasks were skipped", "PipelineRun was
    stopping", "PipelineRun timeout has been reached"."""
    name: str
    reason: str
    when: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason, "whenExpressions": self.when}


@dataclass
class PipelineRunOutcome:
    name: str
    pipeline: str
    status: str
    reason: str
    message: str = ""
    tasks: list[TaskRunOutcome] = field(default_factory=list)   # each with pipeline_task set
    skipped: list[SkippedTask] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    started: datetime | None = None
    finished: datetime | None = None
    run_dir: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == TRUE

    @property
    def masker(self) -> Masker:
        out = Masker()
        for t in self.tasks:
            out = out | t.masker
        return out

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": "PipelineRun", "name": self.name, "pipeline": self.pipeline,
             "condition": {"type": "Succeeded", "status": self.status, "reason": self.reason,
                           "message": self.message},
             "startTime": _iso(self.started), "completionTime": _iso(self.finished),
             "duration": _duration(self.started, self.finished),
             "tasks": [t.to_dict() for t in self.tasks],
             "skippedTasks": [s.to_dict() for s in self.skipped], "results": self.results}
        if self.run_dir:
            d["runDir"] = self.run_dir
        return self.masker.tree(d)


def replace(obj, **changes):
    """dataclasses.replace, re-exported so callers need one import."""
    return dataclasses.replace(obj, **changes)
