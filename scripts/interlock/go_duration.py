"""Go's time.ParseDuration, which Kubernetes uses to decode every metav1.Duration field (Tekton's
step, task and pipeline timeouts): `[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+`, units ns, us (µs, μs), ms,
s, m, h; "0" alone needs no unit. A line-by-line port of Go's src/time/format.go (ParseDuration,
leadingInt, leadingFraction) with its error messages and float64 arithmetic, so lint refuses
exactly what the API server refuses.
"""
from __future__ import annotations

NANOSECONDS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
               "m": 60_000_000_000, "h": 3_600_000_000_000}
_TOP = 1 << 63  # a Duration is an int64 of nanoseconds; Go accumulates in a uint64 up to 1<<63
DIGITS = "0123456789"


def parse(text: str) -> int:
    """Nanoseconds of a Go duration string; ValueError with Go's message when it is not one."""
    invalid = ValueError(f'time: invalid duration "{text}"')
    s, negative = text, False
    if s[:1] in ("-", "+"):
        negative, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if s[0] != "." and s[0] not in DIGITS:  # the next character must be [0-9.]
            raise invalid
        length = len(s)
        value, s = _leading_int(s)
        if value is None:
            raise invalid
        before = len(s) != length  # digits before the dot
        fraction, scale, after = 0, 1.0, False
        if s[:1] == ".":
            s = s[1:]
            length = len(s)
            fraction, scale, s = _leading_fraction(s)
            after = len(s) != length
        if not before and not after:  # "." or ".s"
            raise invalid
        end = next((i for i, c in enumerate(s) if c == "." or c in DIGITS), len(s))
        if end == 0:
            raise ValueError(f'time: missing unit in duration "{text}"')
        unit, s = s[:end], s[end:]
        if unit not in NANOSECONDS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        scale_ns = NANOSECONDS[unit]
        if value > _TOP // scale_ns:
            raise invalid
        value *= scale_ns
        if fraction > 0:
            value += int(float(fraction) * (float(scale_ns) / scale))  # float64, truncated as Go's uint64()
            if value > _TOP:
                raise invalid
        total += value
        if total > _TOP:
            raise invalid
    if negative:
        return -total
    if total > _TOP - 1:
        raise invalid
    return total


def _leading_int(s: str) -> tuple[int | None, str]:
    """Go's leadingInt: the leading digits' value (None past 1<<63) and the rest."""
    value, i = 0, 0
    while i < len(s) and s[i] in DIGITS:
        if value > _TOP // 10:
            return None, s
        value = value * 10 + DIGITS.index(s[i])
        if value > _TOP:
            return None, s
        i += 1
    return value, s[i:]


def _leading_fraction(s: str) -> tuple[int, float, str]:
    """Go's leadingFraction: digits after the dot as (value, scale), ignoring those past int64."""
    value, scale, i, overflow = 0, 1.0, 0, False
    while i < len(s) and s[i] in DIGITS:
        if not overflow:
            if value > (_TOP - 1) // 10:
                overflow = True
            else:
                bigger = value * 10 + DIGITS.index(s[i])
                if bigger > _TOP:
                    overflow = True
                else:
                    value, scale = bigger, scale * 10
        i += 1
    return value, scale, s[i:]
