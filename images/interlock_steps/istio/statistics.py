"""The statistics of a canary judgement, in pure Python (no numpy or scipy in the image).

The sequential test: is an event (a 5xx answer, or a request slower than a latency threshold)
more frequent on the canary than on the stable version by more than a tolerated ratio rho0?

Condition on the events of each look. If the canary's event rate is rho times the stable's, an
event of a look in which the canary served n_c requests and the stable n_s lands on the canary
with probability

    pi(rho) = q * rho / (q * rho + 1 - q),   q = n_c / (n_c + n_s)   (the canary's share)

(the Poisson approximation of two binomials, exact as rates go to 0). The canary's events e_c of
the look's e_c + e_s then follow Binomial(e_c + e_s, pi(rho)): the unknown stable rate drops out,
and every look is judged on its own traffic split, whatever the weights were.

Against H0: rho <= rho0 the test keeps, for each alternative rho_k = rho0 * m_k, the likelihood
ratio L_k = prod over looks of [pi(rho_k) / pi(rho0)]^e_c [(1 - pi(rho_k)) / (1 - pi(rho0))]^e_s,
and mixes them with equal weights: Lambda = mean_k L_k. Each L_k is a nonnegative
supermartingale under H0 (a martingale at rho = rho0; for a smaller rho the expectation of one
factor is below 1), and so is their mean; with exactly equal rates the canary's share of events is
hypergeometric rather than binomial, which is smaller in the convex order (Hoeffding 1963,
Theorem 4), so the factors still average at most 1. By Ville's inequality,
P(Lambda ever reaches 1/alpha) <= alpha under H0: rejecting as soon as Lambda >= 1/alpha is an
always-valid test. Looking after every scrape, or for as long as it takes, does not inflate the
false-alarm rate (the mixture SPRT of Robbins 1970; Johari, Pekelis and Walsh, "Always valid
inference", 2017). 1 / max Lambda so far is an always-valid p-value.

Latency quantiles from Istio's histograms follow Prometheus' histogram_quantile exactly
(promql/quantile.go, bucketQuantile), so the report shows what a dashboard would.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Alternatives as multiples of rho0: from barely worse to a broken canary. Equal prior weights.
MULTIPLIERS = (1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def canary_share(q: float, rho: float) -> float:
    """Probability that an event lands on the canary when its rate is `rho` times the stable's."""
    return q * rho / (q * rho + 1.0 - q)


def _log_mean_exp(values: Iterable[float]) -> float:
    values = list(values)
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values) / len(values))


@dataclass
class RatioTest:
    """Always-valid test of H0: canary event rate <= rho0 x stable event rate (see module docstring)."""

    alpha: float
    rho0: float = 1.0
    multipliers: tuple[float, ...] = MULTIPLIERS
    log_ratios: list[float] = field(default_factory=list)
    canary_events: float = 0.0
    stable_events: float = 0.0
    peak: float = 0.0  # highest log(Lambda) so far
    rejected: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if not self.rho0 >= 1:
            raise ValueError(f"rho0 must be at least 1, got {self.rho0}")
        if not self.log_ratios:
            self.log_ratios = [0.0] * len(self.multipliers)

    @property
    def threshold(self) -> float:
        """log(1/alpha): the test rejects when log(Lambda) reaches it."""
        return math.log(1.0 / self.alpha)

    @property
    def statistic(self) -> float:
        """log(Lambda), the log of the mixture likelihood ratio."""
        return _log_mean_exp(self.log_ratios)

    @property
    def p_value(self) -> float:
        """Always-valid p-value: 1 / max Lambda so far (capped at 1)."""
        return min(1.0, math.exp(-self.peak))

    def update(self, canary_events: float, stable_events: float, canary_requests: float,
               stable_requests: float) -> bool:
        """Add one look's counts (since the previous look); returns whether H0 is now rejected.

        A look in which either side served nothing, or nothing happened, carries no information."""
        if min(canary_events, stable_events, canary_requests, stable_requests) < 0:
            raise ValueError("counts must not be negative")
        if canary_requests <= 0 or stable_requests <= 0 or canary_events + stable_events <= 0:
            return self.rejected
        q = canary_requests / (canary_requests + stable_requests)
        null = canary_share(q, self.rho0)
        for k, multiplier in enumerate(self.multipliers):
            alternative = canary_share(q, self.rho0 * multiplier)
            self.log_ratios[k] += (canary_events * math.log(alternative / null)
                                   + stable_events * math.log((1.0 - alternative) / (1.0 - null)))
        self.canary_events += canary_events
        self.stable_events += stable_events
        self.peak = max(self.peak, self.statistic)
        self.rejected = self.rejected or self.statistic >= self.threshold
        return self.rejected


Buckets = Mapping[float, float]  # upper bound (le, +Inf included) -> cumulative count


def histogram_quantile(q: float, buckets: Buckets) -> float:
    """Prometheus' histogram_quantile over classic buckets (promql/quantile.go, bucketQuantile):
    linear within the bucket, 0 as the lower bound of the first one, the second-highest bound when
    the quantile falls in +Inf, NaN without observations or without a +Inf bucket."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    bounds = sorted(buckets.items())
    if not bounds or not math.isinf(bounds[-1][0]):
        return math.nan
    coalesced: list[list[float]] = []
    for bound, count in bounds:
        if coalesced and coalesced[-1][0] == bound:
            coalesced[-1][1] += count
        else:
            coalesced.append([bound, count])
    highest = coalesced[0][1]
    for entry in coalesced[1:]:  # force monotonic counts (ensureMonotonic)
        highest = max(highest, entry[1])
        entry[1] = highest
    if len(coalesced) < 2 or coalesced[-1][1] == 0:
        return math.nan
    rank = q * coalesced[-1][1]
    b = next((i for i in range(len(coalesced) - 1) if coalesced[i][1] >= rank), len(coalesced) - 1)
    if b == len(coalesced) - 1:
        return coalesced[-2][0]
    if b == 0 and coalesced[0][0] <= 0:
        return coalesced[0][0]
    start, end, count = 0.0, coalesced[b][0], coalesced[b][1]
    if b > 0:
        start = coalesced[b - 1][0]
        count -= coalesced[b - 1][1]
        rank -= coalesced[b - 1][1]
    return start + (end - start) * _divide(rank, count)


def _divide(a: float, b: float) -> float:
    """IEEE division, as Go's float64 does it (0/0 is NaN, x/0 is ±Inf): Prometheus answers NaN
    for a quantile that falls in an empty first bucket, not an error."""
    if b == 0:
        return math.nan if a == 0 else math.copysign(math.inf, a)
    return a / b


def bucket_at_or_above(buckets: Buckets, value: float) -> float:
    """The smallest finite bucket bound >= value (inf when there is none): a threshold whose
    exceedances the histogram counts exactly."""
    return min((bound for bound in buckets if not math.isinf(bound) and bound >= value), default=math.inf)


def above(buckets: Buckets, threshold: float) -> float:
    """Observations greater than `threshold`, which must be a bucket bound."""
    total = buckets.get(math.inf, 0.0)
    return max(0.0, total - buckets.get(threshold, total))


def difference(later: Buckets, earlier: Buckets) -> dict[float, float]:
    """Per-bucket counts between two readings of cumulative counters."""
    return {bound: count - earlier.get(bound, 0.0) for bound, count in later.items()}
