"""A clock tests move by hand, so timed states (query tasks, PDT builds, token lifetimes, custom
jobs, long-running operations) are exact instead of depending on sleeps."""
from __future__ import annotations

import threading


class ManualClock:
    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"ManualClock.advance({seconds}): time only moves forward")
        with self._lock:
            self._now += seconds
            return self._now
