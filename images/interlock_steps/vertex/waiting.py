"""Waiting on something slow (a training job, a long-running operation) with few API calls.

Poll intervals start at `initial` and grow ×1.5, but never beyond max(30 s, 10 % of the time
waited so far), and at most 5 minutes. So the end of a job is noticed within max(30 s, 10 % of
its running time), and a 30-minute job costs 32 polls instead of the 182 of a fixed
10-second poll (`make bench` measures both: scripts/interlock/benchmarks/vertex.py).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from interlock_steps.runtime import Deadline, DeadlineExceeded

T = TypeVar("T")
FLOOR = 30.0      # seconds an interval may always reach
SHARE = 0.1       # of the time waited so far, when that is more
GROWTH = 1.5
MAXIMUM = 300.0


@dataclass(frozen=True)
class Backoff:
    initial: float = 5.0
    growth: float = GROWTH
    floor: float = FLOOR
    share: float = SHARE
    maximum: float = MAXIMUM

    def after(self, previous: float | None, waited: float) -> float:
        """The next interval, given the previous one and the seconds waited so far."""
        if previous is None:
            return min(self.initial, self.maximum)
        return min(previous * self.growth, max(self.floor, self.share * waited), self.maximum)


def wait_until(poll: Callable[[], T], finished: Callable[[T], bool], *, current: T, backoff: Backoff,
               clock: Callable[[], float], sleep: Callable[[float], None], deadline: Deadline,
               margin: float, what: str) -> T:
    """Call `poll` until `finished(value)`, starting from `current` (the value last seen).

    Keeps `margin` seconds of the deadline for the caller (to cancel what it waited on): when
    only that is left, raises DeadlineExceeded. A signal handler may raise from `sleep`.
    """
    started, interval, value = clock(), None, current
    while not finished(value):
        interval = backoff.after(interval, clock() - started)
        left = deadline.remaining() - margin
        if left <= 0:
            raise DeadlineExceeded(f"deadline of {deadline.seconds:g}s reached while waiting for {what}",
                                   deadline_s=deadline.seconds, waited_s=round(clock() - started, 3))
        sleep(min(interval, left))
        value = poll()
    return value
