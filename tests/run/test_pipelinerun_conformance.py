"""PipelineRun conformance: Tekton v1 pipeline semantics, run in real containers of the tools image.

Each test runs a PipelineRun from tests/run/pipelineruns/ and asserts on result values,
statuses, reasons and skip reasons as Tekton reports them, not only on success.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from run_support import TOOLS_ALIAS, leftover_containers

pytestmark = pytest.mark.containers

PIPELINERUNS = Path(__file__).parent / "pipelineruns"


@pytest.fixture
def run_pipeline(tools_image, tmp_path):
    """run_pipeline(name, **RunOptions fields) -> (PipelineRunOutcome, log lines)."""
    from interlock.run.options import RunOptions
    from interlock.run.pipelinerun import run_pipelinerun
    from interlock.run.resolve import load_run

    def run(name: str, **fields):
        lines: list[str] = []
        options = RunOptions(image_map={TOOLS_ALIAS: tools_image},
                             run_dir=fields.pop("run_dir", tmp_path / "runs"), **fields)
        outcome = run_pipelinerun(load_run(PIPELINERUNS / f"{name}.yaml"), options=options,
                                  log=lambda t, s, line: lines.append(f"[{t}/{s}] {line}"))
        return outcome, lines
    return run


def containers_left_by(outcome) -> list[str]:
    """Containers still present that carry the label of one of this run's TaskRuns (other
    suites may run containers on the same machine at the same time)."""
    from interlock import podman
    left: list[str] = []
    for t in outcome.tasks:
        assert t.run_id, f"{t.name} has no run id"
        proc = podman.podman("ps", "-a", "--filter", f"label=interlock.run={t.run_id}",
                             "--format", "{{.Names}}", check=False)
        left += proc.stdout.split()
    return left


def by_task(outcome):
    return {t.pipeline_task: t for t in outcome.tasks}


def skip_reasons(outcome):
    return {s.name: s.reason for s in outcome.skipped}


def test_diamond_dag_params_shared_workspace_context_and_results(run_pipeline):
    out, _ = run_pipeline("diamond")
    assert (out.status, out.reason) == ("True", "Succeeded"), out.message
    assert out.message == "Tasks Completed: 4 (Failed: 0, Cancelled 0), Skipped: 0"
    t = by_task(out)
    assert t["fetch"].results == {"first": "alpha", "run": "diamond/diamond-fetch"}
    assert t["left"].results == {"size": "5"}      # len("alpha"), through a result reference
    assert t["right"].results == {"size": "3"}     # words in the shared workspace file
    # the two branches ran at the same time (--parallel 2), after fetch and before join
    left, right = t["left"], t["right"]
    assert left.started < right.finished and right.started < left.finished
    assert t["fetch"].finished <= min(left.started, right.started)
    assert t["join"].started >= max(left.finished, right.finished)
    assert out.results == {"joined": "5|3|example.test:8443|hello alpha beta", "sizes": "5+3"}


def test_when_failure_stopping_and_finally_statuses(run_pipeline):
    out, lines = run_pipeline("failure-finally")
    assert (out.status, out.reason) == ("False", "Failed")
    assert out.message == "Tasks Completed: 5 (Failed: 1, Cancelled 0), Skipped: 5"
    assert skip_reasons(out) == {
        "gate": "When Expressions evaluated to false",
        "reads-gate": "Results were missing",
        "after-break": "PipelineRun was stopping",
        "on-success": "When Expressions evaluated to false",
        "needs-gate": "Results were missing",
    }
    t = by_task(out)
    assert t["breaks"].reason == "Failed" and t["breaks"].steps[0].exit_code == 3
    assert t["after-gate"].succeeded            # ordering after a when-skipped task still runs
    assert t["on-failure"].succeeded
    # $(tasks.status) $(tasks.probe.status) $(tasks.breaks.status) $(tasks.gate.status)
    assert t["report"].results == {"summary": "Failed Succeeded Failed None "}
    assert "[breaks/fail] breaking" in lines


def test_retries_and_retry_count(run_pipeline):
    out, _ = run_pipeline("retries")
    t = by_task(out)
    assert t["flaky"].succeeded and t["flaky"].retry_count == 1
    assert t["flaky"].results == {"attempt": "1", "retries": "2"}
    assert (t["hopeless"].reason, t["hopeless"].retry_count) == ("Failed", 1)
    assert (out.status, out.reason) == ("False", "Failed")


def test_task_timeout_and_tasks_timeout(run_pipeline):
    out, _ = run_pipeline("timeouts")
    t = by_task(out)
    assert t["too-slow"].reason == "TaskRunTimeout"
    assert t["long"].reason == "TaskRunCancelled"
    assert "timed out" in t["long"].message
    assert skip_reasons(out) == {"after-too-slow": "PipelineRun was stopping"}
    assert t["cleanup"].results == {"done": "yes"}     # finally still runs after timeouts.tasks
    assert (out.status, out.reason) == ("False", "Failed")
    assert out.message == "Tasks Completed: 3 (Failed: 2, Cancelled 0), Skipped: 1"


def test_pipeline_timeout_cancels_and_leaves_no_containers(run_pipeline):
    out, _ = run_pipeline("pipeline-timeout")
    assert (out.status, out.reason) == ("False", "PipelineRunTimeout")
    assert out.message == 'PipelineRun "pipeline-timeout" failed to finish within "2s"'
    assert by_task(out)["sleeper"].reason == "TaskRunCancelled"
    assert skip_reasons(out) == {"cleanup": "PipelineRun timeout has been reached"}
    assert (out.finished - out.started).total_seconds() < 15
    assert containers_left_by(out) == []


def test_matrix_fan_out_include_and_aggregated_results(run_pipeline):
    out, _ = run_pipeline("matrix")
    assert out.succeeded, out.message
    builds = sorted((t for t in out.tasks if t.pipeline_task == "build"), key=lambda t: t.name)
    assert [b.name for b in builds] == ["matrix-build-0", "matrix-build-1", "matrix-build-2"]
    assert [b.results["id"] for b in builds] == ["linux-slim-1.0", "mac-full-1.0",
                                                 "windows-full-1.0"]
    assert by_task(out)["collect"].results == {
        "summary": "3 linux-slim-1.0 mac-full-1.0 windows-full-1.0"}
    assert out.results == {"ids": ["linux-slim-1.0", "mac-full-1.0", "windows-full-1.0"]}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interlock", "run", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_pipelinerun_json_outcome_and_keep(tools_image, tmp_path):
    proc = _cli(str(PIPELINERUNS / "matrix.yaml"), "--image-map", f"{TOOLS_ALIAS}={tools_image}",
                "-o", "json", "--keep", "--run-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-800:]
    outcome = json.loads(proc.stdout)
    assert outcome["condition"]["reason"] == "Succeeded"
    assert outcome["results"]["ids"] == ["linux-slim-1.0", "mac-full-1.0", "windows-full-1.0"]
    kept = Path(outcome["runDir"])
    assert json.loads((kept / "outcome.json").read_text())["name"] == "matrix"
    assert (kept / "pipeline.yaml").is_file()
    assert {p.name for p in kept.iterdir()} >= {"matrix-build-0", "matrix-collect"}


def test_cli_invalid_pipelinerun_exits_2_naming_file_and_field(tools_image, tmp_path):
    tmp_path.chmod(0o777)  # the step's non-root user could write its marker, had it started
    proc = _cli(str(PIPELINERUNS / "invalid-result-ref.yaml"), "-w", f"marker={tmp_path}",
                "--image-map", f"{TOOLS_ALIAS}={tools_image}")
    assert proc.returncode == 2
    assert "invalid-result-ref.yaml" in proc.stderr
    assert "spec.pipelineSpec.tasks[1] (use)" in proc.stderr
    assert "$(tasks.build.results.digset)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []      # `build` never started


def test_cli_ctrl_c_cancels_the_pipelinerun_and_removes_its_containers(tools_image):
    import signal
    import time

    def ours() -> list[str]:
        return [n for n in leftover_containers() if n.endswith("-wait-for-ctrl-c")]

    assert ours() == []
    proc = subprocess.Popen([sys.executable, "-m", "interlock", "run",
                             str(PIPELINERUNS / "interrupt.yaml"),
                             "--image-map", f"{TOOLS_ALIAS}={tools_image}", "-o", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not ours():
            assert time.monotonic() < deadline, "the step's container never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, stderr[-800:]
    outcome = json.loads(stdout)
    assert (outcome["condition"]["status"], outcome["condition"]["reason"]) == ("False", "Cancelled")
    assert outcome["condition"]["message"] == 'PipelineRun "interrupt" was cancelled'
    assert [(t["pipelineTask"], t["condition"]["reason"]) for t in outcome["tasks"]] == [
        ("waits", "TaskRunCancelled")]          # nothing after it started, not even finally
    assert ours() == []


def test_pipeline_ref_from_pipeline_file_with_params_and_results(run_pipeline):
    out, _ = run_pipeline("ref-by-name", pipeline_file=PIPELINERUNS / "greeting-pipeline.yaml",
                          feature_flags={"enable-param-enum": "true"})
    assert out.succeeded, out.message
    assert out.pipeline == "greeting"
    assert out.results == {"message": "hello tekton from greeting"}


def test_cli_unknown_pipeline_ref_and_enum_violation_exit_2():
    proc = _cli(str(PIPELINERUNS / "ref-by-name.yaml"))
    assert proc.returncode == 2
    assert "ref-by-name.yaml: spec.pipelineRef.name: unknown Pipeline 'greeting'" in proc.stderr
    proc = _cli(str(PIPELINERUNS / "ref-by-name.yaml"), "--pipeline",
                str(PIPELINERUNS / "greeting-pipeline.yaml"), "-p", "who=nobody",
                "--feature-flags", "enable-param-enum=true")
    assert proc.returncode == 2
    assert "'nobody' is not in its enum" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_dry_run_resolves_a_catalog_task_and_runs_nothing(tmp_path):
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "client_id").write_text("id")
    (tmp_path / "creds" / "client_secret").write_text("s3cr3t-value")
    proc = _cli(str(PIPELINERUNS / "catalog-taskref.yaml"), "--dry-run", "-o", "json",
                "--secret", f"looker-credentials={tmp_path / 'creds'}")
    assert proc.returncode == 0, proc.stderr[-800:]
    outcome = json.loads(proc.stdout)
    assert outcome["condition"]["reason"] == "DryRun"
    [validate] = outcome["tasks"]
    assert validate["name"] == "catalog-taskref-validate"
    assert validate["plan"]["steps"][0]["image"].startswith("localhost/interlock/looker@sha256:")
    assert "s3cr3t-value" not in proc.stdout + proc.stderr


def test_host_folder_workspace_with_sub_path_and_optional_unbound(run_pipeline, tmp_path):
    host = tmp_path / "shared"
    host.mkdir(mode=0o777)
    host.chmod(0o777)   # the steps' user is not root
    out, _ = run_pipeline("host-workspace", workspaces={"shared": host})
    assert out.succeeded, out.message
    assert by_task(out)["read"].results == {"note": "from write", "unused-bound": "false"}
    assert (host / "app" / "note.txt").read_text() == "from write"
