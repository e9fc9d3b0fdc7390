"""Task and step results: files under /tekton/results and /tekton/steps/step-<s>/results, typed
as declared, and the termination-message limit Tekton enforces per step.

Result files are written by steps, so they are read as untrusted: never through a symlink,
only regular files, and never more than the limit (a result over 4096 bytes cannot fit in a
termination message, so its content is never needed whole).
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Mapping

from interlock.run import hostfs
from interlock_steps import termination

TERMINATION_LIMIT = termination.LIMIT


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


def _read(folder: hostfs.Under, name: str, where: str) -> bytes | None:
    """A result file's bytes (at most TERMINATION_LIMIT + 1), None when absent."""
    try:
        # reached from the run folder: a container may have swapped the folder for a symlink
        return hostfs.read_bounded(hostfs.Under(folder.root, f"{folder.rel}/{name}"),
                                   TERMINATION_LIMIT)
    except OSError as e:
        raise ResultError(f"{where}: result {name!r} cannot be read: {e.strerror or e}") from None


def read(declared: list[dict], folder: hostfs.Under, where: str) -> dict[str, object]:
    """Every declared result present in `folder`; missing ones are left out, as Tekton does."""
    out: dict[str, object] = {}
    for decl in declared:
        raw = _read(folder, str(decl["name"]), where)
        if raw is None:
            continue
        if len(raw) > TERMINATION_LIMIT:
            raise ResultError(f"{where}: result {decl['name']!r} is larger than "
                              f"{TERMINATION_LIMIT} bytes")
        out[str(decl["name"])] = parse(decl, raw.decode("utf-8", errors="replace"), where)
    return out


def termination_size(task_results: hostfs.Under, step_results: hostfs.Under, names: list[str],
                     step_names: list[str], started: datetime | None = None,
                     internal: Mapping[str, str] | None = None, where: str = "") -> int:
    """Size of the termination message Tekton's entrypoint would write when this step ends:
    every task result present, the step's own results, StartedAt (when `started` is given)
    and its other `internal` entries (ExitCode after a failure under onError: continue, Reason
    after its own timeout); interlock_steps.termination measures it. A file over the limit
    counts as limit + 1 bytes: the message cannot fit either way."""
    entries: list[tuple[str, str | bytes, int]] = []
    if started is not None:
        entries.append(("StartedAt", termination.started_at(started), termination.INTERNAL))
    entries += [(key, value, termination.INTERNAL) for key, value in (internal or {}).items()]
    for folder, wanted, kind in ((task_results, names, termination.TASK_RESULT),
                                 (step_results, step_names, termination.STEP_RESULT)):
        for name in wanted:
            raw = _read(folder, name, where)
            if raw is not None:
                entries.append((name, raw, kind))
    return termination.message_size(entries)
