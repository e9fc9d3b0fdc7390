"""The Vertex AI Tasks as users run them: the YAML, the vertex image and `interlock run`, against the
fake Vertex AI and the fake token services on loopback (--network host). Credentials the two
keyless ways: a Workload Identity Federation workspace, and the metadata server (GKE Workload
Identity) through podTemplate env, as a pod would have them."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.google_auth import AuthConfig, FakeGoogleAuth
from tests.fakes.vertex import FakeVertex, JobPlan, Predictor, reference_spec
from tests.tasks.conftest import TaskRunResult, interlock_run
from tests.vertex.test_vertex_train import TERMINAL_FAILURES

pytestmark = pytest.mark.containers

PROJECT = "interlock-test"
MOUNT = "/workspace/gcp-credentials"      # where Tekton mounts the workspace (no mountPath)
TRAIN = {"display-name": "churn-train", "image-uri": "us-docker.pkg.dev/p/r/trainer:1",
         "base-output-directory": "gs://bucket/runs/1"}


@pytest.fixture
def auth() -> Iterator[FakeGoogleAuth]:
    with FakeGoogleAuth() as fake:
        yield fake


@pytest.fixture
def vertex() -> Iterator[FakeVertex]:
    with FakeVertex(spec=reference_spec()) as fake:
        fake.state.job_plan = JobPlan(pending=0.2, running=0.5)
        yield fake
    assert fake.request_violations == [] and fake.spec_violations == []
    assert not any(c.carries_key for c in fake.calls)


@pytest.fixture
def wif(tmp_path: Path, auth: FakeGoogleAuth) -> Path:
    """The gcp-credentials workspace: a credential config naming the token at its mount path."""
    folder = tmp_path / "gcp-credentials"
    folder.mkdir(mode=0o755)
    (folder / "token").write_text(auth.subject_token())
    (folder / "credential-config.json").write_text(json.dumps(auth.external_account_config(f"{MOUNT}/token")))
    for path in (folder, *folder.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)   # readable by the step's uid 65532
    return folder


def taskrun(task: str, vertex: FakeVertex, params: dict[str, str], **spec: object) -> dict:
    values = {"project": PROJECT, "api-endpoint": vertex.url, "poll-interval": "0.2", **params}
    return {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": f"{task}-test"},
            "spec": {"taskRef": {"name": task}, "params": [{"name": k, "value": v} for k, v in values.items()],
                     **spec}}


@pytest.fixture
def run_vertex(tmp_path: Path, vertex_image: str, wif: Path):
    """run_vertex(document, workspaces={name: folder}, credentials=True) -> TaskRunResult."""
    def run(document: dict, *, workspaces: dict[str, Path] | None = None, credentials: bool = True) -> TaskRunResult:
        return interlock_run(tmp_path, document, images={"vertex": vertex_image},
                             workspaces={**({"gcp-credentials": wif} if credentials else {}), **(workspaces or {})})
    return run


def test_train_with_workload_identity_federation(run_vertex, vertex, auth):
    run = run_vertex(taskrun("vertex-train", vertex, {**TRAIN, "labels": "team=ml"}))
    assert run.code == 0, run.stderr
    assert run.results["state"] == "JOB_STATE_SUCCEEDED"
    assert run.results["model-dir"] == "gs://bucket/runs/1/model"
    job = vertex.state.jobs[run.results["job"]]
    uid = job.spec["labels"]["interlock-run"]
    assert len(uid) == 36 and job.spec["labels"]["team"] == "ml"     # the TaskRun's uid
    assert {c.principal for c in vertex.calls} == {
        "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/tekton/subject/"
        "system:serviceaccount:ci:tekton-steps"}
    assert [c.service for c in auth.calls] == ["sts"] and not any(c.carries_key for c in auth.calls)


def test_train_with_gke_workload_identity(run_vertex, vertex, auth):
    env = [{"name": k, "value": v} for k, v in auth.metadata_env().items()]
    run = run_vertex(taskrun("vertex-train", vertex, TRAIN, podTemplate={"env": env}), credentials=False)
    assert run.code == 0, run.stderr
    assert {c.principal for c in vertex.calls} == {AuthConfig.metadata_account}
    assert {c.service for c in auth.calls} == {"metadata"}


def test_a_taskrun_timeout_cancels_the_job(run_vertex, vertex):
    vertex.state.job_plan = JobPlan(pending=0.2, running=None)       # would run forever
    vertex.state.cancel_seconds = 0.5
    run = run_vertex(taskrun("vertex-train", vertex, TRAIN, timeout="12s"))
    assert run.code == 1
    assert run.condition["reason"] == "TaskRunTimeout"
    [job] = vertex.state.jobs.values()
    assert [c.method for c in vertex.calls].count("customJobs.cancel") == 1
    assert job.state(vertex.state.clock()) == "JOB_STATE_CANCELLED"
    assert "stopped by SIGTERM: cancelled custom job" in run.stderr


def test_a_retried_taskrun_resumes_its_job(run_vertex, vertex, tmp_path):
    vertex.state.job_plan = JobPlan(pending=0.2, running=2)
    vertex.faults.fail("customJobs.get", 403)      # the first attempt fails after creating the job
    pipeline = {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "train-retried"},
                "spec": {"pipelineSpec": {"workspaces": [{"name": "gcp-credentials"}], "tasks": [{
                    "name": "train", "retries": 1, "taskRef": {"name": "vertex-train"},
                    "workspaces": [{"name": "gcp-credentials", "workspace": "gcp-credentials"}],
                    "params": taskrun("vertex-train", vertex, TRAIN)["spec"]["params"]}]}}}
    run = run_vertex(pipeline)                     # -w binds the pipeline's gcp-credentials
    assert run.code == 0, run.stderr
    [train] = run.outcome["tasks"]
    assert train["retryCount"] == 1 and train["results"]["state"] == "JOB_STATE_SUCCEEDED"
    assert len(vertex.calls_to("customJobs.create")) == 1 and len(vertex.state.jobs) == 1
    filters = {c.query["filter"] for c in vertex.calls_to("customJobs.list")}
    assert len(vertex.calls_to("customJobs.list")) == 2 and len(filters) == 1   # the same uid both times


def test_every_other_terminal_state_fails_its_taskrun(run_vertex, vertex):
    """One PipelineRun, a task per terminal state (the fake plans each job by its display name)."""
    tasks = []
    for outcome, _ in TERMINAL_FAILURES:
        name = outcome.removeprefix("JOB_STATE_").lower().replace("_", "-")
        vertex.state.job_plans[name] = JobPlan(pending=0.2, running=0.5, outcome=outcome)
        tasks.append({"name": name, "taskRef": {"name": "vertex-train"},
                      "workspaces": [{"name": "gcp-credentials", "workspace": "gcp-credentials"}],
                      "params": taskrun("vertex-train", vertex, {**TRAIN, "display-name": name})["spec"]["params"]})
    run = run_vertex({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "terminal-states"},
                      "spec": {"pipelineSpec": {"workspaces": [{"name": "gcp-credentials"}], "tasks": tasks}}})
    assert run.code == 1
    outcomes = {t["pipelineTask"]: t for t in run.outcome["tasks"]}
    for (outcome, message), task in zip(TERMINAL_FAILURES, tasks):
        assert outcomes[task["name"]]["condition"]["reason"] == "Failed"
        assert outcomes[task["name"]]["results"]["state"] == outcome
        assert message in run.stderr


def test_train_dry_run_creates_nothing(run_vertex, vertex):
    run = run_vertex(taskrun("vertex-train", vertex, {**TRAIN, "dry-run": "true"}))
    assert run.code == 0, run.stderr
    assert vertex.methods() == ["customJobs.list"] and run.results["job"] == ""


def test_deploy_then_verify_then_roll_back(run_vertex, vertex, tmp_path):
    vertex.state.operation_plans["upload"].seconds = 0.3
    vertex.state.operation_plans["deploy"].seconds = 0.5
    for artifact in ("gs://bucket/runs/1/model", "gs://bucket/runs/2/model"):
        vertex.state.predictors[artifact] = Predictor(scale=2.0, bias=1.0)
    base = {"model-display-name": "churn", "serving-image-uri": "serve:1", "endpoint-display-name": "churn"}
    first = run_vertex(taskrun("vertex-deploy", vertex, {**base, "artifact-uri": "gs://bucket/runs/1/model"}))
    assert first.code == 0, first.stderr
    golden = tmp_path / "golden"
    golden.mkdir(mode=0o755)
    (golden / "golden.json").write_text(json.dumps({"instances": [[1, 2], [3]], "predictions": [7, 7]}))
    (golden / "golden.json").chmod(0o644)
    report = tmp_path / "report"
    report.mkdir()
    report.chmod(0o777)
    verified = run_vertex(taskrun("vertex-verify", vertex, {"endpoint": first.results["endpoint"], "latency-calls": "3"}),
                          workspaces={"golden": golden, "report": report})
    assert verified.code == 0, verified.stderr
    assert verified.results["passed"] == "true" and verified.results["mismatches"] == "0"
    assert len(json.loads((report / "vertex-verify.json").read_text())["calls"]) == 4

    vertex.state.predictors["gs://bucket/runs/2/model"].bias = 5.0            # the new version is wrong
    second = run_vertex(taskrun("vertex-deploy", vertex, {**base, "artifact-uri": "gs://bucket/runs/2/model",
                                                          "parent-model": first.results["model"],
                                                          "traffic-percent": "100"}))
    assert second.code == 0, second.stderr
    assert json.loads(second.results["previous-traffic"]) == {first.results["deployed-model-id"]: 100}
    failed = run_vertex(taskrun("vertex-verify", vertex, {
        "endpoint": second.results["endpoint"], "latency-calls": "0", "on-failure": "undeploy",
        "previous-traffic": second.results["previous-traffic"],
        "deployed-model-id": second.results["deployed-model-id"]}), workspaces={"golden": golden})
    assert failed.code == 1
    assert failed.results["rolled-back"] == "undeployed" and failed.results["passed"] == "false"
    endpoint = vertex.state.endpoints[second.results["endpoint"]]
    assert endpoint.traffic == {first.results["deployed-model-id"]: 100}
    assert second.results["deployed-model-id"] not in endpoint.deployed
    # a finally's vertex-rollback after verify rolled back: finds the endpoint as recorded
    again = run_vertex(taskrun("vertex-rollback", vertex, {
        "endpoint": second.results["endpoint"], "previous-traffic": second.results["previous-traffic"],
        "deployed-model-id": second.results["deployed-model-id"]}))
    assert again.code == 0, again.stderr
    assert again.results == {"restored-traffic": second.results["previous-traffic"], "rolled-back": "none"}


def test_the_image_holds_aiplatform_v1_and_not_the_high_level_sdk(vertex_image):
    from interlock import podman

    probe = ("import importlib.util as u, json\n"
             "import google.cloud.aiplatform_v1 as whole\n"        # the whole package still imports
             "import interlock_steps.vertex.train, interlock_steps.vertex.deploy, interlock_steps.vertex.verify\n"
             "import interlock_steps.vertex.rollback\n"
             "from interlock_steps.vertex import gapic\n"
             "[gapic.client_class(s) for s in gapic.SERVICES]\n"
             "print(json.dumps({'whole': hasattr(whole, 'DatasetServiceClient'),\n"
             "  'absent': [m for m in ('google.cloud.aiplatform', 'vertexai', 'google.cloud.aiplatform_v1beta1',\n"
             "             'numpy', 'shapely', 'pydantic', 'google.cloud.bigquery', 'google.genai')\n"
             "             if u.find_spec(m.split('.')[0]) is None or u.find_spec(m) is None]}))")
    proc = podman.podman("run", "--rm", "--pull=never", "--network", "none", "--entrypoint", "python3",
                         vertex_image, "-c", probe, check=False)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["whole"] is True
    assert found["absent"] == ["google.cloud.aiplatform", "vertexai", "google.cloud.aiplatform_v1beta1", "numpy",
                               "shapely", "pydantic", "google.cloud.bigquery", "google.genai"]


def test_the_vertex_image_cold_start_reaches_the_api(vertex_image):
    from interlock.images.cold_start import cold_start

    seconds = cold_start("vertex", vertex_image)
    assert seconds is not None and 0 < seconds < 60
