"""The two patch formats the API server accepts for custom resources, chosen by Content-Type.

- `application/merge-patch+json`: JSON Merge Patch (RFC 7386): objects merge key by key, `null`
  deletes a key, anything else (lists included) replaces the value whole.
- `application/json-patch+json`: JSON Patch (RFC 6902) over JSON Pointers (RFC 6901): add, remove,
  replace, move, copy, test, applied in order to a copy; the first failing operation aborts all.

Strategic merge patch is not defined for custom resources: the API server answers 415
(Kubernetes docs, "Custom resources": "strategic merge patch is not supported"); server-side apply
(`application/apply-patch+yaml`) is real Kubernetes behaviour this fake does not implement.
"""
from __future__ import annotations

import copy
from typing import Any

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


class PatchError(ValueError):
    """A patch that cannot be applied (the API server answers 422) or is malformed (400)."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 section 2, MergePatch(Target, Patch), on copies."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"JSON pointer {pointer!r} must start with '/'", malformed=True)
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _index(container: list, token: str, pointer: str, *, for_add: bool = False) -> int:
    if for_add and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"{pointer}: {token!r} is not an array index")
    index = int(token)
    limit = len(container) if for_add else len(container) - 1
    if index > limit:
        raise PatchError(f"{pointer}: index {index} is out of range (length {len(container)})")
    return index


def _parent(document: Any, pointer: str) -> tuple[Any, str]:
    tokens = _tokens(pointer)
    if not tokens:
        raise PatchError(f"{pointer!r}: the operation needs a member, not the whole document")
    node = document
    for token in tokens[:-1]:
        node = _child(node, token, pointer)
    return node, tokens[-1]


def _child(node: Any, token: str, pointer: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise PatchError(f"{pointer}: member {token!r} does not exist")
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, pointer)]
    raise PatchError(f"{pointer}: cannot descend into a {type(node).__name__}")


def resolve(document: Any, pointer: str) -> Any:
    node = document
    for token in _tokens(pointer):
        node = _child(node, token, pointer)
    return node


def _add(document: Any, pointer: str, value: Any) -> Any:
    if pointer == "":
        return copy.deepcopy(value)
    parent, token = _parent(document, pointer)
    if isinstance(parent, dict):
        parent[token] = copy.deepcopy(value)
    elif isinstance(parent, list):
        parent.insert(_index(parent, token, pointer, for_add=True), copy.deepcopy(value))
    else:
        raise PatchError(f"{pointer}: cannot add into a {type(parent).__name__}")
    return document


def _remove(document: Any, pointer: str) -> tuple[Any, Any]:
    parent, token = _parent(document, pointer)
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(f"{pointer}: member {token!r} does not exist")
        return document, parent.pop(token)
    if isinstance(parent, list):
        return document, parent.pop(_index(parent, token, pointer))
    raise PatchError(f"{pointer}: cannot remove from a {type(parent).__name__}")


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 applied to a copy of `target`; raises PatchError naming the failing operation."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be an array of operations", malformed=True)
    document = copy.deepcopy(target)
    for number, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError(f"operation {number}: needs 'op' and 'path'", malformed=True)
        op, path = operation["op"], operation["path"]
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f"operation {number} ({op} {path}): missing 'value'", malformed=True)
        try:
            if op == "add":
                document = _add(document, path, operation["value"])
            elif op == "remove":
                document, _ = _remove(document, path)
            elif op == "replace":
                resolve(document, path)  # must exist
                document, _ = _remove(document, path) if path else (document, None)
                document = _add(document, path, operation["value"])
            elif op in ("move", "copy"):
                source = operation.get("from")
                if source is None:
                    raise PatchError(f"operation {number} ({op}): missing 'from'", malformed=True)
                if op == "move":
                    if path.startswith(source + "/"):
                        raise PatchError(f"operation {number}: cannot move {source} into its own child {path}")
                    document, value = _remove(document, source)
                else:
                    value = resolve(document, source)
                document = _add(document, path, value)
            elif op == "test":
                if resolve(document, path) != operation["value"] or _kinds_differ(resolve(document, path), operation["value"]):
                    raise PatchError(f"testing value {path} failed")
            else:
                raise PatchError(f"operation {number}: unknown op {op!r}", malformed=True)
        except PatchError as error:
            if error.malformed or str(error).startswith("operation") or op == "test":
                raise
            raise PatchError(f"operation {number} ({op} {path}): {error}") from None
    return document


def _kinds_differ(a: Any, b: Any) -> bool:
    """JSON distinguishes true from 1, which Python's == does not."""
    return isinstance(a, bool) != isinstance(b, bool)
