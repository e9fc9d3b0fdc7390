"""Go duration strings as Tekton writes timeouts: "1h", "1h30m", "90s", "500ms", "0" (no limit)."""
from __future__ import annotations

from interlock import go_duration
from interlock.run.errors import InvalidRun


def parse_duration(text: object, where: str) -> float | None:
    """Seconds, or None for a zero duration (Tekton: no timeout). Raises InvalidRun naming `where`
    for what the API server would refuse, and for a negative duration (Tekton's webhook refuses it)."""
    try:
        nanoseconds = go_duration.parse(str(text))
    except ValueError as e:
        raise InvalidRun(where, f"{text!r} is not a duration ({e}; examples: 1h, 10m30s, 90s, 500ms)") from None
    if nanoseconds < 0:
        raise InvalidRun(where, f"{text!r} is not a duration Tekton accepts: it is negative")
    return nanoseconds / 1e9 or None


def format_duration(seconds: float | None) -> str:
    """Seconds as Go prints a duration ("1m0s", "2s", "1h0m0s")."""
    if seconds is None:
        return "0s"
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds:g}s"
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"
