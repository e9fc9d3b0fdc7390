"""PipelineRun timeouts: Go durations, Tekton's defaults and derived tasks/finally limits."""
from __future__ import annotations

import pytest

from interlock.run import timeouts


def test_parse_and_go_format_round_trip():
    assert timeouts.parse("1h30m", "f") == 5400
    assert timeouts.parse("500ms", "f") == 0.5
    assert timeouts.parse("0", "f") == 0
    assert [timeouts.go_format(x) for x in (3600, 90, 2, 0.3, 1.5)] == [
        "1h0m0s", "1m30s", "2s", "300ms", "1.5s"]
    with pytest.raises(timeouts.TimeoutInvalid, match=r"spec.timeouts.pipeline.*'soon'"):
        timeouts.parse("soon", "spec.timeouts.pipeline")


def test_defaults_and_override():
    assert timeouts.resolve({}) == timeouts.Timeouts(3600, None, None)
    assert timeouts.resolve({"timeouts": {"pipeline": "0"}}) == timeouts.Timeouts(None, None, None)
    assert timeouts.resolve({"timeouts": {"pipeline": "1h"}}, override=60).pipeline == 60


def test_two_of_three_give_the_third_as_tekton_does():
    t = timeouts.resolve({"timeouts": {"pipeline": "10m", "finally": "2m"}})
    assert (t.tasks, t.finally_) == (480, 120)
    t = timeouts.resolve({"timeouts": {"pipeline": "10m", "tasks": "7m"}})
    assert (t.tasks, t.finally_) == (420, 180)


def test_inconsistent_timeouts_are_refused():
    with pytest.raises(timeouts.TimeoutInvalid, match="tasks: 2m0s must not exceed"):
        timeouts.resolve({"timeouts": {"pipeline": "1m", "tasks": "2m"}})
    with pytest.raises(timeouts.TimeoutInvalid, match="tasks \\+ finally"):
        timeouts.resolve({"timeouts": {"pipeline": "5m", "tasks": "4m", "finally": "2m"}})
    with pytest.raises(timeouts.TimeoutInvalid, match="0 \\(no timeout\\) is not allowed"):
        timeouts.resolve({"timeouts": {"pipeline": "5m", "tasks": "0"}})
    with pytest.raises(timeouts.TimeoutInvalid, match="unknown field"):
        timeouts.resolve({"timeouts": {"pipeline": "5m", "task": "1m"}})
