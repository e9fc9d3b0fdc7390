"""What every fake's faults share: a book of rules taken in the order they were added, the first
live one that matches a request used once (a rule is used `times` times; FOREVER: every time),
safe across the server's threads; and the count of a rule written as text (`x3`, `xinf`, or
nothing for once)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

FOREVER = -1


class Counted(Protocol):
    times: int


R = TypeVar("R", bound=Counted)


def times_of(text: str | None) -> int:
    return FOREVER if text == "inf" else int(text or 1)


class RuleBook(Generic[R]):
    def __init__(self) -> None:
        self.rules: list[R] = []
        self._lock = threading.Lock()

    def add(self, rule: R) -> R:
        with self._lock:
            self.rules.append(rule)
        return rule

    def take_first(self, matches: Callable[[R], bool]) -> R | None:
        """The first live rule `matches` accepts, with one of its uses consumed."""
        with self._lock:
            for rule in self.rules:
                if rule.times != 0 and matches(rule):
                    if rule.times > 0:
                        rule.times -= 1
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
