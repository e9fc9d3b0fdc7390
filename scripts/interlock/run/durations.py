"""Go duration strings as Tekton writes timeouts: "1h", "1h30m", "90s", "500ms", "0" (no limit)."""
from __future__ import annotations

import re

from interlock.run.errors import InvalidRun

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")


def parse_duration(text: object, where: str) -> float | None:
    """Seconds, or None for "0" (Tekton: no timeout). Raises InvalidRun naming `where`."""
    s = str(text).strip()
    if s in ("0", "0s"):
        return None
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise InvalidRun(where, f"{text!r} is not a duration (examples: 1h, 10m30s, 90s, 500ms)")
    return total


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
