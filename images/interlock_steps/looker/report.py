"""Shared by the Looker steps: the fail-on threshold and lists capped for results."""
from __future__ import annotations

import re

_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
# Entries kept of any list put in a result: all results of a step share Tekton's 4096-byte
# termination message, so no result may grow with the number of targets. Full lists go to the
# report workspace, the log and the audit log.
LISTED = 20


def first(items: list[str], limit: int = LISTED) -> list[str]:
    """The first `limit` items: what a result may list."""
    return list(items)[:limit]


def listing(items: list[str], limit: int = 10) -> str:
    """Items joined for a message, the rest counted: "a; b; … and 78 more"."""
    shown = "; ".join(items[:limit])
    return f"{shown}; … and {len(items) - limit} more" if len(items) > limit else shown


def fail_on(text: str) -> str:
    """Param parser: `any` (one failure fails the step), `none`, a count `3` or a share `10%`
    of failures that may be tolerated."""
    value = text.strip().lower()
    if value in ("any", "none") or value.isdigit() or _PERCENT.match(value):
        return value
    raise ValueError("expected any, none, a count such as 3 or a share such as 10%")


def too_many(failed: int, total: int, rule: str) -> bool:
    """Whether `failed` of `total` breaks the `fail-on` rule."""
    if rule == "none" or failed == 0:
        return False
    if rule == "any":
        return True
    if m := _PERCENT.match(rule):
        return failed * 100 > float(m.group(1)) * total
    return failed > int(rule)
