"""Matrix fan-out: one TaskRun per combination of `matrix.params` (+ `matrix.include`).

Follows Tekton's `Matrix.FanOut`: each array param multiplies the combinations (the new param's
value varies slowest); each `include` entry then overwrites-or-extends every combination it is
compatible with, and becomes a combination of its own when one of its params has a value no
combination holds. Results of the fanned-out TaskRuns are aggregated per name into arrays,
read as `$(tasks.t.results.r[*])`; `$(tasks.t.matrix.length)` is the number of TaskRuns.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

Combination = dict[str, str]
MAX_COMBINATIONS = 256  # Tekton's default-max-matrix-combinations-count


class MatrixInvalid(ValueError):
    pass


def param_names(matrix: Mapping | None) -> set[str]:
    if not matrix:
        return set()
    names = {p.get("name") for p in matrix.get("params") or []}
    for inc in matrix.get("include") or []:
        names.update(p.get("name") for p in inc.get("params") or [])
    return names


def validate(matrix: object, where: str, params: Sequence[Mapping] = ()) -> None:
    if matrix is None:
        return
    if not isinstance(matrix, Mapping):
        raise MatrixInvalid(f"{where}: must be a mapping with params and/or include")
    seen: set[str] = set()
    for i, p in enumerate(matrix.get("params") or []):
        at = f"{where}.params[{i}]"
        if not isinstance(p, Mapping) or not isinstance(p.get("name"), str):
            raise MatrixInvalid(f"{at}.name: required")
        if p["name"] in seen:
            raise MatrixInvalid(f"{at}.name: {p['name']!r} is listed twice")
        seen.add(p["name"])
        value = p.get("value")
        if not isinstance(value, list) and not (isinstance(value, str) and value.startswith("$(")):
            raise MatrixInvalid(f"{at}.value: matrix params take arrays only "
                                f"(InvalidMatrixParameterTypes), got {type(value).__name__}")
    for i, inc in enumerate(matrix.get("include") or []):
        for j, p in enumerate(inc.get("params") or []):
            if not isinstance(p.get("value"), str):
                raise MatrixInvalid(f"{where}.include[{i}].params[{j}].value: include params take "
                                    "strings only")
    both = param_names(matrix) & {p.get("name") for p in params}
    if both:
        raise MatrixInvalid(f"{where}: param(s) {', '.join(sorted(both))} are given in both "
                            "matrix and params; a param goes in one of them")


def has_empty_array(matrix: Mapping | None) -> bool:
    """An empty array in matrix.params skips the task ("Matrix Parameters have an empty array")."""
    return bool(matrix) and any(isinstance(p.get("value"), list) and not p["value"]
                                for p in matrix.get("params") or [])


def combinations(matrix: Mapping) -> list[Combination]:
    """The substituted matrix -> the list of param combinations, in Tekton's order."""
    includes: list[Combination] = [
        {p["name"]: str(p["value"]) for p in inc.get("params") or []}
        for inc in matrix.get("include") or []]
    params = matrix.get("params") or []
    if not params:
        return [c for c in includes if c]
    combos: list[Combination] = [{}]
    for p in params:
        values = p["value"]
        if not isinstance(values, list):
            raise MatrixInvalid(f"matrix param {p['name']!r} did not resolve to an array")
        combos = [{**c, p["name"]: str(v)} for v in values for c in combos]
    for inc in includes:  # overwrite/extend combinations that agree on shared params
        for c in combos:
            if all(c.get(k, v) == v for k, v in inc.items()):
                c.update(inc)
    for inc in includes:  # an include whose shared values match nothing is a new combination
        if inc and not any(k in c and c[k] == v for c in combos for k, v in inc.items()):
            combos.append(dict(inc))
    return combos


def aggregate_results(results: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Per result name, the values of every fanned-out TaskRun that produced it, in order."""
    out: dict[str, list[Any]] = {}
    for one in results:
        for name, value in one.items():
            out.setdefault(name, []).append(value)
    return out
