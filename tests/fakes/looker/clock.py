"""The Looker fake's clock is the one all fakes share (tests/fakes/clock.py)."""
from tests.fakes.clock import ManualClock

__all__ = ["ManualClock"]
