"""The benchmark's own arithmetic (scripts/interlock/benchmarks/istio_canary.py): its confidence
intervals against scipy, and a small run of its simulations."""
from __future__ import annotations

import pytest
from scipy import stats

from interlock.benchmarks import istio_canary


@pytest.mark.parametrize(("k", "n"), [(0, 1000), (1, 1000), (5, 1000), (997, 1000), (30, 200), (1, 1)])
def test_wilson_interval_matches_scipy(k, n):
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = istio_canary.wilson(k, n)
    assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-6)


def test_a_small_simulation_tells_the_two_rules_apart():
    result = istio_canary.simulate(analyses=40, seed=3)
    ours, flagger = result["ours"], result["flagger"]
    assert ours["caught"] == flagger["caught"] == 1.0
    assert flagger["intervals_to_restore_median"] == 3.0  # five failed 30-second checks, then the next tick
    assert ours["intervals_to_restore_median"] <= 1.25
    assert ours["false_rollback"] <= 0.05 and flagger["false_rollback"] <= 0.05
