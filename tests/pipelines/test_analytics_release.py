"""analytics-release end to end against the fake Looker in the real looker image: the sample
(validated, refreshed, warmed, delivered) and a LookML error, which stops it before anything in
Looker changes."""
from __future__ import annotations

import pytest

from .conftest import FAILED, OK, STOPPING, actions, failed, run_pipeline
from .world import squash

pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]

PIPELINE = "analytics-release"


def test_the_sample_validates_then_refreshes_then_delivers(world, expected_results):
    w = world()
    run = run_pipeline(w, PIPELINE, "analytics-release")
    assert run.code == 0, run.stderr
    assert run.tasks == {"validate": OK, "refresh": OK, "deliver": OK}
    assert run.results == expected_results(PIPELINE)
    assert squash(w.calls()) == [("looker", op) for op in ("validate_project", "content_validation", "update_datagroup",
                                                           "start_pdt_build", "create_query_task",
                                                           "scheduled_plan_run_once_by_id")]
    assert actions(w) == [("looker-refresh", "trigger datagroup", "ok"), ("looker-refresh", "rebuild pdt", "ok"),
                          ("looker-run-schedule", "run once", "ok")]
    assert {p.name for p in (w.workspaces["records"] / "report").iterdir()} == {"looker-validate.json",
                                                                              "looker-refresh.json"}
    end = w.snapshot()["looker"]
    assert end["plan-runs"] == ["32"] and end["query-tasks"] == 2


def test_a_lookml_error_stops_it_before_anything_changes(world):
    w = world()
    run = run_pipeline(w, PIPELINE, "lookml-error", **{"lookml-project": "broken_project"})
    assert run.code == 1
    assert run.condition == failed(completed=1, skipped=2)
    assert run.tasks == {"validate": FAILED, "refresh": STOPPING, "deliver": STOPPING}
    assert run.task("validate")["results"]["lookml-errors"] == "1"
    assert squash(w.calls()) == [("looker", "validate_project"), ("looker", "content_validation")]
    assert actions(w) == [("looker-validate", "step", "failed")]
    assert w.snapshot() == w.start
