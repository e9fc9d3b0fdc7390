"""Task and step results: files under /tekton/results and /tekton/steps/step-<s>/results, typed
as declared, and the termination-message limit Tekton enforces per step."""
from __future__ import annotations

import json
from pathlib import Path

# Tekton reports a step's results through its termination message, capped by Kubernetes at 4096
# bytes; a step whose results do not fit fails the TaskRun.
TERMINATION_LIMIT = 4096


class ResultError(ValueError):
    pass


def declared_type(decl: dict) -> str:
    t = decl.get("type")
    if t:
        return str(t)
    return "object" if decl.get("properties") else "string"


def parse(decl: dict, text: str, where: str) -> object:
    """A result file's content as the declared type; ResultError when it does not match."""
    rtype = declared_type(decl)
    if rtype == "string":
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ResultError(f"{where}: {rtype} result {decl['name']!r} is not valid JSON ({e.msg}): "
                          f"{text[:80]!r}") from None
    if rtype == "array" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ResultError(f"{where}: result {decl['name']!r} is declared array (of strings), got {text[:80]!r}")
    if rtype == "object":
        if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            raise ResultError(f"{where}: result {decl['name']!r} is declared object (string values), "
                              f"got {text[:80]!r}")
        missing = [k for k in (decl.get("properties") or {}) if k not in value]
        if missing:
            raise ResultError(f"{where}: object result {decl['name']!r} misses key(s) {', '.join(missing)}")
    return value


def read(declared: list[dict], folder: Path, where: str) -> dict[str, object]:
    """Every declared result present in `folder`; missing ones are left out, as Tekton does."""
    out: dict[str, object] = {}
    for decl in declared:
        f = folder / str(decl["name"])
        if f.is_file():
            out[str(decl["name"])] = parse(decl, f.read_text(encoding="utf-8", errors="replace"), where)
    return out


def termination_size(task_results: Path, step_results: Path, names: list[str],
                     step_names: list[str]) -> int:
    """Size of the termination message a step would write: its task and step results as JSON."""
    entries = []
    for folder, wanted, kind in ((task_results, names, 1), (step_results, step_names, 4)):
        for name in wanted:
            f = folder / name
            if f.is_file():
                entries.append({"key": name, "value": f.read_text(encoding="utf-8", errors="replace"),
                                "type": kind})
    return len(json.dumps(entries, separators=(",", ":")).encode()) if entries else 0
