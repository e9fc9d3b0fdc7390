"""What Tekton v1.15's webhook refuses is refused before anything runs (exit 2, the flag or
field named); what it accepts in a run file is accepted. No containers: `--dry-run`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from interlock.cli import cli
from interlock.run import feature_flags
from interlock.run.errors import InvalidRun


def dump(tmp_path: Path, *docs: dict, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def interlock(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def taskrun(steps: list[dict], params: list | None = None, name: str = "tr", **task) -> dict:
    return {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": name},
            "spec": {**({"params": params} if params else {}),
                     "taskSpec": {"steps": steps, **task}}}


STEP = {"name": "s", "image": "local/x:1", "script": "true"}


ENUM = taskrun([STEP], params=[{"name": "m", "value": "a"}])
ENUM["spec"]["taskSpec"]["params"] = [{"name": "m", "enum": ["a", "b"]}]


@pytest.mark.parametrize("doc, flag", [
    (ENUM, "enable-param-enum=true"),
    (taskrun([{**STEP, "stdoutConfig": {"path": "/workspace/out"}}]), "enable-api-fields=alpha"),
    (taskrun([{**STEP, "script": "echo {} > $(step.artifacts.path)"}]), "enable-artifacts=true"),
])
def test_what_the_default_flags_disable_is_refused_naming_the_flag(tmp_path, doc, flag):
    code, out = interlock(dump(tmp_path, doc), "--dry-run")
    assert code == 2 and f"--feature-flags {flag}" in out
    assert interlock(dump(tmp_path, doc), "--dry-run", "--feature-flags", flag)[0] == 0


def test_artifact_references_need_the_flag_and_then_only_the_step_path_is_supported(tmp_path):
    task = {"name": "b", "taskSpec": {"params": [{"name": "p"}], "steps": [STEP]},
            "params": [{"name": "p", "value": "$(tasks.a.outputs.image)"}]}
    doc = {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "p"},
           "spec": {"pipelineSpec": {"tasks": [{"name": "a", "taskSpec": {"steps": [STEP]}},
                                               task]}}}
    code, out = interlock(dump(tmp_path, doc), "--dry-run")
    assert code == 2 and "tasks[1].params" in out and "--feature-flags enable-artifacts=true" in out
    code, out = interlock(dump(tmp_path, doc), "--dry-run", "--feature-flags", "enable-artifacts=true")
    assert code == 2 and "not supported locally: artifact references" in out


def test_stepactions_are_on_by_default_and_the_flag_turns_them_off(tmp_path):
    doc = taskrun([{"name": "s", "ref": {"name": "x"}}])
    code, out = interlock(dump(tmp_path, doc), "--dry-run", "--feature-flags",
                          "enable-step-actions=false")
    assert code == 2 and "--feature-flags enable-step-actions=true" in out


def test_feature_flags_are_checked():
    assert feature_flags.parse("enable-api-fields=ALPHA, max-result-size=8192") == \
        {"enable-api-fields": "alpha", "max-result-size": "8192"}
    # the one flag whose value is itself a comma-separated list
    assert feature_flags.parse("disable-inline-spec=taskrun,pipeline,enable-artifacts=true") == \
        {"disable-inline-spec": "taskrun,pipeline", "enable-artifacts": "true"}
    for bad in ("enable-api-feilds=alpha", "enable-api-fields=gamma", "max-result-size=0", "x",
                "disable-inline-spec=taskrun,stepaction", "enable-artifacts=true,pipeline"):
        with pytest.raises(InvalidRun, match="--feature-flags"):
            feature_flags.parse(bad)


@pytest.mark.parametrize("doc, fragment", [
    ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
     "not supported locally: Deployment (apps/v1) documents"),
    ({"apiVersion": "tekton.dev/v1alpha1", "kind": "Task", "metadata": {"name": "t"},
      "spec": {"steps": [STEP]}}, "not supported locally: tekton.dev/v1alpha1 Task"),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "!!"}},
     "data.k: is not valid base64"),
])
def test_documents_a_run_file_cannot_hold_are_refused(tmp_path, doc, fragment):
    code, out = interlock(dump(tmp_path, doc, taskrun([STEP])), "--dry-run")
    assert code == 2 and fragment in out


def test_an_invalid_run_anywhere_in_the_file_runs_nothing(tmp_path):
    bad = taskrun([{**STEP, "args": ["$(params.nope)"]}], name="bad")
    code, out = interlock(dump(tmp_path, taskrun([STEP], name="good"), bad), "--run-dir",
                          tmp_path / "runs")
    assert code == 2 and "$(params.nope) is not declared" in out
    assert not (tmp_path / "runs").exists()


def test_a_flag_stand_in_wins_over_a_document_of_the_same_name(tmp_path):
    folder = tmp_path / "creds"
    folder.mkdir()
    (folder / "from-flag").write_text("f")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
              "stringData": {"from-doc": "d"}}
    reads = lambda key: taskrun([{**STEP, "env": [  # noqa: E731
        {"name": "V", "valueFrom": {"secretKeyRef": {"name": "creds", "key": key}}}]}])
    assert interlock(dump(tmp_path, secret, reads("from-doc")), "--dry-run")[0] == 0
    assert interlock(dump(tmp_path, secret, reads("from-flag")), "--dry-run",
                     "--secret", f"creds={folder}")[0] == 0
    code, out = interlock(dump(tmp_path, secret, reads("from-doc")), "--dry-run",
                          "--secret", f"creds={folder}")
    assert code == 2 and "secret 'creds' has no key 'from-doc'" in out


STEPACTION = {"apiVersion": "tekton.dev/v1beta1", "kind": "StepAction", "metadata": {"name": "sa"},
              "spec": {"image": "local/x:1", "params": [{"name": "p"}],
                       "env": [{"name": "P", "value": "$(params.p)"}], "script": "echo $P"}}


@pytest.mark.parametrize("edit, step, fragment", [
    ({"script": "echo $(params.p)"}, {"params": [{"name": "p", "value": "v"}]},
     "param substitution in scripts is not allowed"),
    ({}, {"image": "local/y:1", "params": [{"name": "p", "value": "v"}]},
     "image cannot be used with ref"),
    ({}, {}, "the StepAction requires param 'p'"),
    ({"env": [{"name": "P", "value": "$(params.q)"}]}, {"params": [{"name": "p", "value": "v"}]},
     "$(params.q) is not a param of the StepAction"),
])
def test_stepactions_are_checked_as_tekton_checks_them(tmp_path, edit, step, fragment):
    action = {**STEPACTION, "spec": {**STEPACTION["spec"], **edit}}
    code, out = interlock(dump(tmp_path, action, taskrun([{"name": "s", "ref": {"name": "sa"},
                                                           **step}])), "--dry-run")
    assert code == 2 and fragment in out


def test_a_stepaction_from_a_file_and_from_the_catalog(tmp_path):
    action = dump(tmp_path, STEPACTION, name="sa.yaml")
    run = dump(tmp_path, taskrun([{"name": "s", "ref": {"name": "sa"},
                                   "params": [{"name": "p", "value": "v"}]}]))
    code, out = interlock(run, "--dry-run", "--stepaction", action)
    assert code == 0, out
    assert "echo $P" in out
    catalog = dump(tmp_path, taskrun([{"name": "s", "ref": {"name": "looker-validate"},
                                       "params": [{"name": "base-url", "value": "http://x"}]}]),
                   name="catalog.yaml")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "client_id").write_text("id")
    (creds / "client_secret").write_text("secret")
    code, out = interlock(catalog, "--dry-run", "--secret", f"looker-credentials={creds}")
    assert code == 0, out
    assert "interlock_steps.looker.validate" in out


@pytest.mark.parametrize("task, fragment", [
    ({"onError": "continue", "retries": 1}, 'cannot be set to "continue" when Retries'),
    ({"onError": "sometimes"}, 'must be either "continue" or "stopAndFail"'),
])
def test_pipeline_task_on_error_is_checked(tmp_path, task, fragment):
    pr = {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "p"},
          "spec": {"pipelineSpec": {"tasks": [{"name": "a", "taskSpec": {"steps": [STEP]}, **task}]}}}
    code, out = interlock(dump(tmp_path, pr), "--dry-run")
    assert code == 2 and fragment in out


def test_task_run_specs_name_a_pipeline_task(tmp_path):
    pr = {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "p"},
          "spec": {"taskRunSpecs": [{"pipelineTaskName": "nope", "timeout": "1m"}],
                   "pipelineSpec": {"tasks": [{"name": "a", "taskSpec": {"steps": [STEP]}}]}}}
    code, out = interlock(dump(tmp_path, pr), "--dry-run")
    assert code == 2 and "spec.taskRunSpecs[0].pipelineTaskName: 'nope' is not a task" in out


def test_v1beta1_resources_are_converted_as_tektons_webhook_converts_them(tmp_path):
    task = {"apiVersion": "tekton.dev/v1beta1", "kind": "Task", "metadata": {"name": "old"},
            "spec": {"params": [{"name": "who"}],
                     "steps": [{**STEP, "resources": {"limits": {"cpu": "1"}},
                                "args": ["$(params.who)"]}]}}
    pr = {"apiVersion": "tekton.dev/v1beta1", "kind": "PipelineRun", "metadata": {"name": "p"},
          "spec": {"serviceAccountName": "builder", "timeout": "5m",
                   "podTemplate": {"securityContext": {"runAsUser": 1000}},
                   "pipelineSpec": {"tasks": [{"name": "a", "taskRef": {"name": "old"},
                                               "params": [{"name": "who", "value": "x"}]}]}}}
    result = CliRunner().invoke(cli, ["run", str(dump(tmp_path, task, pr)), "--dry-run", "-o", "json"])
    assert result.exit_code == 0, result.output
    [a] = json.loads(result.stdout)["tasks"]
    assert a["plan"]["steps"][0]["args"] == ["x"] and a["plan"]["steps"][0]["user"] == "1000"
