"""The warming benchmark's judgement: the whole step, the median of the runs, and no figure below
what the concurrency cap physically allows (a broken cap once read as "0.69x ideal, within goal")."""
from __future__ import annotations

import pytest

from interlock.benchmarks import looker_warming as bench


def run(step: float, warm: float = 2.9, peak: int = 10) -> dict:
    return {"step_s": step, "warm_s": warm, "peak_in_flight": peak}


def test_the_whole_step_is_judged_as_the_median_of_the_runs():
    judged = bench.judge([run(3.9), run(3.6, warm=3.3), run(4.4)])
    assert judged == {"step_s": 3.9, "warm_s": 2.9, "peak_in_flight": 10, "vs_ideal": 1.3}
    assert bench.floor(10) == 3.0 and bench.floor(1) == 30.0


@pytest.mark.parametrize("runs", [
    [run(2.1), run(2.0), run(2.2)],                # faster than 10 at a time can be
    [run(3.5, peak=20), run(3.4), run(3.6)],       # the fake saw 20 queries at once
])
def test_a_figure_below_the_physical_floor_is_refused(runs):
    with pytest.raises(bench.BelowFloor, match="INVALID figure: .* the concurrency cap is broken"):
        bench.judge(runs)


def test_the_report_names_the_whole_step_and_the_peak():
    text = bench.report({"tiles": 300, "query_s": 0.1, "concurrency": 10, "runs": 3, "ideal_s": 3.0,
                         "step_s": 3.93, "warm_s": 3.42, "peak_in_flight": 10, "vs_ideal": 1.31,
                         "sequential_step_s": 31.5, "speedup_vs_sequential": 8.02})
    assert "whole step 3.93 s vs ideal 3 s = 1.31x (OVER the 1.3x goal; warm phase 3.42 s)" in text
    assert "fake's peak 10 queries in flight" in text and "median of 3 runs" in text
