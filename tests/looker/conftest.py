"""Run the Looker steps in-process (their real `main`, the real looker-sdk) against the fake Looker."""
from __future__ import annotations

import pytest

from tests.fakes.looker import FakeLooker
from tests.step_run import StepRun, run_step as run_in_process


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
    """run_step(module, *args, report=True) -> StepRun; results and report land in tmp_path."""
    def run(module, *args: str, report: bool = False) -> StepRun:
        return run_in_process(module, [*args, "--deadline", "60", "--request-timeout", "10"], tmp_path, report=report)
    return run


MUTATING = {"update_datagroup", "start_pdt_build", "stop_pdt_build", "create_query_task",
            "scheduled_plan_run_once_by_id"}


@pytest.fixture
def mutations(looker):
    """mutations() -> the changing calls the fake received so far, in order."""
    return lambda: [op for op in looker.operations() if op in MUTATING]
