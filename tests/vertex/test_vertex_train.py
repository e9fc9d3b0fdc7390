"""vertex-train against the fake Vertex AI: find-or-create by label, every terminal state, cancel
on SIGTERM and at the deadline, guarded retries of the create, nothing done on bad input."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from interlock_steps.vertex import train
from tests.fakes.vertex import JobPlan
from tests.vertex.conftest import PARENT

UID = "6f1c2d3e-0000-4a1b-9c2d-1234567890ab"
BASE = ["--display-name", "churn-train", "--image-uri", "us-docker.pkg.dev/p/r/trainer:1",
        "--container-args", '["--epochs", "3"]', "--base-output-directory", "gs://bucket/runs/1",
        "--taskrun-uid", UID, "--labels", "team=ml"]


# the terminal states that fail the step, and what its error says (the task-level tests use it too)
TERMINAL_FAILURES = [
    ("JOB_STATE_FAILED", "failed: The replica workerpool0-0 exited with a non-zero status of 1."),
    ("JOB_STATE_CANCELLED", "was cancelled"),
    ("JOB_STATE_EXPIRED", "expired before it could run"),
    ("JOB_STATE_PARTIALLY_SUCCEEDED", "only partially succeeded"),
]


def creates(fake) -> list:
    return fake.calls_to("customJobs.create")


def existing_job(fake, plan: JobPlan, label: str = UID) -> str:
    """A job of this run that an earlier attempt created (through the fake's own handler)."""
    from tests.fakes.vertex.routes import Call, create_custom_job

    fake.state.job_plan = plan
    spec = {"displayName": "churn-train", "labels": {"interlock-run": label},
            "jobSpec": {"workerPoolSpecs": [{"replicaCount": "1"}],
                        "baseOutputDirectory": {"outputUriPrefix": "gs://bucket/runs/1"}}}
    project, location = PARENT.split("/")[1], PARENT.split("/")[3]
    with fake.state.lock:
        return create_custom_job(fake.state, Call({"project": project, "location": location}, {}, spec,
                                                  fake.state.clock()))["name"]


def test_creates_a_labelled_job_waits_and_reports(run_timed, timed_vertex):
    timed_vertex.state.job_plan = JobPlan(pending=30, running=600)
    run = run_timed(train, *BASE, deadline=3600)
    assert run.code == 0, run.log
    job = run.results["job"]
    assert job.startswith(f"{PARENT}/customJobs/")
    assert run.results["state"] == "JOB_STATE_SUCCEEDED"
    assert run.results["model-dir"] == "gs://bucket/runs/1/model"
    assert run.results["console-url"] == (f"https://console.cloud.google.com/ai/platform/locations/us-central1/"
                                          f"training/{job.rsplit('/', 1)[1]}?project=interlock-test")
    [create] = creates(timed_vertex)
    assert create.body["labels"] == {"team": "ml", "interlock-run": UID}
    pool = create.body["jobSpec"]["workerPoolSpecs"][0]
    assert pool["containerSpec"] == {"imageUri": "us-docker.pkg.dev/p/r/trainer:1", "args": ["--epochs", "3"]}
    assert pool["machineSpec"] == {"machineType": "n1-standard-4"} and pool["replicaCount"] == "1"
    # looked up by label before creating
    assert timed_vertex.methods()[:2] == ["customJobs.list", "customJobs.create"]
    assert timed_vertex.calls_to("customJobs.list")[0].query["filter"] == f'labels.interlock-run="{UID}"'
    states = [line.get("state") for line in run.lines if line.get("state")]
    assert states[:2] == ["JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]


def test_a_retried_step_resumes_the_running_job(run_timed, timed_vertex):
    name = existing_job(timed_vertex, JobPlan(pending=5, running=120))
    run = run_timed(train, *BASE, deadline=3600)
    assert run.code == 0, run.log
    assert run.results["job"] == name and run.results["state"] == "JOB_STATE_SUCCEEDED"
    assert creates(timed_vertex) == []
    assert run.results["model-dir"] == "gs://bucket/runs/1/model"   # from the job, not the params


def test_a_finished_job_is_reported_not_run_again(run_timed, timed_vertex, clock):
    name = existing_job(timed_vertex, JobPlan(pending=1, running=1))
    clock.advance(10)
    run = run_timed(train, *BASE)
    assert run.code == 0, run.log
    assert run.results == {**run.results, "job": name, "state": "JOB_STATE_SUCCEEDED"}
    assert timed_vertex.methods() == ["customJobs.list"]


def test_after_a_failed_attempt_a_retry_starts_a_new_job(run_timed, timed_vertex, clock):
    failed = existing_job(timed_vertex, JobPlan(pending=1, running=1, outcome="JOB_STATE_FAILED"))
    clock.advance(10)
    timed_vertex.state.job_plan = JobPlan(pending=1, running=5)
    run = run_timed(train, *BASE)
    assert run.code == 0, run.log
    assert run.results["job"] != failed and len(creates(timed_vertex)) == 1
    assert any("an earlier job of this run ended JOB_STATE_FAILED" in line["msg"] for line in run.lines)


@pytest.mark.parametrize(("outcome", "message"), TERMINAL_FAILURES)
def test_every_other_terminal_state_fails_with_its_own_message(run_timed, timed_vertex, outcome, message):
    timed_vertex.state.job_plan = JobPlan(pending=2, running=20, outcome=outcome)
    run = run_timed(train, *BASE)
    assert run.code == 1, run.log
    assert run.results["state"] == outcome and run.results["job"]
    assert message in run.error and run.results["job"] in run.error


def test_partial_success_can_be_accepted(run_timed, timed_vertex):
    timed_vertex.state.job_plan = JobPlan(pending=2, running=20, outcome="JOB_STATE_PARTIALLY_SUCCEEDED")
    run = run_timed(train, *BASE, "--accept-partial-success", "true")
    assert run.code == 0, run.log
    assert run.results["state"] == "JOB_STATE_PARTIALLY_SUCCEEDED"


def _sigterm_when_running(fake) -> threading.Thread:
    """Send this process SIGTERM once the fake has a running job (the step runs in the main thread)."""
    def watch() -> None:
        for _ in range(400):
            jobs = list(fake.state.jobs.values())
            if jobs and jobs[0].state(fake.state.clock()) == "JOB_STATE_RUNNING":
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.025)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_sigterm_cancels_the_job_before_the_step_exits(run_step, vertex):
    vertex.state.job_plan = JobPlan(pending=0.1, running=None)   # runs until stopped
    vertex.state.cancel_seconds = 0.2
    before = signal.getsignal(signal.SIGTERM)
    watcher = _sigterm_when_running(vertex)
    run = run_step(train, *BASE, "--poll-interval", "0.1")
    watcher.join(timeout=5)
    assert run.code == 1, run.log
    assert "stopped by SIGTERM: cancelled custom job" in run.error
    [cancel] = vertex.calls_to("customJobs.cancel")
    assert cancel.path.endswith(":cancel")
    assert run.results["state"] == "JOB_STATE_CANCELLED"
    assert signal.getsignal(signal.SIGTERM) is before     # the step put the handler back


def test_sigterm_leaves_the_job_running_when_told_to(run_step, vertex):
    vertex.state.job_plan = JobPlan(pending=0.1, running=None)
    watcher = _sigterm_when_running(vertex)
    run = run_step(train, *BASE, "--poll-interval", "0.1", "--cancel-on-stop", "false")
    watcher.join(timeout=5)
    assert run.code == 1, run.log
    assert "keeps running (cancel-on-stop is false)" in run.error
    assert vertex.calls_to("customJobs.cancel") == []
    assert run.results["state"] == "JOB_STATE_RUNNING"


def test_the_deadline_cancels_the_job_and_exits_with_the_deadline_code(run_timed, timed_vertex):
    timed_vertex.state.job_plan = JobPlan(pending=1, running=None)
    run = run_timed(train, *BASE, deadline=600)
    assert run.code == 3, run.log
    assert "reached while waiting for custom job" in run.error and "cancelled custom job" in run.error
    assert len(timed_vertex.calls_to("customJobs.cancel")) == 1
    assert run.results["state"] == "JOB_STATE_CANCELLED"


def test_a_lost_create_answer_does_not_create_a_second_job(run_step, vertex):
    vertex.state.job_plan = JobPlan(pending=0.05, running=0.1)
    vertex.faults.lose_answer("customJobs.create")
    run = run_step(train, *BASE)
    assert run.code == 0, run.log
    assert [c.status for c in creates(vertex)] == [503]          # it went through; the answer did not
    assert len(vertex.state.jobs) == 1
    assert vertex.methods()[:3] == ["customJobs.list", "customJobs.create", "customJobs.list"]


def test_rate_limited_create_is_retried_after_looking_again(run_step, vertex):
    vertex.state.job_plan = JobPlan(pending=0.05, running=0.1)
    vertex.faults.fail("customJobs.create", 429, times=2)
    run = run_step(train, *BASE)
    assert run.code == 0, run.log
    assert [c.status for c in creates(vertex)] == [429, 429, 200]
    assert len(vertex.calls_to("customJobs.list")) == 3   # before the create and before each retry


def test_a_quota_error_fails_after_the_retries_with_googles_message(run_step, vertex):
    vertex.faults.quota("customJobs.create", times=-1)
    run = run_step(train, *BASE, "--max-retries", "2")
    assert run.code == 1, run.log
    assert len(creates(vertex)) == 3
    assert "create custom job: HTTP 429 RESOURCE_EXHAUSTED: The following quota metrics exceed quota limits: " \
           "aiplatform.googleapis.com/custom_model_training_cpus" in run.error


def test_permission_denied_is_not_retried(run_step, vertex):
    vertex.faults.fail("customJobs.create", 403)
    run = run_step(train, *BASE)
    assert run.code == 1, run.log
    assert len(creates(vertex)) == 1
    assert "HTTP 403 PERMISSION_DENIED: Permission 'aiplatform.customJobs.create' denied" in run.error


def test_polls_are_retried_through_transient_errors(run_step, vertex):
    vertex.state.job_plan = JobPlan(pending=0.05, running=0.2)
    vertex.faults.fail("customJobs.get", 503, times=2, retry_after=0)
    run = run_step(train, *BASE)
    assert run.code == 0, run.log
    assert [c.status for c in vertex.calls_to("customJobs.get")][:3] == [503, 503, 200]


def test_dry_run_looks_up_and_changes_nothing(run_step, vertex):
    run = run_step(train, *BASE, "--dry-run", "true")
    assert run.code == 0, run.log
    assert vertex.methods() == ["customJobs.list"]
    planned = [line for line in run.lines if line.get("outcome") == "planned"]
    assert planned[0]["msg"] == "dry-run: would create custom job" and planned[0]["label"] == UID
    assert run.results == {"job": "", "state": "", "model-dir": "gs://bucket/runs/1/model", "console-url": ""}


def test_python_package_and_full_worker_pool_specs(run_step, vertex):
    vertex.state.job_plan = JobPlan(pending=0.05, running=0.05)
    package = ["--display-name", "pkg", "--python-package-uris", "gs://b/trainer-0.1.tar.gz", "--python-module",
               "trainer.task", "--executor-image-uri", "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest",
               "--base-output-directory", "gs://b/o", "--taskrun-uid", UID, "--machine-type", "n1-highmem-8",
               "--accelerator-type", "NVIDIA_TESLA_T4", "--accelerator-count", "2", "--replica-count", "2",
               "--job-timeout", "7200", "--service-account", "trainer@p.iam.gserviceaccount.com"]
    assert run_step(train, *package).code == 0
    body = creates(vertex)[-1].body
    pool = body["jobSpec"]["workerPoolSpecs"][0]
    assert pool["pythonPackageSpec"]["pythonModule"] == "trainer.task"
    assert pool["machineSpec"]["acceleratorCount"] == 2 and pool["replicaCount"] == "2"
    assert isinstance(pool["machineSpec"]["acceleratorType"], int)   # enums travel as numbers
    assert body["jobSpec"]["scheduling"] == {"timeout": "7200s"}
    assert body["jobSpec"]["serviceAccount"] == "trainer@p.iam.gserviceaccount.com"
    pools = [{"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1",
              "containerSpec": {"imageUri": "chief"}},
             {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "3",
              "containerSpec": {"imageUri": "worker"}}]
    full = ["--display-name", "multi", "--worker-pool-specs", json.dumps(pools), "--base-output-directory", "gs://b/o",
            "--run-label", "release-42"]
    assert run_step(train, *full).code == 0
    body = creates(vertex)[-1].body
    assert [p["containerSpec"]["imageUri"] for p in body["jobSpec"]["workerPoolSpecs"]] == ["chief", "worker"]
    assert body["labels"]["interlock-run"] == "release-42"


@pytest.mark.parametrize(("args", "message"), [
    (["--display-name", "x", "--base-output-directory", "gs://b/o", "--taskrun-uid", UID], "nothing to run"),
    ([*BASE, "--python-module", "m"], "not both"),
    ([*BASE[:-6], "--base-output-directory", "/local/dir", "--taskrun-uid", UID], "must be a gs:// URI"),
    ([*BASE, "--accelerator-type", "NVIDIA_TESLA_T4"], "go together"),
    ([*BASE, "--labels", "Team=ML"], "label key 'Team'"),
    ([*BASE, "--labels", "interlock-run=mine"], "set by the task itself"),
    ([*BASE, "--run-label", "Release 1.2"], "param 'run-label'"),
    ([*BASE[:2], *BASE[4:], "--worker-pool-specs", '[{"machineSpec": {"machineTyp": "n1"}}]'], "machineTyp"),
    ([*BASE, "--worker-pool-specs", "[]"], "either worker-pool-specs or image-uri"),
    ([*BASE, "--replica-count", "0"], "at least 1"),
])
def test_bad_input_fails_before_any_call(run_step, vertex, auth, args, message):
    run = run_step(train, *args)
    assert run.code == 2, run.log
    assert message in run.error
    assert vertex.calls == [] and auth.calls == []
