"""One look at the metrics: the counts since the previous look, the two sequential tests, and the
numbers a person wants to see (error rates, the latency quantile of each side).

Two tests, each with half of alpha = 1 - confidence (Bonferroni), so the chance of rolling back a
canary that is as good as the stable stays at most 1 - confidence over the whole analysis:
- errors: 5xx answers, canary vs stable, H0: canary rate <= (1 + error-tolerance) x stable rate;
- latency: requests slower than a threshold, H0 likewise with latency-tolerance. The threshold is
  the stable's latency quantile (latency-quantile, p99 by default) before the first shift, rounded
  up to the next histogram bucket bound so that exceedances are counted exactly. Without stable
  traffic before the shift, it is taken from the first look with enough stable requests.
Both are statistics.RatioTest: always valid, however often one looks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .statistics import RatioTest, above, bucket_at_or_above, difference, histogram_quantile


@dataclass(frozen=True)
class Side:
    """Cumulative counters of one workload at one instant (or the difference of two readings)."""

    requests: float = 0.0
    errors: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)

    def minus(self, earlier: Side) -> Side:
        return Side(self.requests - earlier.requests, self.errors - earlier.errors,
                    difference(self.buckets, earlier.buckets))

    @property
    def observed(self) -> float:
        """Requests the latency histogram counted (its +Inf bucket)."""
        return self.buckets.get(math.inf, 0.0)

    @property
    def reset(self) -> bool:
        """A negative difference: a counter restarted (a pod was replaced) between two readings."""
        return self.requests < 0 or self.errors < 0 or any(v < 0 for v in self.buckets.values())


@dataclass(frozen=True)
class Reading:
    at: float  # unix seconds at which every query was evaluated
    canary: Side
    stable: Side
    queries: dict[str, str] = field(default_factory=dict)  # what was asked, for the report


@dataclass
class Verdict:
    """What one look concluded."""

    worse: str | None = None  # "errors" or "latency" when a test rejected H0
    canary: Side = field(default_factory=Side)
    stable: Side = field(default_factory=Side)
    reset: bool = False
    report: dict[str, Any] = field(default_factory=dict)


def _number(value: float) -> float | None:
    """JSON has no NaN or infinity: the report says null."""
    return None if math.isnan(value) or math.isinf(value) else round(value, 6)


class Judge:
    def __init__(self, *, confidence: float, error_tolerance: float, latency_quantile: float,
                 latency_tolerance: float, min_requests: int) -> None:
        alpha = 1.0 - confidence
        self.errors = RatioTest(alpha / 2, 1.0 + error_tolerance)
        self.latency = RatioTest(alpha / 2, 1.0 + latency_tolerance)
        self.quantile = latency_quantile
        self.min_requests = min_requests
        self.threshold_ms: float | None = None

    def baseline(self, stable_window: Side) -> None:
        """Fix the latency threshold from the stable's traffic before the first shift."""
        if stable_window.observed >= self.min_requests and not stable_window.reset:
            quantile = histogram_quantile(self.quantile, stable_window.buckets)
            self.threshold_ms = bucket_at_or_above(stable_window.buckets, quantile)

    def look(self, previous: Reading, current: Reading) -> Verdict:
        canary, stable = current.canary.minus(previous.canary), current.stable.minus(previous.stable)
        if canary.reset or stable.reset:
            return Verdict(reset=True, report={"reset": "a counter went down (a pod restarted): this look is skipped"})
        if self.threshold_ms is None:
            self.baseline(stable)
        self.errors.update(canary.errors, stable.errors, canary.requests, stable.requests)
        slow_canary = slow_stable = None
        if self.threshold_ms is not None and not math.isinf(self.threshold_ms):
            slow_canary = above(canary.buckets, self.threshold_ms)
            slow_stable = above(stable.buckets, self.threshold_ms)
            self.latency.update(slow_canary, slow_stable, canary.observed, stable.observed)
        worse = "errors" if self.errors.rejected else "latency" if self.latency.rejected else None
        return Verdict(worse, canary, stable, report={
            "canary": self._side(canary, slow_canary), "stable": self._side(stable, slow_stable),
            "errors_test": self._test(self.errors),
            "latency_test": {**self._test(self.latency), "threshold_ms": _number(self.threshold_ms or math.nan)},
        })

    def _side(self, side: Side, slow: float | None) -> dict[str, Any]:
        return {"requests": side.requests, "errors": side.errors,
                "error_rate": _number(side.errors / side.requests) if side.requests > 0 else None,
                f"p{self.quantile * 100:g}_ms": _number(histogram_quantile(self.quantile, side.buckets)),
                "slow": slow}

    @staticmethod
    def _test(test: RatioTest) -> dict[str, Any]:
        return {"statistic": round(test.statistic, 4), "threshold": round(test.threshold, 4),
                "p_value": round(test.p_value, 6), "rho0": test.rho0, "rejected": test.rejected,
                "canary_events": test.canary_events, "stable_events": test.stable_events}
