"""What a destination does with the requests it gets: how many fail, how long they take.

Deterministic by design, so scenario tests reproduce: errors are spread evenly at the exact
configured rate (an error "debt" accumulates and is paid in whole requests), and latencies walk the
distribution's quantiles along a van der Corput sequence (low-discrepancy: any run of requests has
close to the true distribution). Counters are cumulative, as an Envoy sidecar keeps them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from statistics import NormalDist

# Istio's default buckets for istio_request_duration_milliseconds (milliseconds).
ISTIO_BUCKETS_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
                    1800000, 3600000)
_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class Latency:
    """Log-normal latency: `median_ms` and the spread `sigma` of its logarithm."""

    median_ms: float = 40.0
    sigma: float = 0.4

    def quantile(self, u: float) -> float:
        return self.median_ms * math.exp(self.sigma * _STANDARD_NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12)))

    def cdf(self, ms: float) -> float:
        return 0.0 if ms <= 0 else _STANDARD_NORMAL.cdf(math.log(ms / self.median_ms) / self.sigma)


@dataclass(frozen=True)
class Behaviour:
    """One destination's workload and quality. With `flap_seconds`, the error rate switches between
    `error_rate` and `flap_error_rate` every `flap_seconds` (starting with `error_rate`)."""

    workload: str
    error_rate: float = 0.0
    latency: Latency = Latency()
    flap_seconds: float = 0.0
    flap_error_rate: float = 0.0

    def error_rate_at(self, elapsed: float) -> float:
        if self.flap_seconds > 0 and int(elapsed // self.flap_seconds) % 2 == 1:
            return self.flap_error_rate
        return self.error_rate

    @classmethod
    def parse(cls, text: str) -> tuple[str, Behaviour]:
        """`KEY=WORKLOAD[:errors=0.01][:latency=MEDIAN_MS/SIGMA][:flap=SECONDS/ERROR_RATE]`."""
        match = re.fullmatch(r"([^=:]+)=([a-z0-9][-a-z0-9.]*)((?::[a-z]+=[^:]+)*)", text.strip())
        if not match:
            raise ValueError(f"destination {text!r}: expected KEY=WORKLOAD[:errors=R][:latency=MS/SIGMA][:flap=S/R]")
        key, workload, options = match.groups()
        fields: dict[str, object] = {}
        for option in filter(None, options.split(":")):
            name, _, value = option.partition("=")
            try:
                if name == "errors":
                    fields["error_rate"] = float(value)
                elif name == "latency":
                    median, _, sigma = value.partition("/")
                    fields["latency"] = Latency(float(median), float(sigma or 0.4))
                elif name == "flap":
                    seconds, _, rate = value.partition("/")
                    fields["flap_seconds"], fields["flap_error_rate"] = float(seconds), float(rate)
                else:
                    raise ValueError(f"unknown option {name!r}")
            except ValueError as error:
                raise ValueError(f"destination {text!r}: {error}") from None
        return key, cls(workload, **fields)  # type: ignore[arg-type]


def van_der_corput(k: int) -> float:
    """The k-th point (k >= 1) of the base-2 van der Corput sequence in (0, 1)."""
    value, denominator = 0.0, 1.0
    while k:
        k, digit = divmod(k, 2)
        denominator *= 2
        value += digit / denominator
    return value


@dataclass
class Counters:
    """Cumulative counters of one workload, as its sidecar exports them."""

    ok: int = 0
    errors: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(ISTIO_BUCKETS_MS))
    buckets_errors: list[int] = field(default_factory=lambda: [0] * len(ISTIO_BUCKETS_MS))
    sum_ms: float = 0.0
    sum_errors_ms: float = 0.0

    @property
    def requests(self) -> int:
        return self.ok + self.errors


@dataclass
class Stream:
    """Serves requests for one destination, deterministically."""

    behaviour: Behaviour
    counters: Counters = field(default_factory=Counters)
    served: int = 0
    _error_debt: float = 0.0

    def serve(self, n: int, elapsed: float) -> None:
        self._error_debt += n * self.behaviour.error_rate_at(elapsed)
        errors = min(n, int(self._error_debt))
        self._error_debt -= errors
        for i in range(n):
            self.served += 1
            ms = self.behaviour.latency.quantile(van_der_corput(self.served))
            failed = i < errors
            counts = self.counters.buckets_errors if failed else self.counters.buckets
            for b, bound in enumerate(ISTIO_BUCKETS_MS):
                if ms <= bound:
                    counts[b] += 1
            if failed:
                self.counters.errors += 1
                self.counters.sum_errors_ms += ms
            else:
                self.counters.ok += 1
                self.counters.sum_ms += ms
