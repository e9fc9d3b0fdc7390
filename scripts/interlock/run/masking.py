"""Secret values out of everything the runner prints or keeps: live logs, log files, the TaskRun
message, `-o json`, the summary and outcome.json.

Output is masked line by line, so a secret is masked whole and also line by line: every line of
a multi-line value (a PEM key) is a value of its own. Pieces under MIN_LENGTH characters are
left alone: masking them would garble ordinary output.
"""
from __future__ import annotations

from typing import Any, Iterable

MIN_LENGTH = 3
MASK = "***"


class Masker:
    def __init__(self, values: Iterable[str] = ()):
        pieces = set()
        for value in values:
            for piece in (value, *value.splitlines()):
                if len(piece.strip()) >= MIN_LENGTH:
                    pieces.add(piece.strip())
        self.pieces = sorted(pieces, key=len, reverse=True)  # longest first: no partial leftovers

    def __call__(self, text: str) -> str:
        for piece in self.pieces:
            if piece in text:
                text = text.replace(piece, MASK)
        return text

    def __or__(self, other: Masker) -> Masker:
        out = Masker()
        out.pieces = sorted(set(self.pieces) | set(other.pieces), key=len, reverse=True)
        return out

    def tree(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string masked."""
        if not self.pieces:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        return value
