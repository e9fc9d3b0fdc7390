"""Custom jobs: the spec from params, find-or-create by label, waiting, terminal states, cancel.

Idempotency: Vertex AI assigns job ids itself (customJobs.create takes no id), so a job is
found by its `interlock-run` label, whose value identifies the run (run-label, the TaskRun's uid
by default; a Tekton retry is the same TaskRun, with the same uid). Before creating, the step lists
the jobs with that label; after a create that failed in a way a retry could fix (429, 5xx, a
lost connection: the job may exist anyway), it lists them again before trying once more.

Terminal states (JobState in the v1 API): SUCCEEDED, FAILED, CANCELLED, EXPIRED and
PARTIALLY_SUCCEEDED; CANCELLING still moves (to CANCELLED, or FAILED/SUCCEEDED if it lost the
race).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from interlock_steps import runtime as rt

from . import gapic, labels
from .client import Vertex, VertexError
from .waiting import Backoff, wait_until

SUCCEEDED, FAILED, CANCELLED = "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"
EXPIRED, PARTIALLY_SUCCEEDED = "JOB_STATE_EXPIRED", "JOB_STATE_PARTIALLY_SUCCEEDED"
CANCELLING = "JOB_STATE_CANCELLING"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED, PARTIALLY_SUCCEEDED})
MODEL_SUBDIR = "model"   # Vertex AI sets AIP_MODEL_DIR to <baseOutputDirectory>/model

JOB_PARAMS = [
    rt.param("display-name", required=True, help="the custom job's display name"),
    rt.param("image-uri", default="", help="training container image (a custom container)"),
    rt.param("container-command", rt.string_list, default=[], help="the container's command (JSON array)"),
    rt.param("container-args", rt.string_list, default=[], help="the container's (or module's) args (JSON array)"),
    rt.param("python-package-uris", rt.string_list, default=[], help="gs:// URIs of a Python training package"),
    rt.param("python-module", default="", help="module to run from the Python package"),
    rt.param("executor-image-uri", default="", help="prebuilt container that runs the Python package"),
    rt.param("worker-pool-specs", rt.json_value, default=None,
             help="full workerPoolSpecs (JSON, REST field names); replaces the single-pool params"),
    rt.param("machine-type", default="n1-standard-4", help="machine type of the worker pool"),
    rt.param("accelerator-type", default="", help="e.g. NVIDIA_TESLA_T4; empty: none"),
    rt.param("accelerator-count", rt.integer, default=0, help="accelerators per replica"),
    rt.param("replica-count", rt.integer, default=1, help="replicas of the worker pool"),
    rt.param("base-output-directory", required=True, help="gs:// prefix for the job's output (AIP_MODEL_DIR is <it>/model)"),
    rt.param("service-account", default="", help="service account the job runs as; empty: Vertex AI's default"),
    rt.param("network", default="", help="VPC network to peer, projects/<number>/global/networks/<name>"),
    rt.param("labels", labels.parse, default={}, help="job labels: key=value pairs or a JSON object"),
    rt.param("job-timeout", rt.integer, default=0, help="seconds the job may run (scheduling.timeout); 0: Vertex's 7 days"),
    rt.param("restart-job-on-worker-restart", rt.boolean, default=False, help="restart all workers when one restarts"),
]


def build(p: Any) -> dict[str, Any]:
    """The CustomJob (REST JSON) the params describe; BadInput naming the param that is wrong."""
    single = any([p.image_uri, p.python_module, p.python_package_uris, p.executor_image_uri])
    if p.worker_pool_specs is not None and single:
        raise rt.BadInput("give either worker-pool-specs or image-uri / python-module (not both)",
                          param="worker-pool-specs")
    if p.worker_pool_specs is not None:
        if not isinstance(p.worker_pool_specs, list) or not p.worker_pool_specs:
            raise rt.BadInput("param 'worker-pool-specs' must be a non-empty JSON array of worker pool specs",
                              param="worker-pool-specs")
        pools = p.worker_pool_specs
    else:
        pools = [_single_pool(p)]
    if not p.base_output_directory.startswith("gs://"):
        raise rt.BadInput(f"param 'base-output-directory' must be a gs:// URI, got {p.base_output_directory!r}",
                          param="base-output-directory")
    if p.job_timeout < 0:
        raise rt.BadInput(f"param 'job-timeout' must be 0 or more seconds, got {p.job_timeout}", param="job-timeout")
    spec: dict[str, Any] = {"workerPoolSpecs": pools, "baseOutputDirectory": {"outputUriPrefix": p.base_output_directory}}
    if p.service_account:
        spec["serviceAccount"] = p.service_account
    if p.network:
        spec["network"] = p.network
    scheduling = {**({"timeout": f"{p.job_timeout}s"} if p.job_timeout else {}),
                  **({"restartJobOnWorkerRestart": True} if p.restart_job_on_worker_restart else {})}
    if scheduling:
        spec["scheduling"] = scheduling
    job = {"displayName": p.display_name, "jobSpec": spec, "labels": labels.user_labels(p.labels)}
    try:
        gapic.from_json("custom_job", "CustomJob", job)   # the API's own field names and types
    except ValueError as error:
        raise rt.BadInput(f"the custom job the params describe is not valid: {error}",
                          param="worker-pool-specs" if p.worker_pool_specs is not None else "display-name") from None
    return job


def _single_pool(p: Any) -> dict[str, Any]:
    if p.image_uri and (p.python_module or p.python_package_uris or p.executor_image_uri):
        raise rt.BadInput("give either image-uri (a custom container) or python-package-uris, python-module and "
                          "executor-image-uri (a Python package), not both", param="image-uri")
    if p.image_uri:
        task: dict[str, Any] = {"containerSpec": {"imageUri": p.image_uri, **({"command": p.container_command}
                                                                               if p.container_command else {}),
                                                  **({"args": p.container_args} if p.container_args else {})}}
    elif p.python_module and p.python_package_uris and p.executor_image_uri:
        task = {"pythonPackageSpec": {"executorImageUri": p.executor_image_uri, "packageUris": p.python_package_uris,
                                      "pythonModule": p.python_module,
                                      **({"args": p.container_args} if p.container_args else {})}}
    else:
        raise rt.BadInput("nothing to run: give image-uri, or python-package-uris with python-module and "
                          "executor-image-uri, or worker-pool-specs", param="image-uri")
    if p.replica_count < 1:
        raise rt.BadInput(f"param 'replica-count' must be at least 1, got {p.replica_count}", param="replica-count")
    if bool(p.accelerator_type) != (p.accelerator_count > 0):
        raise rt.BadInput("params 'accelerator-type' and 'accelerator-count' go together: give both or neither",
                          param="accelerator-count")
    machine: dict[str, Any] = {"machineType": p.machine_type}
    if p.accelerator_type:
        machine.update(acceleratorType=p.accelerator_type, acceleratorCount=p.accelerator_count)
    return {"machineSpec": machine, "replicaCount": str(p.replica_count), **task}


def run_label(given: str, taskrun_uid: str) -> str:
    """The `interlock-run` label value: run-label, or the TaskRun's uid."""
    value = given or taskrun_uid
    if not value:
        raise rt.BadInput("no run label: set run-label (the Task passes the TaskRun's uid as taskrun-uid)",
                          param="run-label")
    labels.check(labels.RUN, value, "run-label")
    return value


def state(job: Any) -> str:
    return job.state.name


def model_dir(job_or_spec: Any) -> str:
    prefix = (job_or_spec.job_spec.base_output_directory.output_uri_prefix if hasattr(job_or_spec, "job_spec")
              else job_or_spec["jobSpec"]["baseOutputDirectory"]["outputUriPrefix"])
    return f"{prefix.rstrip('/')}/{MODEL_SUBDIR}"


def find(vertex: Vertex, label: str) -> list[Any]:
    """The jobs labelled with this run, newest first."""
    def listing(**request: Any) -> list[Any]:
        return list(vertex.jobs.list_custom_jobs(**request))   # the pager fetches every page
    found = vertex.call("list custom jobs", listing,
                        request={"parent": vertex.parent, "filter": f'labels.{labels.RUN}="{label}"'})
    return sorted(found, key=lambda j: j.create_time, reverse=True)


@dataclass
class Found:
    """What the look-up decided: resume `job`, report it (already finished well), or create one."""

    job: Any | None
    action: str           # "resume", "finished" or "create"
    earlier: list[Any]    # jobs of this run that ended badly (a retry starts afresh)


def choose(found: list[Any]) -> Found:
    active = [j for j in found if state(j) not in TERMINAL and state(j) != CANCELLING]
    if active:
        return Found(active[0], "resume", [])
    done = [j for j in found if state(j) in (SUCCEEDED, PARTIALLY_SUCCEEDED)]
    if done:
        return Found(done[0], "finished", [])
    return Found(None, "create", found)


def create(vertex: Vertex, job: dict[str, Any], label: str) -> Any:
    """Create the job; after a failure a retry could fix, look for it before trying again."""
    attempts = 0

    def attempt() -> Any:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            again = choose(find(vertex, label))
            if again.action != "create":
                return again.job
        body = gapic.from_json("custom_job", "CustomJob", {**job, "labels": {**job["labels"], labels.RUN: label}})
        return vertex.call("create custom job", vertex.jobs.create_custom_job, retry=False,
                           parent=vertex.parent, custom_job=body)

    step = vertex.step
    retry = step.retrying(retry_on=lambda e: isinstance(e, VertexError) and e.retryable,
                          doing="creating the custom job again",
                          before_sleep=lambda s: step.log.warning("create custom job failed; retrying",
                                                                  error=str(s.outcome.exception())))
    return retry(attempt)


def wait(vertex: Vertex, job: Any, backoff: Backoff, margin: float) -> Any:
    """Poll the job until it is in a terminal state; logs each change of state."""
    step = vertex.step
    last = [state(job)]

    def poll() -> Any:
        current = vertex.call("get custom job", vertex.jobs.get_custom_job, name=job.name)
        if state(current) != last[0]:
            last[0] = state(current)
            step.log.info(f"custom job {last[0]}", target=job.name, state=last[0])
        return current

    return wait_until(poll, lambda j: state(j) in TERMINAL, current=job, backoff=backoff, clock=step.clock,
                      sleep=step.sleep, deadline=step.deadline, margin=margin, what=f"custom job {job.name}")


def cancel(vertex: Vertex, job: Any, settle: float) -> Any:
    """Ask Vertex AI to cancel the job, then watch it for up to `settle` seconds to report
    where it got to (CANCELLING becomes CANCELLED asynchronously)."""
    step = vertex.step
    try:
        vertex.call("cancel custom job", vertex.jobs.cancel_custom_job, name=job.name)
        step.record("cancel custom job", job.name)
    except VertexError as error:
        if error.reason != "FAILED_PRECONDITION":   # already finished: nothing to cancel
            raise
    ends = step.clock() + settle
    current = vertex.call("get custom job", vertex.jobs.get_custom_job, name=job.name)
    while state(current) not in TERMINAL and step.clock() < ends:
        step.sleep(min(1.0, max(0.0, ends - step.clock())))
        current = vertex.call("get custom job", vertex.jobs.get_custom_job, name=job.name)
    return current


def failure(job: Any, accept_partial: bool) -> str | None:
    """Why this terminal job fails the step, or None when it does not."""
    current = state(job)
    if current == SUCCEEDED or (current == PARTIALLY_SUCCEEDED and accept_partial):
        return None
    detail = f": {job.error.message}" if job.error.message else ""
    return {
        FAILED: f"custom job {job.name} failed{detail}",
        CANCELLED: f"custom job {job.name} was cancelled{detail}",
        EXPIRED: f"custom job {job.name} expired before it could run{detail}",
        PARTIALLY_SUCCEEDED: f"custom job {job.name} only partially succeeded{detail} "
                             "(set accept-partial-success to let that pass)",
    }.get(current, f"custom job {job.name} ended in state {current}{detail}")
