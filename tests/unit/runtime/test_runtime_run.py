"""run_step: exit codes, one JSON line per failure, dry-run, and the audit log."""

from __future__ import annotations

import io
import json

import pytest

from interlock_steps.runtime import (
    BadInput,
    DeadlineExceeded,
    ExitCode,
    TargetFailed,
    param,
    run_step,
)


def run(main, argv=(), environ=None, params=()):
    out = io.StringIO()
    code = run_step(main, task="demo", step="act", params=list(params), argv=list(argv), environ=environ or {}, stream=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, lines


def ok(step):
    step.log.info("did it", target="thing/1", count=2)


def test_success_exits_0_and_logs_json_lines():
    code, lines = run(ok)
    assert code == ExitCode.OK == 0
    assert lines == [
        {
            "msg": "did it",
            "level": "info",
            "ts": lines[0]["ts"],
            "task": "demo",
            "step": "act",
            "target": "thing/1",
            "count": 2,
        }
    ]
    assert lines[0]["ts"].endswith("Z")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (TargetFailed("looker said 500", status=500), 1),
        (BadInput("dashboard 7 is not a number"), 2),
        (DeadlineExceeded("out of time"), 3),
    ],
)
def test_expected_failures_map_to_their_exit_code_with_one_line(error, code, capsys):
    def main(step):
        raise error

    exit_code, lines = run(main)
    assert exit_code == code
    assert len(lines) == 1
    assert lines[0]["level"] == "error" and lines[0]["msg"] == str(error)
    assert lines[0]["exit_code"] == code and lines[0]["error"] == type(error).__name__
    assert "traceback" not in lines[0]
    assert "Traceback" not in capsys.readouterr().err


def test_failure_fields_are_logged():
    def main(step):
        raise TargetFailed("refused", status=409, url="http://127.0.0.1/x")

    _, lines = run(main)
    assert lines[0]["status"] == 409 and lines[0]["url"] == "http://127.0.0.1/x"


def test_results_too_large_exit_4(tmp_path):
    def main(step):
        step.results.write(big="x" * 5000)

    code, lines = run(main, ["--results-dir", str(tmp_path)])
    assert code == 4 and "termination message" in lines[-1]["msg"]


def test_unexpected_error_exits_1_with_traceback_in_the_json_line():
    def main(step):
        {}["missing"]

    code, lines = run(main)
    assert code == 1
    assert lines[-1]["error"] == "KeyError" and "Traceback" in lines[-1]["traceback"]


def test_missing_param_exits_2_before_main_runs():
    called = []
    code, lines = run(lambda step: called.append(1), params=[param("target-id", required=True)])
    assert code == 2 and called == []
    assert "TARGET_ID" in lines[-1]["msg"]


def test_bad_common_param_exits_2():
    code, lines = run(ok, ["--deadline", "-5"])
    assert code == 2 and "'deadline'" in lines[-1]["msg"]
    code, lines = run(ok, ["--log-level", "loud"])
    assert code == 2 and "log-level" in lines[-1]["msg"]


def test_dry_run_from_env_plans_and_changes_nothing(tmp_path):
    changed = []

    def main(step):
        if step.dry_run:
            step.plan("delete", "route/a", weight=0)
        else:
            changed.append("route/a")

    code, lines = run(main, ["--audit-dir", str(tmp_path)], {"DRY_RUN": "true"})
    assert code == 0 and changed == []
    assert lines[-1]["msg"] == "dry-run: would delete" and lines[-1]["target"] == "route/a"
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audit[0]["outcome"] == "planned" and audit[0]["dry_run"] is True


def test_audit_is_written_only_when_bound(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def main(step):
        step.record("trigger", "datagroup/1", rows=3)

    run(main, environ={"AUDIT_DIR": ""})
    assert list(tmp_path.rglob("audit.jsonl")) == []

    bound = tmp_path / "audit"
    bound.mkdir()
    run(main, environ={"AUDIT_DIR": str(bound)})
    run(main, environ={"AUDIT_DIR": str(bound)})
    lines = [json.loads(line) for line in (bound / "audit.jsonl").read_text().splitlines()]
    assert len(lines) == 2  # appended, not overwritten
    assert {k: lines[0][k] for k in ("task", "step", "action", "target", "outcome", "rows")} == {
        "task": "demo",
        "step": "act",
        "action": "trigger",
        "target": "datagroup/1",
        "outcome": "ok",
        "rows": 3,
    }


def test_a_failure_is_audited(tmp_path):
    def main(step):
        raise TargetFailed("nope")

    run(main, ["--audit-dir", str(tmp_path)])
    line = json.loads((tmp_path / "audit.jsonl").read_text())
    assert line["outcome"] == "failed" and line["exit_code"] == 1


def test_audit_dir_that_does_not_exist_is_bad_input(tmp_path):
    code, lines = run(ok, ["--audit-dir", str(tmp_path / "absent")])
    assert code == 2 and "audit workspace bound" in lines[-1]["msg"]


def test_policy_params_reach_the_step():
    seen = {}

    def main(step):
        seen.update(total=step.policy.total, timeout=step.policy.timeout, deadline=step.deadline.seconds)

    run(main, ["--max-retries", "2", "--request-timeout", "4"], {"DEADLINE": "90"})
    assert seen == {"total": 2, "timeout": 4.0, "deadline": 90.0}
