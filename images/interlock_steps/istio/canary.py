"""The canary walk as a state machine over an abstract world, so that the real step, the tests and
the benchmark's thousand simulated analyses run the very same decisions.

For each step weight: shift the canary to it, then look at the metrics every `check_every` seconds.
- Any look whose test rejects (the canary is worse on errors or latency) ends the walk: roll back.
- When `interval` has passed at this weight: the custom checks run; one out of range rolls back.
  The step passes when both sides served at least `min_requests` since the shift (and no custom
  check came back empty). Otherwise the interval is inconclusive (too little traffic, no data,
  Prometheus down): the step waits one more interval at the same weight, and past
  `max_inconclusive` inconclusive intervals in all, `on_inconclusive` decides: `rollback`, or
  `fail` (stop where it is, weights left as they are, the task fails: a person or a `finally`
  istio-rollback decides).
After the last step: promote (canary to 100) or hold there (`promote: false`).

Rolling back restores exactly the weights found at the start; the caller does that (canary_shift),
for every way the walk can end early, errors and cancellation included.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .judge import Judge, Reading

PROMOTED, ROLLED_BACK, HELD = "promoted", "rolled-back", "held"
ON_INCONCLUSIVE = ("rollback", "fail")


class World(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def set_canary(self, weight: int) -> None: ...

    def read(self) -> Reading | str:
        """All counters at one instant, or why there are none (e.g. "Prometheus unavailable: …")."""

    def checks(self) -> list[dict[str, Any]]:
        """Custom checks at an interval's end: dicts with name, value, ok (True/False/None for no data)."""


@dataclass(frozen=True)
class Plan:
    steps: tuple[int, ...]  # analysed weights, each below 100
    interval: float
    check_every: float
    promote: bool = True
    min_requests: int = 100
    max_inconclusive: int = 3
    on_inconclusive: str = "rollback"

    def __post_init__(self) -> None:
        if not self.steps or any(not 0 < w < 100 for w in self.steps) or list(self.steps) != sorted(set(self.steps)):
            raise ValueError(f"steps must increase strictly within 1..99, got {list(self.steps)}")
        if self.on_inconclusive not in ON_INCONCLUSIVE:
            raise ValueError(f"on_inconclusive must be one of {ON_INCONCLUSIVE}")


@dataclass
class Outcome:
    decision: str  # promoted, rolled-back or held
    reason: str
    steps_completed: int
    weight: int  # the canary weight the walk ended at (before any rollback)
    failed: bool  # whether the task should fail
    observations: list[dict[str, Any]] = field(default_factory=list)


class Cancelled(Exception):
    """The walk was told to stop (SIGTERM from a Tekton timeout or cancellation)."""


def walk(plan: Plan, judge: Judge, world: World, *, start: Reading, log: Callable[..., None],
         observe: Callable[[dict[str, Any]], None] = lambda _: None,
         time_left: Callable[[], float] = lambda: math.inf) -> Outcome:
    """Run the plan from the `start` reading (taken before the first shift). Raises whatever the
    world raises (the caller rolls back); `time_left` says how long the walk may still run before
    it must stop and roll back."""
    observations: list[dict[str, Any]] = []

    def note(entry: dict[str, Any]) -> None:
        observations.append(entry)
        observe(entry)

    last = start
    inconclusive = 0
    completed = 0
    weight = 0
    for weight in plan.steps:
        world.set_canary(weight)
        log(f"canary at {weight}%", weight=weight)
        shifted, window_end = world.now(), world.now() + plan.interval
        canary_requests = stable_requests = 0.0
        while True:
            wait = max(0.0, min(plan.check_every, window_end - world.now()))
            if wait >= time_left():
                return Outcome(ROLLED_BACK, f"the step's deadline is near (at {weight}%)", completed, weight, True,
                               observations)
            world.sleep(wait)
            reading = world.read()
            entry: dict[str, Any] = {"at": world.now(), "weight": weight,
                                     "step_seconds": round(world.now() - shifted, 3)}
            if isinstance(reading, str):
                note({**entry, "no_data": reading})
            else:
                verdict = judge.look(last, reading)
                last = reading
                canary_requests += max(0.0, verdict.canary.requests)
                stable_requests += max(0.0, verdict.stable.requests)
                decision = f"worse on {verdict.worse}" if verdict.worse else "continue"
                note({**entry, "queries": reading.queries, **verdict.report, "decision": decision})
                if verdict.worse:
                    test = judge.errors if verdict.worse == "errors" else judge.latency
                    return Outcome(ROLLED_BACK, f"canary worse than stable on {verdict.worse} at {weight}% "
                                   f"(p={test.p_value:.2g} < {test.alpha:.2g})", completed, weight, True, observations)
            if world.now() < window_end - 1e-9:
                continue
            checks = world.checks()
            failed = [c for c in checks if c.get("ok") is False]
            if checks:
                note({"at": world.now(), "weight": weight, "checks": checks,
                      "decision": "check failed" if failed else "checks passed"})
            if failed:
                return Outcome(ROLLED_BACK, f"custom check {failed[0]['name']} out of range at {weight}%: "
                               f"{failed[0].get('value')}", completed, weight, True, observations)
            enough = canary_requests >= plan.min_requests and stable_requests >= plan.min_requests
            if enough and not any(c.get("ok") is None for c in checks):
                completed += 1
                log(f"step {weight}% passed", weight=weight, canary_requests=canary_requests,
                    stable_requests=stable_requests)
                break
            inconclusive += 1
            why = (f"too little traffic at {weight}% (canary {canary_requests:g}, stable {stable_requests:g} requests; "
                   f"min-requests {plan.min_requests})" if not enough else f"a custom check had no data at {weight}%")
            note({"at": world.now(), "weight": weight, "decision": "inconclusive", "reason": why,
                  "inconclusive": inconclusive})
            if inconclusive > plan.max_inconclusive:
                reason = (f"{inconclusive} inconclusive intervals (max-inconclusive {plan.max_inconclusive}); "
                          f"last: {why}")
                if plan.on_inconclusive == "fail":
                    return Outcome(HELD, reason, completed, weight, True, observations)
                return Outcome(ROLLED_BACK, reason, completed, weight, True, observations)
            window_end += plan.interval
    if plan.promote:
        world.set_canary(100)
        return Outcome(PROMOTED, f"all {completed} steps passed", completed, 100, False, observations)
    return Outcome(HELD, f"all {completed} steps passed; promote is false", completed, weight, False, observations)
