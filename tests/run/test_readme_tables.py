"""scripts/interlock/run/README.md says what `interlock run` supports and refuses; this test
holds the README to the code: every row of "Not supported" is triggered and refused (exit 2,
`not supported locally`), and every conformance file of "Conformance files" exists and is run by
a test. A row added without a trigger, or a trigger left without its row, fails."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from interlock.cli import cli
from interlock.paths import ROOT

README = ROOT / "scripts" / "interlock" / "run" / "README.md"
STEP = {"name": "s", "image": "local/x:1", "script": "true"}


def taskrun(steps=None, **spec) -> dict:
    task = spec.pop("task", {})
    return {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "t"},
            "spec": {"taskSpec": {"steps": steps or [STEP], **task}, **spec}}


def pipelinerun(task: dict | None = None, **spec) -> dict:
    t = {"name": "a", "taskSpec": {"steps": [STEP]}, **(task or {})}
    return {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "p"},
            "spec": {"pipelineSpec": {"tasks": [t]}, **spec}}


def step(**fields) -> list[dict]:
    return [{**STEP, **fields}]


# first cell of each "Not supported" row -> (documents, extra CLI args) that trigger it
TRIGGERS: dict[str, tuple[list[dict], list[str]]] = {
    "API versions of Tasks, Pipelines and runs other than `tekton.dev/v1` and "
    "`tekton.dev/v1beta1` (converted to v1 as Tekton's conversion webhook converts it)":
        ([{**taskrun(), "apiVersion": "tekton.dev/v1alpha1"}], []),
    "PipelineResources (`resources` of a v1beta1 Task, run or pipeline task; removed from "
    "Tekton v1)":
        ([{**taskrun(), "apiVersion": "tekton.dev/v1beta1",
           "spec": {**taskrun()["spec"], "resources": {"inputs": [{"name": "src"}]}}}], []),
    "documents other than Tekton's, Secret, ConfigMap and the no-op kinds above":
        ([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}, taskrun()], []),
    "step `when` expressions, `debug`, `volumeDevices`, `stdin`/`tty`":
        ([taskrun(step(when=[{"input": "a", "operator": "in", "values": ["a"]}]))], []),
    "`privileged` steps and sidecars":
        ([taskrun(task={"sidecars": [{**STEP, "securityContext": {"privileged": True}}]})], []),
    "TaskRun `stepSpecs`/`sidecarSpecs` overrides, `status` (pending/cancel), `managedBy`":
        ([taskrun(stepSpecs=[{"name": "s", "computeResources": {}}])], []),
    "`valueFrom.fieldRef` / `resourceFieldRef`":
        ([taskrun(step(env=[{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]))], []),
    "a multi-line or 60 KB+ env value in a variable named like one podman reads itself (`PATH`, "
    "`HOME`, `TMPDIR`, `LD_*`, `XDG_*`, `CONTAINERS_*`, …)":
        ([taskrun(step(env=[{"name": "PATH", "value": "a\nb"}]))], []),
    "`capabilities.add` beyond the Pod Security baseline (`SYS_ADMIN`, `ALL`, …)":
        ([taskrun(step(securityContext={"capabilities": {"add": ["SYS_ADMIN"]}}))], []),
    "`hostPath` volumes":
        ([taskrun(task={"volumes": [{"name": "h", "hostPath": {"path": "/"}}]})], []),
    "volume types other than emptyDir, secret, configMap and projected; workspace bindings "
    "`csi`; projected sources other than secret and configMap (downwardAPI, "
    "serviceAccountToken, …)":
        ([taskrun(task={"volumes": [{"name": "p", "projected": {
            "sources": [{"serviceAccountToken": {"path": "t"}}]}}]})], []),
    "custom tasks (a `taskRef`/`taskSpec` with `apiVersion`, or another `kind`)":
        ([{**taskrun(), "spec": {"taskRef": {"apiVersion": "example.dev/v1", "kind": "Wait",
                                             "name": "w"}}}], []),
    "resolvers other than hub, git, cluster and bundles (e.g. http)":
        ([{**taskrun(), "spec": {"taskRef": {"resolver": "http", "params": [
            {"name": "url", "value": "https://example.test/t.yaml"}]}}}], []),
    "`podTemplate` fields other than `env`, `securityContext`, `volumes` and scheduling-only fields":
        ([taskrun(podTemplate={"hostNetwork": True})], []),
    "CEL `when` expressions (with `enable-cel-in-whenexpression: true`; without it, Tekton's "
    "flag error)":
        ([pipelinerun({"when": [{"cel": "'a' == 'a'"}]})],
         ["--feature-flags", "enable-cel-in-whenexpression=true"]),
    "artifact references other than `$(step.artifacts.path)` (`$(steps.<s>.outputs.<a>)`, "
    "`$(tasks.<t>.inputs.<a>)`, … with `enable-artifacts: true`; without it, Tekton's flag error)":
        ([taskrun(step(args=["$(steps.s.outputs.image)"]))],
         ["--feature-flags", "enable-artifacts=true"]),
    "Pipelines in Pipelines (`pipelineRef`/`pipelineSpec` in a pipeline task)":
        ([pipelinerun({"taskSpec": None, "pipelineRef": {"name": "other"}})], []),
    "a PipelineRun's `spec.status` (pending, cancelled)":
        ([pipelinerun(status="PipelineRunPending")], []),
}


def table(section: str) -> list[list[str]]:
    text = README.read_text(encoding="utf-8").split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    return [[c.strip() for c in row.strip("|").split(" | ")] for row in rows[1:]]


def test_every_refused_row_has_a_trigger_and_every_trigger_a_row():
    rows = [r[0] for r in table("Not supported")]
    assert sorted(rows) == sorted(TRIGGERS)


@pytest.mark.parametrize("row", sorted(TRIGGERS))
def test_each_refused_row_is_refused_up_front(tmp_path, row):
    docs, args = TRIGGERS[row]
    for d in docs:  # `None` marks a field a trigger takes out
        for t in (d.get("spec", {}).get("pipelineSpec") or {}).get("tasks") or []:
            if t.get("taskSpec", {}) is None:
                del t["taskSpec"]
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    result = CliRunner().invoke(cli, ["run", str(path), "--dry-run", *args])
    assert result.exit_code == 2, result.output
    assert "not supported locally" in result.output, result.output


def test_every_conformance_file_exists_and_is_run_by_a_test():
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests" / "run").glob("test_*.py"))
    files = [f for row in table("Conformance files") for f in re.findall(r"`([^`]+\.yaml)`", row[1])]
    assert len(files) > 20
    for f in files:
        path = ROOT / f
        assert path.is_file(), f
        stem, rel = path.stem, path.relative_to(ROOT / "tests" / "run").as_posix()
        assert f'"{stem}"' in tests or rel in tests, f"{f} is not run by a test in tests/run"
