"""One overall deadline per step, shared by every client and retry loop.

Monotonic, so wall-clock jumps do not move it. Retry adapters ask it before every
sleep: a wait that would end past the deadline fails now with DeadlineExceeded
instead of sleeping and failing later.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import DeadlineExceeded


class Deadline:
    """A point in monotonic time by which the step must be done."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds is not None and seconds <= 0:
            raise ValueError(f"deadline must be positive seconds or None, got {seconds!r}")
        self.seconds = seconds
        self._clock = clock
        self._ends_at = None if seconds is None else clock() + seconds

    def remaining(self) -> float:
        """Seconds left (infinite when there is no deadline, never negative)."""
        if self._ends_at is None:
            return float("inf")
        return max(0.0, self._ends_at - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def check(self, doing: str) -> None:
        """Raise DeadlineExceeded if no time is left for `doing`."""
        if self.expired:
            raise DeadlineExceeded(
                f"deadline of {self.seconds:g}s exceeded before {doing}", deadline_s=self.seconds
            )

    def ensure_time_for(self, wait: float, doing: str) -> None:
        """Raise DeadlineExceeded if waiting `wait` seconds would pass the deadline."""
        if wait >= self.remaining():
            raise self.exceeded(wait, doing)

    def exceeded(self, wait: float, doing: str) -> DeadlineExceeded:
        """The error for a wait of `wait` seconds that would pass the deadline."""
        left = self.remaining()
        return DeadlineExceeded(
            f"deadline of {self.seconds:g}s would pass while waiting {wait:.3g}s before {doing}"
            f" ({left:.3g}s left)",
            deadline_s=self.seconds,
            wait_s=round(wait, 3),
            remaining_s=round(left, 3),
        )

    def cap(self, timeout: float | None) -> float | None:
        """A per-request timeout shortened so the request cannot outlive the deadline."""
        left = self.remaining()
        if left == float("inf"):
            return timeout
        return left if timeout is None else min(timeout, left)
