"""Faults the fake Vertex AI injects on demand.

A rule targets one method by its short discovery id ("customJobs.create", "endpoints.predict",
"models.operations.get"…) or "*" for all, fires a number of times (or forever), and is consumed
in the order rules were added. As text (the standalone server's --fault):

    customJobs.create:429x2:retry=1     rate limited twice, RetryInfo asks for 1 s
    customJobs.get:503                  UNAVAILABLE once
    customJobs.create:quota             RESOURCE_EXHAUSTED with a QuotaFailure, once
    *:401xinf                           every call unauthenticated
    customJobs.create:403               PERMISSION_DENIED once
    customJobs.create:503:lost          the job is created, but the answer is lost (503 instead)
    endpoints.predict:delay=0.5x3       the next three answers held 0.5 s
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..fault_rules import FOREVER, RuleBook, times_of
from . import errors

ANY = "*"
STATUSES = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
            401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}
_TEXT = re.compile(r"^(?P<op>[A-Za-z.*]+):(?:(?P<status>\d{3})|(?P<quota>quota)|delay=(?P<delay>\d+(?:\.\d+)?))"
                   r"(?:x(?P<times>\d+|inf))?(?::retry=(?P<retry>\d+(?:\.\d+)?))?(?P<lost>:lost)?$")


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    operation: str
    status: int | None = None        # an HTTP status of STATUSES
    quota: bool = False              # RESOURCE_EXHAUSTED for a quota, not a rate limit
    delay: float = 0.0
    times: int = 1
    retry_after: float = 1.0         # RetryInfo.retryDelay on 429 and 503
    lost: bool = False               # the call takes effect, then the error replaces its answer

    def error(self, permission: str, resource: str) -> errors.VertexError | None:
        if self.quota:
            return errors.quota_exceeded("aiplatform.googleapis.com/custom_model_training_cpus")
        if self.status == 429:
            return errors.rate_limited(self.retry_after)
        if self.status == 503:
            return errors.unavailable(self.retry_after)
        if self.status == 401:
            return errors.unauthenticated()
        if self.status == 403:
            return errors.permission_denied(permission, resource)
        if self.status is not None:
            return errors.VertexError(STATUSES[self.status], "Internal error encountered." if self.status == 500
                                      else "Deadline expired before operation could complete.")
        return None

    @classmethod
    def parse(cls, text: str) -> Fault:
        match = _TEXT.match(text.strip())
        if not match:
            raise FaultSpecError(f"fault {text!r}: expected METHOD:STATUS[xN][:retry=S], METHOD:quota[xN] or "
                                 "METHOD:delay=SECONDS[xN], e.g. customJobs.create:429x2:retry=1")
        status = int(match["status"]) if match["status"] else None
        if status is not None and status not in STATUSES:
            raise FaultSpecError(f"fault {text!r}: status {status} is not one of {sorted(STATUSES)}")
        return cls(match["op"], status=status, quota=bool(match["quota"]), delay=float(match["delay"] or 0),
                   times=times_of(match["times"]), retry_after=float(match["retry"] or 1), lost=bool(match["lost"]))


class Faults(RuleBook[Fault]):
    def fail(self, operation: str, status: int, times: int = 1, retry_after: float = 1.0) -> Fault:
        if status not in STATUSES:
            raise FaultSpecError(f"status {status} is not one of {sorted(STATUSES)}")
        return self.add(Fault(operation, status=status, times=times, retry_after=retry_after))

    def lose_answer(self, operation: str, status: int = 503, times: int = 1) -> Fault:
        """The call takes effect (a job is created…) but its answer is replaced by a 5xx: what a
        client sees when a connection drops after the server acted."""
        return self.add(Fault(operation, status=status, times=times, lost=True))

    def quota(self, operation: str, times: int = 1) -> Fault:
        return self.add(Fault(operation, quota=True, times=times))

    def slow(self, operation: str, seconds: float, times: int = FOREVER) -> Fault:
        return self.add(Fault(operation, delay=seconds, times=times))

    def take(self, operation: str) -> Fault | None:
        """The first live rule for this method, with one use consumed."""
        fault = self.take_first(lambda f: f.operation in (ANY, operation))
        return dataclasses.replace(fault, times=1) if fault else None
