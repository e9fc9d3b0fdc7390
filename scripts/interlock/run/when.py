"""`when` expressions guarding a pipeline task: `input` `in`/`notin` `values`.

The caller substitutes `$(params…)` and `$(tasks.t.results…)` first (a `values` item that is
exactly `$(params.arr[*])` expands into the array's items); this module checks the shape and
decides. CEL expressions (`cel:`) need a CEL engine this runner does not have, so they are
refused up front rather than guessed.
"""
from __future__ import annotations

from typing import Mapping, Sequence

OPERATORS = ("in", "notin")


class WhenInvalid(ValueError):
    pass


def validate(expressions: object, where: str) -> list[Mapping]:
    """Check the shape before anything runs; return the list (empty when absent)."""
    if expressions is None:
        return []
    if not isinstance(expressions, list):
        raise WhenInvalid(f"{where}: must be a list of when expressions")
    for i, expr in enumerate(expressions):
        at = f"{where}[{i}]"
        if not isinstance(expr, Mapping):
            raise WhenInvalid(f"{at}: must be a mapping with input, operator and values")
        if "cel" in expr:
            raise WhenInvalid(f"{at}.cel: not supported locally: CEL when expressions; "
                              "use input/operator/values")
        if not isinstance(expr.get("input"), str):
            raise WhenInvalid(f"{at}.input: required, a string")
        if expr.get("operator") not in OPERATORS:
            raise WhenInvalid(f"{at}.operator: {expr.get('operator')!r} is not one of "
                              f"{', '.join(OPERATORS)}")
        values = expr.get("values")
        if not isinstance(values, list) or not values:
            raise WhenInvalid(f"{at}.values: required, a non-empty list")
    return list(expressions)


def holds(expr: Mapping) -> bool:
    """One substituted expression."""
    value = expr["input"]
    values = [v if isinstance(v, str) else str(v) for v in expr["values"]]
    found = value in values
    return found if expr["operator"] == "in" else not found


def allows(expressions: Sequence[Mapping]) -> bool:
    """All expressions must hold for the task to run (Tekton ANDs them)."""
    return all(holds(e) for e in expressions)
