"""Tekton variable substitution: `$(params.x)`, `$(context.taskRun.name)`, `$(tasks.t.results.r)`.

`variables` maps a full reference name, without `$( )`, to its value:
    {"params.url": "http://…", "params.flags": ["-v", "-x"], "params.cfg": {"a": "1"},
     "context.taskRun.name": "demo", "results.digest.path": "/tekton/results/digest"}

Rules (Tekton v1):
- `$(params["x"])` and `$(params['x'])` mean `$(params.x)` (the bracket form allows dots in names).
- A list item that is exactly `$(params.arr[*])` expands into the array's items; `$(params.arr[1])`
  is one item; `$(params.obj.key)` is one key of an object param.
- A string that is exactly `$(params.arr[*])` or `$(params.obj[*])` (outside a list) becomes the
  array/object itself, as a pipelineTask param value that forwards a whole param does.
- References under a known prefix that cannot be resolved raise UndeclaredReference; anything else
  (shell `$(date)`, `$(credentials.path)`) is left as written, as Tekton leaves it.
"""
from __future__ import annotations

import json
import re
from typing import Iterable, Mapping

# The roots Tekton substitutes; a reference under one of them must resolve.
KNOWN_PREFIXES = frozenset({"params", "context", "results", "workspaces", "steps", "tasks", "step"})
# The context variables Tekton knows (task_validation.go validateTaskContextVariables,
# pipeline_validation.go validatePipelineContextVariables); any other `$(context.…)` is left
# as written, as Tekton leaves it
KNOWN_CONTEXT = ("context.taskRun.", "context.task.", "context.pipelineRun.", "context.pipeline.",
                 "context.pipelineTask.")

# `$(` prefix then `.x`, `["x"]`, `[*]`, `[0]` segments, then `)`. No spaces: `$(params x)` is shell.
_REF = re.compile(r"\$\(\s*((?:inputs\.params|params|context|results|workspaces|steps|tasks|step|finally)"
                  r"(?:\.[A-Za-z0-9_.\-]+|\[\s*(?:\"[^\"]*\"|'[^']*'|\*|\d+)\s*\])+)\s*\)")
_BRACKET_NAME = re.compile(r"\[\s*(?:\"([^\"]*)\"|'([^']*)')\s*\]")
_INDEX = re.compile(r"^(.*)\[(\*|\d+)\]$")


class UndeclaredReference(ValueError):
    """A `$(…)` reference under a known prefix that names nothing declared."""

    def __init__(self, name: str, detail: str = ""):
        self.name = name
        super().__init__(f"$({name}) is not declared" + (f": {detail}" if detail else ""))


class InvalidReference(ValueError):
    """A reference used where its value cannot go (an array spliced into a string)."""

    def __init__(self, name: str, detail: str):
        self.name = name
        super().__init__(f"$({name}): {detail}")


def normalise(name: str) -> str:
    """`params["a"]` -> `params.a`; whitespace inside brackets removed; the v1beta1 spelling
    `inputs.params.a` -> `params.a` (still substituted in v1: apply.go paramPatterns)."""
    name = _BRACKET_NAME.sub(lambda m: "." + (m.group(1) if m.group(1) is not None else m.group(2)),
                             name).replace(" ", "")
    return name[len("inputs."):] if name.startswith("inputs.params.") else name


def checked(name: str) -> bool:
    """Whether Tekton resolves (and so checks) this normalised reference anywhere: not an
    unknown `context.…`, and not `finally.…` (only a Pipeline's results read those)."""
    if name.startswith("finally."):
        return False
    return not name.startswith("context.") or name.startswith(KNOWN_CONTEXT)


def references(value: object) -> set[str]:
    """Every known-prefix reference in a string, list or dict (keys included), normalised."""
    found: set[str] = set()
    for text in _strings(value):
        found.update(normalise(m.group(1)) for m in _REF.finditer(text))
    return found


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


_MISSING = object()


def lookup(name: str, variables: Mapping[str, object]) -> object:
    """Value of a normalised reference name, or raise UndeclaredReference."""
    if name in variables:
        return variables[name]
    m = _INDEX.match(name)
    if m:
        base, index = m.group(1), m.group(2)
        value = variables.get(base, _MISSING)
        if value is _MISSING:
            raise UndeclaredReference(name)
        if index == "*":
            if isinstance(value, (list, dict)):
                return value
            raise InvalidReference(name, f"[*] needs an array or object, {base} is a string")
        if not isinstance(value, list):
            raise InvalidReference(name, f"[{index}] needs an array, {base} is not one")
        i = int(index)
        if i >= len(value):
            raise InvalidReference(name, f"index {i} is out of range: {base} has {len(value)} items")
        return value[i]
    # params.obj.key: the longest declared prefix that is an object, then its key
    head, _, key = name.rpartition(".")
    while head:
        value = variables.get(head, _MISSING)
        if value is not _MISSING:
            if isinstance(value, dict) and key in value:
                return value[key]
            if isinstance(value, dict):
                raise UndeclaredReference(name, f"object {head} has no key {key!r}")
            break
        head, _, rest = head.rpartition(".")
        key = f"{rest}.{key}"
    raise UndeclaredReference(name)


def _as_text(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        raise InvalidReference(name, "an array or object can only be used as a whole list item "
                                     f"`$({name})`, not inside a longer string")
    return json.dumps(value) if not isinstance(value, (int, float)) else str(value)


def _strict(name: str, strict: frozenset[str]) -> bool:
    return name.split(".", 1)[0].split("[", 1)[0] in strict and checked(name)


def substitute_string(text: str, variables: Mapping[str, object],
                      strict: frozenset[str] = KNOWN_PREFIXES) -> object:
    """Substitute one string; a string that is exactly one `[*]` reference returns the value."""
    whole = _REF.fullmatch(text.strip()) if text.strip().startswith("$(") else None
    if whole:
        name = normalise(whole.group(1))
        try:
            value = lookup(name, variables)
        except UndeclaredReference:
            if _strict(name, strict):
                raise
            return text
        if isinstance(value, (list, dict)):
            return value
        return _as_text(name, value)

    def one(m: re.Match) -> str:
        name = normalise(m.group(1))
        try:
            return _as_text(name, lookup(name, variables))
        except UndeclaredReference:
            if _strict(name, strict):
                raise
            return m.group(0)

    return _REF.sub(one, text)


def substitute(value: object, variables: Mapping[str, object],
               strict: Iterable[str] = KNOWN_PREFIXES) -> object:
    """Replace references in a string, list or dict (values only, recursively).

    `strict` names the prefixes whose unresolved references raise UndeclaredReference; a caller
    that substitutes in stages (step results resolve only after the step ran) narrows it and
    leaves the later references in place.
    """
    strict = frozenset(strict)
    if isinstance(value, str):
        return substitute_string(value, variables, strict)
    if isinstance(value, list):
        out: list[object] = []
        for item in value:
            new = substitute(item, variables, strict)
            if isinstance(item, str) and isinstance(new, list):
                out.extend(new)  # `$(params.arr[*])` as a list item expands in place
            else:
                out.append(new)
        return out
    if isinstance(value, dict):
        return {k: substitute(v, variables, strict) for k, v in value.items()}
    return value
