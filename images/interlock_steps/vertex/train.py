"""vertex-train: run a Vertex AI custom job to its end, safely retried and cancelled.

1. Check every param and build the CustomJob before any call.
2. List the jobs labelled with this run (`interlock-run` = run-label, the TaskRun's uid by default):
   one still running is resumed, one that finished well is reported again, otherwise a job is
   created (and looked for again before any retry of the create).
3. Wait with backoff (waiting.py) until a terminal state. On SIGTERM (Tekton stopping the
   pod) or at the step's deadline, cancel the job unless cancel-on-stop is false.
4. Results: job, state, model-dir (<baseOutputDirectory>/model, Vertex AI's AIP_MODEL_DIR),
   console-url. Any end other than SUCCEEDED (or PARTIALLY_SUCCEEDED when accepted) fails the
   step, with the job's own error message.
"""
from __future__ import annotations

from interlock_steps import runtime as rt

from . import jobs
from .client import CONNECTION_PARAMS, connect, console_url
from .stopping import Stopped, shielded, stop_signals
from .waiting import Backoff

# Seconds for the clean-up after SIGTERM or at the deadline (cancel, then watch the job SETTLE s):
# within Kubernetes' default grace period of 30 s, and kept free of the step's deadline.
CLEANUP = 20.0
SETTLE = 10.0

PARAMS = [
    *CONNECTION_PARAMS,
    *jobs.JOB_PARAMS,
    rt.param("run-label", default="", help="identifies the run: a retry with the same label resumes its job"),
    rt.param("taskrun-uid", default="", help="the TaskRun's uid, the default run-label"),
    rt.param("cancel-on-stop", rt.boolean, default=True, help="cancel the job on SIGTERM or at the deadline"),
    rt.param("accept-partial-success", rt.boolean, default=False, help="JOB_STATE_PARTIALLY_SUCCEEDED passes"),
    rt.param("poll-interval", rt.positive_seconds, default=5.0, help="first wait between polls, in seconds"),
]


def write_results(step: rt.Step, job: object | None, spec: dict, state: str) -> None:
    name = getattr(job, "name", "")
    step.results.write(**{"job": name, "state": state, "model-dir": jobs.model_dir(job if job else spec),
                          "console-url": console_url(name) if name else ""})


def main(step: rt.Step) -> None:
    p = step.params
    spec = jobs.build(p)
    label = jobs.run_label(p.run_label, p.taskrun_uid)
    vertex = connect(step)
    found = jobs.choose(jobs.find(vertex, label))
    for earlier in found.earlier:
        step.log.info(f"an earlier job of this run ended {jobs.state(earlier)}; starting a new one",
                      target=earlier.name)
    if step.dry_run:
        what = {"resume": "resume waiting on", "finished": "report", "create": "create"}[found.action]
        step.plan(f"{what} custom job", found.job.name if found.job else p.display_name, label=label)
        write_results(step, found.job, spec, jobs.state(found.job) if found.job else "")
        return
    job = found.job
    with stop_signals():
        try:
            if found.action == "create":
                job = jobs.create(vertex, spec, label)
                step.record("create custom job", job.name, label=label, console_url=console_url(job.name))
            else:
                step.log.info(f"{found.action}: custom job {jobs.state(job)}", target=job.name, label=label)
            margin = min(CLEANUP, step.policy.deadline / 10) if step.policy.deadline else CLEANUP
            job = jobs.wait(vertex, job, Backoff(initial=p.poll_interval), margin=margin)
        except (Stopped, rt.DeadlineExceeded) as stop:
            with shielded():
                stopped(step, vertex, job, label, spec, stop)
    write_results(step, job, spec, jobs.state(job))
    why = jobs.failure(job, p.accept_partial_success)
    if why:
        raise rt.TargetFailed(why, target=job.name, state=jobs.state(job))
    step.log.info(f"custom job {jobs.state(job)}", target=job.name, model_dir=jobs.model_dir(job))


def stopped(step: rt.Step, vertex, job, label: str, spec: dict, stop: BaseException) -> None:
    """Stopped by a signal or the deadline: cancel the job (unless told not to), write what is
    known, and fail with a message saying which."""
    reason = f"stopped by {stop.signal}" if isinstance(stop, Stopped) else str(stop)
    step.deadline = rt.Deadline(CLEANUP, clock=step.clock)   # the calls below get their own time
    if job is None:   # stopped during the create: it may have gone through
        again = jobs.choose(jobs.find(vertex, label))
        job = again.job if again.action == "resume" else None
    if job is not None and step.params.cancel_on_stop:
        job = jobs.cancel(vertex, job, SETTLE)
        outcome = f"cancelled custom job {job.name} (now {jobs.state(job)})"
    elif job is not None:
        job = vertex.call("get custom job", vertex.jobs.get_custom_job, name=job.name)
        outcome = f"custom job {job.name} keeps running (cancel-on-stop is false)"
    else:
        outcome = "no custom job was created"
    write_results(step, job, spec, jobs.state(job) if job is not None else "")
    error = rt.DeadlineExceeded if isinstance(stop, rt.DeadlineExceeded) else rt.TargetFailed
    raise error(f"{reason}: {outcome}", target=getattr(job, "name", ""))


if __name__ == "__main__":
    rt.run(main, task="vertex-train", step="train", params=PARAMS,
           description="Run a Vertex AI custom job to its end: resumed on retry, cancelled on stop.")
