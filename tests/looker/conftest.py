"""Run the Looker steps in-process (their real `main`, the real looker-sdk) against the fake Looker."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from interlock_steps import runtime as rt
from tests.fakes.looker import FakeLooker


@dataclass
class StepRun:
    code: int
    log: str
    results: dict[str, str]
    report: dict | None

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.splitlines() if line.startswith("{")]


@pytest.fixture
def looker(monkeypatch):
    """The fake Looker, checking every request and answer against the OpenAPI document."""
    with FakeLooker() as fake:
        for name, value in fake.sdk_env().items():
            monkeypatch.setenv(name, value)
        yield fake
    fake.assert_clean()


@pytest.fixture
def run_step(tmp_path, looker):
    """run_step(module, *args) -> StepRun; results and report land in tmp_path."""
    def run(module, *args: str, report: str | None = None) -> StepRun:
        results, reports = tmp_path / "results", tmp_path / "report"
        results.mkdir(exist_ok=True)
        reports.mkdir(exist_ok=True)
        out = io.StringIO()
        argv = [*args, "--results-dir", str(results), "--deadline", "60", "--request-timeout", "10"]
        if report:
            argv += ["--report-dir", str(reports)]
        code = rt.step.run_step(module.main, task=module.__name__.rsplit(".", 1)[-1], step="test",
                                params=module.PARAMS, argv=argv, stream=out)
        written = {p.name: p.read_text() for p in results.iterdir() if not p.name.startswith(".")}
        report_file = next(reports.glob("*.json"), None)
        return StepRun(code, out.getvalue(), written,
                       json.loads(report_file.read_text()) if report_file else None)
    return run


MUTATING = {"update_datagroup", "start_pdt_build", "stop_pdt_build", "create_query_task",
            "scheduled_plan_run_once_by_id"}


@pytest.fixture
def mutations(looker):
    """mutations() -> the changing calls the fake received so far, in order."""
    return lambda: [op for op in looker.operations() if op in MUTATING]
