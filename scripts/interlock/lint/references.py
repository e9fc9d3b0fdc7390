"""Tekton variable references (`$(params.x)`, `$(tasks.t.results.r)`, …) found in strings.

https://tekton.dev/docs/pipelines/variables/ lists the forms; names may be written with
dots (`params.x`) or brackets (`params["x"]`, `params['x']`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from interlock.lint.yaml_loader import Key

_EXPR = re.compile(r"\$\(([^()]*)\)")
_NAME = r"""(?:\.([A-Za-z0-9_-]+)|\[["']([^"']+)["']\])"""  # .name or ["name"]


def _pattern(*parts: str) -> re.Pattern[str]:
    return re.compile("^" + "".join(parts))


PARAM = _pattern("params", _NAME)
RESULT = _pattern("results", _NAME)
STEP_RESULT = _pattern("step\\.results", _NAME)
WORKSPACE = _pattern("workspaces", _NAME, r"\.(path|bound|claim|volume)$")
STEP = _pattern(r"steps\.([A-Za-z0-9_-]+)\.(results|exitCode)", r"(?:", _NAME, r")?")
TASK = _pattern(r"(tasks|finally)\.([A-Za-z0-9_-]+)\.(results|status|reason)", r"(?:", _NAME, r")?")


@dataclass(frozen=True)
class Ref:
    key: Key  # where the string is in the document
    expr: str  # the text inside $( )
    in_script: bool
    offset: int  # where the $( starts in the string


def strings(node: Any, key: Key = ()) -> Iterator[tuple[Key, str]]:
    """Every string value under node with its document path."""
    if isinstance(node, str):
        yield key, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, key + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from strings(v, key + (i,))


def refs(node: Any, key: Key = (), skip: tuple[str, ...] = ()) -> Iterator[Ref]:
    """Every $(...) under node; subtrees whose key is in skip are not entered."""
    for at, text in strings(node, key):
        if any(part in skip for part in at[len(key):]):
            continue
        for m in _EXPR.finditer(text):
            yield Ref(at, m.group(1).strip(), at[-1:] == ("script",), m.start())


def name(m: re.Match[str], first_group: int = 1) -> str:
    """The name matched by _NAME starting at first_group (dot or bracket form)."""
    return m.group(first_group) or m.group(first_group + 1)
