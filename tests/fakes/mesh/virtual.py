"""The canary's world in virtual time (canary.World): no Kubernetes, no Prometheus, no waiting.

The same traffic model as the simulator, with time that moves only when the walk sleeps, so
thousands of analyses run in seconds (the benchmark) and unit tests of the walk are exact.
Deterministic by default (traffic.Stream); with a numpy Generator, counts are random: requests
Poisson, the split binomial by the weight, errors binomial, latencies multinomial over Istio's
buckets.
"""
from __future__ import annotations

import math
from typing import Any

from interlock_steps.istio.judge import Reading, Side

from .traffic import ISTIO_BUCKETS_MS, Behaviour, Counters, Stream

BOUNDS = (*map(float, ISTIO_BUCKETS_MS), math.inf)


def _side(counters: Counters) -> Side:
    cumulative = [a + b for a, b in zip(counters.buckets, counters.buckets_errors, strict=True)]
    return Side(float(counters.requests), float(counters.errors),
                {**dict(zip(BOUNDS, map(float, cumulative))), math.inf: float(counters.requests)})


class VirtualWorld:
    def __init__(self, *, stable: Behaviour, canary: Behaviour, rps: float, rng: Any = None, start: float = 0.0) -> None:
        self.t = start
        self.rps = rps
        self.rng = rng
        self.streams = {"stable": Stream(stable), "canary": Stream(canary)}
        self.weight = 0
        self.applied: list[tuple[float, int]] = []  # (time, canary weight) of every shift
        self.custom: list[dict[str, Any]] = []
        self._carry = {"stable": 0.0, "canary": 0.0}

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def set_canary(self, weight: int) -> None:
        self.weight = weight
        self.applied.append((self.t, weight))

    def read(self) -> Reading | str:
        return Reading(self.t, _side(self.streams["canary"].counters), _side(self.streams["stable"].counters))

    def checks(self) -> list[dict[str, Any]]:
        return list(self.custom)

    def advance(self, seconds: float) -> None:
        if seconds <= 0:
            return
        shares = {"canary": self.weight / 100, "stable": 1 - self.weight / 100}
        if self.rng is None:
            for key, stream in self.streams.items():
                self._carry[key] += self.rps * seconds * shares[key]
                n = int(self._carry[key])
                self._carry[key] -= n
                stream.serve(n, self.t)
        else:
            total = int(self.rng.poisson(self.rps * seconds))
            canary = int(self.rng.binomial(total, shares["canary"]))
            for key, n in (("canary", canary), ("stable", total - canary)):
                self._random(self.streams[key], n)
        self.t += seconds

    def _random(self, stream: Stream, n: int) -> None:
        behaviour, counters = stream.behaviour, stream.counters
        errors = int(self.rng.binomial(n, behaviour.error_rate_at(self.t)))
        below = [behaviour.latency.cdf(bound) for bound in ISTIO_BUCKETS_MS]
        probabilities = [below[0], *(b - a for a, b in zip(below, below[1:])), 1.0 - below[-1]]
        for count, target in ((n - errors, counters.buckets), (errors, counters.buckets_errors)):
            if count:
                per_bucket = self.rng.multinomial(count, probabilities)
                running = 0
                for i in range(len(ISTIO_BUCKETS_MS)):
                    running += int(per_bucket[i])
                    target[i] += running
        counters.ok += n - errors
        counters.errors += errors
