"""@ibm/tekton-lint as a second opinion: its findings in our format, and a clear warning
(not a failure) when it is not installed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from interlock.lint import tekton_lint
from interlock.lint.command import lint

FIXTURES = Path(__file__).parent / "fixtures"
installed = pytest.mark.skipif(not tekton_lint.BINARY.exists(),
                               reason=f"tekton-lint not installed at {tekton_lint.BINARY}; run scripts/setup.sh")


def _findings(*args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(lint, ["--format", "json", *args])
    return result.exit_code, json.loads(result.output)["findings"]


@installed
def test_tekton_lint_finding_is_reported_in_our_format():
    folder = FIXTURES / "tekton-lint"
    code, findings = _findings("--root", str(folder), str(folder))
    assert code == 1
    assert [(f["rule"], f["file"], f["line"], f["path"], f["severity"]) for f in findings] == [
        ("tekton-lint", "greet.yaml", 18, "spec.tasks[0].params[1]", "error")]
    assert "(no-extra-param)" in findings[0]["message"]
    # without the second opinion, our own rules accept the same files: the finding is its own
    assert _findings("--no-tekton-lint", "--root", str(folder), str(folder)) == (0, [])


@installed
def test_tekton_lint_accepts_the_clean_fixture_with_its_samples():
    assert _findings("--root", str(FIXTURES / "clean")) == (0, [])


def test_missing_tekton_lint_is_one_warning(monkeypatch, tmp_path):
    monkeypatch.setattr(tekton_lint, "BINARY", tmp_path / "no-such-tekton-lint")
    code, findings = _findings("--root", str(FIXTURES / "clean"))
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in findings] == [("tekton-lint", "warning")]
    assert "not installed" in findings[0]["message"]


RESOLVER_PIPELINE = """apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: remote
spec:
  description: Runs a catalog Task fetched by the git resolver.
  tasks:
    - name: refresh
      taskRef:
        resolver: git
        params:
          - name: url
            value: https://example.invalid/catalog.git
          - name: pathInRepo
            value: tasks/hello/0.1/hello.yaml
"""


@installed
def test_resolver_refs_are_not_reported_as_missing_tasks(tmp_path):
    """tekton-lint cannot follow resolvers (IBM/tekton-lint#118) and crashes after printing
    its report; neither its 'task undefined' error nor its crash may reach our findings."""
    pipeline = tmp_path / "remote.yaml"
    pipeline.write_text(RESOLVER_PIPELINE, encoding="utf-8")
    raw = tekton_lint.subprocess.run(
        [str(tekton_lint.BINARY), "--format", "json", str(pipeline)], capture_output=True, text=True, cwd=tmp_path)
    assert "references task 'undefined'" in raw.stdout  # the upstream behaviour this works around
    assert _findings("--root", str(tmp_path), str(pipeline)) == (0, [])


SAMPLE = FIXTURES / "clean" / "tasks" / "hello" / "0.1" / "samples" / "run.yaml"


@installed
def test_tekton_lint_fails_on_a_lone_taskrun_so_it_is_not_given_one(tmp_path):
    # the upstream behaviour checks_any works around: exit 1 and no report (its one line of
    # explanation comes through an asynchronous logger and is sometimes lost)
    raw = tekton_lint.subprocess.run([str(tekton_lint.BINARY), "--format", "json", str(SAMPLE)],
                                     capture_output=True, text=True, cwd=tmp_path)
    assert raw.returncode == 1 and tekton_lint._json_line(raw.stdout) is None
    assert not tekton_lint.checks_any([{"kind": "TaskRun", "metadata": {"name": "run"}}])
    assert not tekton_lint.checks_any([{"kind": "Task", "metadata": {}}, "not a mapping"])  # it skips unnamed ones
    assert tekton_lint.checks_any([{"kind": "PipelineRun", "metadata": {"name": "run"}}])


def test_a_sample_linted_alone_gets_no_false_warning(monkeypatch):
    # once read as "tekton-lint is not installed", and sometimes as "exited 1 without JSON output"
    def not_to_be_run(*args, **kwargs):
        raise AssertionError(f"tekton-lint run with nothing to check: {args}")
    monkeypatch.setattr(tekton_lint, "run", not_to_be_run)
    assert _findings(str(SAMPLE)) == (0, [])


@installed
def test_a_sample_linted_in_its_catalog_is_checked_with_its_task():
    # the catalog Task it refers to is context, so tekton-lint runs and must find nothing
    assert _findings("--root", str(FIXTURES / "clean"), str(SAMPLE)) == (0, [])


@installed
def test_a_pipeline_linted_alone_sees_the_catalog_tasks_it_refers_to(tmp_path):
    (tmp_path / "tasks" / "hello" / "0.1").mkdir(parents=True)
    (tmp_path / "tasks" / "hello" / "0.1" / "hello.yaml").write_text(
        (FIXTURES / "tekton-lint" / "hello.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    pipeline = tmp_path / "greet.yaml"
    pipeline.write_text((FIXTURES / "tekton-lint" / "greet.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    _, findings = _findings("--root", str(tmp_path), str(pipeline))
    # the Task is found (no "cannot be found"), so the real finding shows: a param it does not declare
    assert [(f["file"], f["message"].rsplit("(", 1)[-1]) for f in findings if f["rule"] == "tekton-lint"] == [
        ("greet.yaml", "no-extra-param)")]
