"""Run one Tekton v1 TaskRun locally: each step in its own podman container, sharing the Tekton
volumes through host folders of a run folder.

Interface for the PipelineRun runner (first version; the implementation follows):

    run_taskrun(taskrun, options=RunOptions(...), log=None, params_override=None,
                context=None, cancel=None, run_dir=None) -> TaskRunOutcome

- `taskrun`: a TaskRun object (apiVersion/kind/metadata/spec) with spec.taskSpec, or spec.taskRef
  resolvable by interlock.run.resolve; spec.params, spec.workspaces, spec.timeout as in Tekton.
  A workspace binding may also be `{name: w, hostPath: {path: DIR}}` (an Interlock extension so
  that a PipelineRun shares one host folder between its tasks), besides emptyDir, secret,
  configMap, persistentVolumeClaim/volumeClaimTemplate (a folder of the run).
- `context`: extra context variables, full names without `$( )`, e.g.
  {"context.pipelineRun.name": "pr", "context.pipelineRun.uid": "…",
   "context.pipelineTask.retries": "2", "context.task.retry-count": "1"}
- `log(task, step, line)`: called for every output line; `task` is the pipelineTask name when
  context["interlock.pipelineTask"] is set, else the TaskRun name.
- `cancel`: set it to stop the TaskRun (its running container is removed); reason
  TaskRunCancelled.
- `run_dir`: folder to hold this TaskRun's run folder (default: options.run_dir or a temp dir).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Mapping

from interlock.run.options import RunOptions
from interlock.run.outcome import TaskRunOutcome

LogFn = Callable[[str, str, str], None]


def run_taskrun(taskrun: dict, *, options: RunOptions, log: LogFn | None = None,
                params_override: Mapping[str, object] | None = None,
                context: Mapping[str, object] | None = None,
                cancel: threading.Event | None = None,
                run_dir: Path | None = None) -> TaskRunOutcome:
    raise NotImplementedError("run_taskrun: implementation in progress")
