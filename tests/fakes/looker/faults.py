"""Faults the fake injects on demand, and its token rules.

A rule targets one API operation (its operationId in the Looker OpenAPI document, e.g.
"create_query_task") or "*" for every operation, and fires a given number of times. Rules
are consumed in the order they were added. They can also be written as text for the command
line: "create_query_task:429x2:retry=1", "query_task:502x1", "dashboard:delay=0.5x3".
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..fault_rules import FOREVER, RuleBook, times_of

ANY_OPERATION = "*"
FAULT_STATUSES = (429, 500, 502, 503, 504)
_TEXT = re.compile(
    r"^(?P<op>[a-z0-9_*]+):(?:(?P<status>\d{3})|delay=(?P<delay>\d+(?:\.\d+)?))"
    r"(?:x(?P<times>\d+|inf))?(?::retry=(?P<retry>\d+))?$"
)


class FaultSpecError(ValueError):
    """A fault written as text could not be understood."""


@dataclass
class Fault:
    operation: str
    status: int | None = None
    delay: float = 0.0
    times: int = 1
    retry_after: int | None = None

    def matches(self, operation: str) -> bool:
        return self.times != 0 and self.operation in (ANY_OPERATION, operation)

    @classmethod
    def parse(cls, text: str) -> "Fault":
        match = _TEXT.match(text.strip())
        if not match:
            raise FaultSpecError(
                f"fault {text!r}: expected OPERATION:STATUS[xN][:retry=S] or OPERATION:delay=SECONDS[xN], "
                "e.g. create_query_task:429x2:retry=1"
            )
        status = int(match["status"]) if match["status"] else None
        if status is not None and status not in FAULT_STATUSES:
            raise FaultSpecError(f"fault {text!r}: status {status} is not one of {FAULT_STATUSES}")
        retry = int(match["retry"]) if match["retry"] else (1 if status == 429 else None)
        return cls(match["op"], status=status, delay=float(match["delay"] or 0), times=times_of(match["times"]),
                   retry_after=retry)


@dataclass
class TokenRules:
    """When issued access tokens stop working (answered with 401 so clients log in again).

    `expires_in` is what login reports; `lifetime` and `max_calls` make the server reject a
    token earlier than it said, as a revoked or server-side expired token would be.
    """

    expires_in: int = 3600
    lifetime: float | None = None
    max_calls: int | None = None


class Faults(RuleBook[Fault]):
    def __init__(self) -> None:
        super().__init__()
        self.tokens = TokenRules()

    def rate_limit(self, operation: str, times: int = 1, retry_after: int = 1) -> Fault:
        """Answer `times` calls with 429 Too Many Requests and a Retry-After header."""
        return self.add(Fault(operation, status=429, times=times, retry_after=retry_after))

    def server_error(self, operation: str, status: int = 500, times: int = 1) -> Fault:
        """Answer `times` calls with a 5xx status (500, 502, 503 or 504)."""
        if status not in FAULT_STATUSES or status == 429:
            raise FaultSpecError(f"server_error status {status} is not a 5xx in {FAULT_STATUSES}")
        return self.add(Fault(operation, status=status, times=times))

    def slow(self, operation: str, seconds: float, times: int = FOREVER) -> Fault:
        """Hold `times` answers for `seconds` before sending them."""
        return self.add(Fault(operation, delay=seconds, times=times))

    def take(self, operation: str) -> Fault | None:
        """The first live rule for this operation, with one use consumed."""
        fault = self.take_first(lambda f: f.matches(operation))
        return dataclasses.replace(fault, times=1) if fault else None

    def clear(self) -> None:
        super().clear()
        self.tokens = TokenRules()
