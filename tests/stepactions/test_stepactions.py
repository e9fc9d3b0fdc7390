"""StepActions generated from the Tasks: in sync, equivalent to the Task's step, drift caught.

Running a StepAction through `interlock run` needs the runner's StepAction support (issue #8):
that test belongs with it, not here."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from interlock import catalog, paths
from interlock.stepactions import StepActionError, generate, main_step, stepactions

TASKS = [r for r in catalog.resources() if r.kind == "Task"]


def test_the_committed_stepactions_are_in_sync():
    result = CliRunner().invoke(stepactions, ["--check"])
    assert result.exit_code == 0, result.output
    assert f"({len(TASKS)} StepAction(s))" in result.output


def _inline(step_action: dict, given: dict[str, str]) -> dict:
    """What Tekton runs for `steps: [{ref: {name: <sa>}, params: given}]`: the StepAction's fields
    with $(params.x) replaced by the step's value or the StepAction's default
    (tektoncd/pipeline pkg/reconciler/taskrun/resources: applyStepActionParameters)."""
    spec = step_action["spec"]
    values = {p["name"]: p.get("default") for p in spec["params"]} | given
    missing = [name for name, value in values.items() if value is None]
    assert not missing, f"required StepAction params not passed: {missing}"

    def sub(value):
        if isinstance(value, dict):
            return {k: sub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v) for v in value]
        if isinstance(value, str):
            return re.sub(r"\$\(params\.([A-Za-z0-9_-]+)\)", lambda m: values[m.group(1)], value)
        return value
    return {k: sub(v) for k, v in spec.items() if k in ("image", "command", "args", "script", "env", "securityContext")}


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_a_task_using_the_stepaction_runs_the_same_step(task):
    sa = yaml.safe_load((paths.ROOT / "stepactions" / task.name / task.version / f"{task.name}.yaml").read_text())
    assert sa["apiVersion"] == "tekton.dev/v1beta1" and sa["kind"] == "StepAction"
    spec = task.doc["spec"]
    # the Task passes its own params and workspaces through, as the StepAction's README shows
    given = {p["name"]: f"$(params.{p['name']})" for p in spec["params"]}
    given |= {f"{w['name']}-path": f"$(workspaces.{w['name']}.path)" for w in spec.get("workspaces") or []}
    inlined = _inline(sa, given)

    step = main_step(task)
    expected = yaml.safe_load(yaml.safe_dump(
        {k: step[k] for k in ("image", "command", "args", "script", "env") if k in step}
        | {"securityContext": {**spec["stepTemplate"]["securityContext"], **step.get("securityContext", {})}}
    ).replace("$(results.", "$(step.results."))
    assert inlined == expected
    # every Task result is a step result the Task can map back
    assert [r["name"] for r in sa["spec"]["results"]] == [r["name"] for r in spec["results"]]


def _task(tmp_path: Path, steps: list[dict], annotations: dict | None = None) -> catalog.Resource:
    folder = tmp_path / "tasks" / "t" / "0.1"
    folder.mkdir(parents=True)
    doc = {"apiVersion": "tekton.dev/v1", "kind": "Task",
           "metadata": {"name": "t", "annotations": annotations or {}}, "spec": {"steps": steps}}
    (folder / "t.yaml").write_text(yaml.safe_dump(doc))
    return catalog.Resource("Task", "t", "0.1", folder)


def test_the_main_step_must_be_unambiguous(tmp_path):
    image = "localhost/interlock/looker@sha256:" + "a" * 64
    steps = [{"name": "prepare", "image": "localhost/interlock/tools:0.1.0", "script": "true"},
             {"name": "main", "image": image, "command": ["python3"]}]
    with pytest.raises(StepActionError, match="2 steps running an Interlock image; name the main step "
                                              "with the annotation interlock.dev/main-step"):
        main_step(_task(tmp_path / "a", steps))
    chosen = _task(tmp_path / "b", steps, {"interlock.dev/main-step": "main"})
    assert generate(chosen)["spec"]["image"] == image
    assert "interlock.dev/main-step" not in generate(chosen)["metadata"]["annotations"]


def test_drift_is_caught_and_regenerated(interlock_in, catalog_copy):
    interlock_in("stepactions", "--check")
    task = catalog_copy / "tasks/looker-validate/0.1/looker-validate.yaml"
    task.write_text(task.read_text().replace("Looker API base URL", "The Looker API base URL", 1))
    drift = interlock_in("stepactions", "--check", check=False)
    assert drift.returncode == 1
    assert "error: stepactions/looker-validate/0.1/looker-validate.yaml differs from its Task" in drift.stderr
    interlock_in("stepactions")
    interlock_in("stepactions", "--check")
    # a StepAction whose Task is gone is removed, not left to rot
    for path in (catalog_copy / "tasks/looker-validate").rglob("*"):
        if path.is_file():
            path.unlink()
    stale = interlock_in("stepactions", "--check", check=False)
    assert "stepactions/looker-validate/0.1/looker-validate.yaml has no Task any more" in stale.stderr
    interlock_in("stepactions")
    assert not (catalog_copy / "stepactions/looker-validate").exists()
