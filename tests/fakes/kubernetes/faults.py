"""Faults the fake API server injects on demand.

A rule targets a verb (get, list, create, update, patch, delete, or `*`) on a resource (a plural
such as `virtualservices`, or `*`) and fires a number of times (`inf`: for ever). Rules are taken
in the order they were added; the first live one that matches a request is used once.

- a status: 409 (Conflict Status), 429 (with Retry-After), 500, 502, 503, 504;
- a delay before answering;
- a concurrent write: before the request is handled, another writer changes the stored object
  (by default it bumps an annotation; `edit` can change anything, e.g. another route). The object's
  resourceVersion moves on, so a client that patches with the version it read gets a genuine 409,
  and one that does not would clobber the edit. A storm is `times=N`.

As text, for the command line: `patch:virtualservices:409x3`, `get:*:503x1`,
`get:virtualservices:429x2:retry=1`, `*:*:delay=0.5x2`, `patch:virtualservices:concurrent-writex5`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..fault_rules import FOREVER, RuleBook, times_of

ANY = "*"
STATUSES = (409, 429, 500, 502, 503, 504)
CONCURRENT_ANNOTATION = "fake.interlock.dev/concurrent-writes"
_TEXT = re.compile(r"^(?P<verb>[a-z*]+):(?P<resource>[a-z0-9.*-]+):"
                   r"(?:(?P<status>\d{3})|delay=(?P<delay>\d+(?:\.\d+)?)|(?P<write>concurrent-write))"
                   r"(?:x(?P<times>\d+|inf))?(?::retry=(?P<retry>\d+))?$")


class FaultSpecError(ValueError):
    pass


def bump_annotation(obj: dict[str, Any]) -> None:
    """The default concurrent edit: a counter in an annotation (a real change, so the version moves)."""
    annotations = obj.setdefault("metadata", {}).setdefault("annotations", {})
    annotations[CONCURRENT_ANNOTATION] = str(int(annotations.get(CONCURRENT_ANNOTATION, "0")) + 1)


@dataclass
class Fault:
    verb: str = ANY
    resource: str = ANY
    status: int | None = None
    delay: float = 0.0
    retry_after: int | None = None
    edit: Callable[[dict[str, Any]], None] | None = None
    times: int = 1

    def matches(self, verb: str, resource: str) -> bool:
        return self.times != 0 and self.verb in (ANY, verb) and self.resource in (ANY, resource)

    @classmethod
    def parse(cls, text: str) -> Fault:
        match = _TEXT.match(text.strip())
        if not match:
            raise FaultSpecError(f"fault {text!r}: expected VERB:RESOURCE:STATUS|delay=SECONDS|concurrent-write[xN][:retry=S],"
                                 " e.g. patch:virtualservices:409x3")
        status = int(match["status"]) if match["status"] else None
        if status is not None and status not in STATUSES:
            raise FaultSpecError(f"fault {text!r}: status {status} is not one of {STATUSES}")
        retry = int(match["retry"]) if match["retry"] else (1 if status == 429 else None)
        return cls(match["verb"], match["resource"], status=status, delay=float(match["delay"] or 0),
                   retry_after=retry, edit=bump_annotation if match["write"] else None,
                   times=times_of(match["times"]))


class Faults(RuleBook[Fault]):
    def fail(self, verb: str, resource: str, status: int, times: int = 1, retry_after: int | None = None) -> Fault:
        """Answer `times` matching requests with `status` (429 carries Retry-After)."""
        if status not in STATUSES:
            raise FaultSpecError(f"status {status} is not one of {STATUSES}")
        return self.add(Fault(verb, resource, status=status, times=times,
                              retry_after=retry_after if retry_after is not None else (1 if status == 429 else None)))

    def slow(self, verb: str, resource: str, seconds: float, times: int = FOREVER) -> Fault:
        return self.add(Fault(verb, resource, delay=seconds, times=times))

    def concurrent_write(self, verb: str, resource: str, times: int = 1,
                         edit: Callable[[dict[str, Any]], None] = bump_annotation) -> Fault:
        """Before each of `times` matching requests, another writer changes the stored object."""
        return self.add(Fault(verb, resource, edit=edit, times=times))

    def take(self, verb: str, resource: str) -> Fault | None:
        return self.take_first(lambda f: f.matches(verb, resource))
