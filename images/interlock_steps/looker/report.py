"""Shared by the Looker steps: the fail-on threshold (the JSON report is the runtime's write_report)."""
from __future__ import annotations

import re

from interlock_steps.runtime.report import write_report  # noqa: F401 - the Looker steps import it from here

_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")


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
