"""Fidelity to Tekton v1.15 on the kind of files people publish (issue 8): multi-document run
files, StepActions, the step environment Tekton builds, and propagation into embedded specs.
Each file in tests/run/taskruns|pipelineruns is our own YAML written from Tekton's docs and
source; the tests run it through the CLI, as a user does, and assert statuses, reasons, step
exit codes and result values."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from interlock.cli import cli
from run_support import TOOLS_ALIAS

pytestmark = pytest.mark.containers
HERE = Path(__file__).parent


@pytest.fixture
def interlock(tools_image, tmp_path):
    """interlock(file, *args) -> (exit code, [outcome, ...], stderr) of `interlock run -o json`."""
    def run(rel: str, *args: str):
        result = CliRunner().invoke(cli, ["run", str(HERE / rel), "-o", "json", "--run-dir",
                                          str(tmp_path / "runs"), "--image-map",
                                          f"{TOOLS_ALIAS}={tools_image}", *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        data = json.loads(result.stdout)
        return result.exit_code, data if isinstance(data, list) else [data], result.stderr
    return run


def steps(outcome: dict) -> list[tuple]:
    return [(s["name"], s["reason"], s["exitCode"]) for s in outcome["steps"]]


def test_a_multi_document_file_runs_every_run_in_order_with_its_secrets_and_configmaps(interlock):
    code, (first, second), err = interlock("taskruns/multi-document.yaml")
    assert code == 1  # the worst of the two runs
    assert "PersistentVolumeClaim cache has no effect locally" in err
    assert "ServiceAccount builder has no effect locally" in err
    assert (first["condition"]["status"], first["condition"]["reason"]) == ("True", "Succeeded")
    assert first["task"] == "read-config"  # the Task of the same file
    assert first["results"] == {
        "greeting": "hello tekton",          # configMap workspace, `items` renamed the key
        "token-length": "12",                # data is base64: "s3cr3t-token"
        "conf-files": "greeting.txt ",       # only the items asked for
        "projected": "12/debug/***"}         # projected secret + configMap; stringData masked
    assert "s3cr3t-token" not in json.dumps([first, second]) + err
    # generateName: the API server's 5 characters, seen by context and the outcome alike
    assert re.fullmatch(r"second-[a-z0-9]{5}", second["name"])
    assert second["results"]["names"] == f"{second['name']}|{second['name']}"
    assert (second["condition"]["reason"], steps(second)) == ("Failed", [("fail", "Error", 4)])


def test_stepactions_params_defaults_step_results_and_step_template(interlock):
    code, [out], err = interlock("taskruns/stepactions.yaml")
    assert code == 0, err
    # task param into the step's, default using another param, array, object merged with
    # the StepAction's default, stepTemplate env
    assert out["results"]["line"] == "hello tekton|x y|slow|info|template"
    # a step result, and an array step result expanded with [*], passed as params
    assert out["results"]["counted"] == "hello tekton|x y|slow|info|template:3:q"
    assert steps(out) == [("greet", "Completed", 0), ("produce", "Completed", 0),
                          ("count", "Completed", 0)]


def test_the_step_environment_tekton_builds(interlock):
    code, [out], err = interlock("taskruns/step-environment.yaml")
    assert code == 0, err
    assert out["name"] == "step.environment"
    assert out["results"] == {
        "exit-codes": "3-3",                 # /tekton/steps/0 and step-unnamed-0
        "other-run-folder": "ro",            # another step's /tekton/run/<i>
        "pwd": "/made/by/runtime",           # created as the runtime creates a missing cwd
        "home": "/home/nonroot",             # the image's HOME: Tekton sets none
        "names": "step.environment|step.environment",  # an embedded spec: the TaskRun's name
        "legacy": "legacy",                  # $(inputs.params.x)
        "unknown-context": "$(context.unknown.variable)",
        "own-mounts": "own",                 # own /workspace and /tekton/home win
        "entrypoint": "ran-by-cmd"}          # args only: the image's CMD runs them
    assert steps(out) == [("unnamed-0", "Continued", 3), ("inspect", "Completed", 0),
                          ("own-mounts", "Completed", 0), ("args-only", "Completed", 0)]


def test_propagation_on_error_task_run_specs_and_finally_results(interlock):
    code, (ref, embedded), err = interlock("pipelineruns/propagation.yaml")
    assert code == 0, err
    assert (ref["condition"]["status"], ref["condition"]["reason"]) == ("True", "Succeeded")
    assert ref["condition"]["message"] == \
        "Tasks Completed: 5 (Failed: 1 (Ignored: 1), Cancelled 0), Skipped: 0"
    # whole object result into an object param | run param over the default | the task's own
    # object key over the run's, the run's other key | result read in a step | workspace
    assert ref["results"] == {"summary": "u|c|from-run|task-url|run-commit|42|shared",
                              "closing": "closed:Failed:Failed"}  # $(tasks.status), .reason
    reasons = {t["pipelineTask"]: t["condition"]["reason"] for t in ref["tasks"]}
    assert reasons == {"produce": "Succeeded", "use": "Succeeded", "tolerated": "Failed",
                       "after-tolerated": "Succeeded",  # taskRunSpecs: 1m over the task's 1s
                       "close": "Succeeded"}
    # the pipeline task's param over the run's; a workspace only the run declares
    assert embedded["results"] == {"out": "task-msg|true"}


def test_a_taskrun_retries_a_failed_attempt(interlock):
    code, [out], err = interlock("taskruns/taskrun-retries.yaml")
    assert code == 0, err
    assert (out["retryCount"], out["results"]) == (1, {"attempt": "1"})
    assert "retry 1 of 2" in err
