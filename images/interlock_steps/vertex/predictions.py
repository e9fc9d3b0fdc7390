"""Golden predictions and latency: what vertex-verify checks, as plain functions.

A golden file is JSON: {"instances": [...], "predictions": [...], "parameters": {...}?}, one
expected prediction per instance, in the shape the model's predict route returns. Numbers match
within an absolute or a relative tolerance (either passes, as math.isclose); strings, booleans
and null match exactly; lists and objects match element by element.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from interlock_steps.runtime import BadInput


def golden(text: str, where: str) -> tuple[list[Any], list[Any], Any]:
    """(instances, expected predictions, parameters) from a golden file's text."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise BadInput(f"{where}: not JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("instances"), list) or not data["instances"]:
        raise BadInput(f"{where}: expected an object with a non-empty 'instances' array")
    expected = data.get("predictions")
    if not isinstance(expected, list) or len(expected) != len(data["instances"]):
        raise BadInput(f"{where}: 'predictions' must be an array with one entry per instance "
                       f"({len(data['instances'])})")
    return data["instances"], expected, data.get("parameters")


def load(golden_dir: str, golden_file: str, instances: Any, expected: Any) -> tuple[list[Any], list[Any], Any]:
    """The golden set from the workspace file, or from the instances/expected-predictions params."""
    if instances is not None or expected is not None:
        if golden_dir:
            raise BadInput("give a golden file (golden workspace) or the instances and expected-predictions "
                           "params, not both", param="instances")
        return golden(json.dumps({"instances": instances, "predictions": expected}), "params instances/expected-"
                      "predictions")
    if not golden_dir:
        raise BadInput("nothing to verify with: bind the golden workspace (with golden-file in it) or give "
                       "instances and expected-predictions", param="instances")
    path = Path(golden_dir) / golden_file
    try:
        return golden(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise BadInput(f"golden file {path} not found", param="golden-file") from None


def differences(got: Any, want: Any, *, atol: float, rtol: float, path: str = "") -> list[str]:
    """Every place `got` differs from `want` beyond the tolerances, as 'path: got x, want y'."""
    where = path or "<prediction>"
    if isinstance(want, bool) or want is None or isinstance(want, str):
        return [] if got == want and type(got) is type(want) else [f"{where}: got {got!r}, want {want!r}"]
    if isinstance(want, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return [f"{where}: got {got!r}, want the number {want!r}"]
        ok = math.isclose(got, want, rel_tol=rtol, abs_tol=atol)
        return [] if ok else [f"{where}: got {got!r}, want {want!r} (±{max(atol, rtol * abs(want)):g})"]
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{where}: got {got!r:.80}, want a list of {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in differences(g, w, atol=atol, rtol=rtol,
                                                                                  path=f"{path}[{i}]")]
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return [f"{where}: got keys {sorted(got) if isinstance(got, dict) else got!r}, want {sorted(want)}"]
        return [d for k in sorted(want) for d in differences(got[k], want[k], atol=atol, rtol=rtol,
                                                            path=f"{path}.{k}" if path else k)]
    return [f"{where}: cannot compare {type(want).__name__}"]


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of non-empty `values`."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def plain(value: Any) -> Any:
    """A prediction from the client (proto Value / MapComposite / RepeatedComposite) as plain JSON."""
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value
    if hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    return [plain(v) for v in value]
