"""The statistics against known values: scipy (a development-only dependency) for the likelihood
ratios, simulation for the always-valid false-alarm bound, and the real Prometheus (promtool
backfill) for histogram_quantile."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import special, stats

from interlock_steps.istio.statistics import (
    MULTIPLIERS,
    RatioTest,
    above,
    bucket_at_or_above,
    canary_share,
    histogram_quantile,
)


def test_canary_share_known_values():
    assert canary_share(0.1, 1.0) == pytest.approx(0.1)
    assert canary_share(0.5, 3.0) == pytest.approx(0.75)
    assert canary_share(0.05, 50.0) == pytest.approx(2.5 / 3.45)


@pytest.mark.parametrize(("looks", "rho0"), [
    ([(3, 1, 60, 1140)], 1.0),
    ([(2, 5, 120, 1080), (4, 3, 300, 900)], 1.0),
    ([(0, 7, 600, 600), (9, 2, 600, 600), (1, 0, 30, 1170)], 1.5),
])
def test_statistic_is_the_binomial_mixture_likelihood_ratio(looks, rho0):
    test = RatioTest(0.01, rho0)
    for look in looks:
        test.update(*look)
    per_alternative = []
    for multiplier in MULTIPLIERS:
        log_ratio = 0.0
        for canary_events, stable_events, canary_requests, stable_requests in looks:
            q = canary_requests / (canary_requests + stable_requests)
            n = canary_events + stable_events
            log_ratio += (stats.binom.logpmf(canary_events, n, canary_share(q, rho0 * multiplier))
                          - stats.binom.logpmf(canary_events, n, canary_share(q, rho0)))
        per_alternative.append(log_ratio)
    expected = special.logsumexp(per_alternative) - math.log(len(MULTIPLIERS))
    assert test.statistic == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert test.threshold == pytest.approx(math.log(100))


def test_uninformative_looks_change_nothing():
    test = RatioTest(0.01)
    for look in [(0, 0, 100, 100), (3, 0, 0, 100), (0, 3, 100, 0)]:
        test.update(*look)
    assert test.statistic == 0.0 and test.p_value == 1.0 and not test.rejected


@pytest.mark.parametrize(("alpha", "rho0"), [(0.1, 0.5), (1.0, 1.0), (0.01, 0.9)])
def test_bad_settings_are_refused(alpha, rho0):
    with pytest.raises(ValueError):
        RatioTest(alpha, rho0)


def _simulate(rng, *, sequences, looks, canary_rate, stable_rate, rho0=1.0, alpha=0.05):
    """Fraction of sequences the test rejects, and the fraction a naive fixed-sample test (Fisher's
    exact, one-sided, at alpha) rejects when it is repeated after every look."""
    ours = naive = 0
    for _ in range(sequences):
        test = RatioTest(alpha, rho0)
        totals = np.zeros(4)
        flagged = False
        for _ in range(looks):
            nc, ns = rng.poisson(60), rng.poisson(540)
            ec, es = rng.binomial(nc, canary_rate), rng.binomial(ns, stable_rate)
            test.update(ec, es, nc, ns)
            totals += (ec, es, nc, ns)
            if not flagged:
                table = [[totals[0], totals[2] - totals[0]], [totals[1], totals[3] - totals[1]]]
                flagged = stats.fisher_exact(table, alternative="greater")[1] < alpha
        ours += test.rejected
        naive += flagged
    return ours / sequences, naive / sequences


def test_looking_after_every_scrape_keeps_false_alarms_below_alpha():
    """Equal rates (H0 at its boundary, binomial on both sides: the hypergeometric case): the
    always-valid test stays under alpha over 25 looks, the repeated fixed-sample test does not."""
    ours, naive = _simulate(np.random.default_rng(7), sequences=1000, looks=25, canary_rate=0.02, stable_rate=0.02)
    sigma = math.sqrt(0.05 * 0.95 / 1000)
    assert ours <= 0.05 + 2 * sigma
    assert naive > 0.05 + 2 * sigma  # why an always-valid test is needed at all


def test_a_better_canary_is_even_further_inside_h0():
    ours, _ = _simulate(np.random.default_rng(8), sequences=500, looks=30, canary_rate=0.01, stable_rate=0.02)
    assert ours <= 0.01


def test_a_broken_canary_is_caught():
    ours, _ = _simulate(np.random.default_rng(9), sequences=300, looks=10, canary_rate=0.05, stable_rate=0.001, alpha=0.01)
    assert ours >= 0.99


BUCKETS = {0.5: 0, 1: 0, 5: 2, 10: 10, 25: 40, 50: 80, 100: 97, 250: 99, 500: 100, math.inf: 100}


@pytest.mark.parametrize(("q", "expected"), [
    (0.5, 25 + 25 * (50 - 40) / 40),
    (0.99, 100 + 150 * (99 - 97) / 2),
    (1.0, 250 + 250 * 1 / 1),
    (0.0, math.nan),  # rank 0 in an empty first bucket: 0/0, as Go computes it
    (-0.1, -math.inf),
    (1.1, math.inf),
])
def test_histogram_quantile_known_values(q, expected):
    assert histogram_quantile(q, BUCKETS) == pytest.approx(expected, nan_ok=True)


def test_histogram_quantile_special_cases():
    assert math.isnan(histogram_quantile(0.5, {1: 0, math.inf: 0}))
    assert math.isnan(histogram_quantile(0.5, {1: 3, 2: 4}))  # no +Inf bucket
    assert math.isnan(histogram_quantile(math.nan, BUCKETS))
    assert histogram_quantile(0.99, {1: 1, 2: 1, math.inf: 100}) == 2  # in +Inf: the highest finite bound
    assert histogram_quantile(0.5, {1: 5, 2: 3, math.inf: 10}) == pytest.approx(1.0)  # forced monotonic


def test_thresholds_on_bucket_bounds():
    assert bucket_at_or_above(BUCKETS, 99.9) == 100 and bucket_at_or_above(BUCKETS, 100) == 100
    assert math.isinf(bucket_at_or_above(BUCKETS, 600))
    assert above(BUCKETS, 100) == 3 and above(BUCKETS, 500) == 0


def test_histogram_quantile_matches_the_real_prometheus(tmp_path):
    from tests.fakes.mesh import PrometheusMissing, PrometheusServer, backfill

    at = int(time.time()) - 600
    histograms = {"a": BUCKETS, "b": {5: 1, 10: 1, 25: 7, 100: 9, math.inf: 12}, "c": {1: 3, 2: 3, math.inf: 3}}
    lines = ["# TYPE latency histogram"]
    for name, buckets in histograms.items():
        for bound, count in buckets.items():
            le = "+Inf" if math.isinf(bound) else f"{bound:g}"
            lines.append(f'latency_bucket{{series="{name}",le="{le}"}} {count} {at}')
        lines.append(f'latency_count{{series="{name}"}} {buckets[math.inf]} {at}')
    try:
        backfill("\n".join(lines) + "\n# EOF\n", tmp_path)
        server = PrometheusServer(tmp_path).start()
    except PrometheusMissing as error:
        pytest.skip(str(error))
    try:
        for q in (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0):
            answer = {r["metric"]["series"]: float(r["value"][1])
                      for r in server.query(f"histogram_quantile({q}, latency_bucket)", at=at)}
            for name, buckets in histograms.items():
                assert histogram_quantile(q, buckets) == pytest.approx(answer[name], rel=1e-12, nan_ok=True), (q, name)
    finally:
        server.stop()
