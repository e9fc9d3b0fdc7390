"""PipelineRun timeouts (`spec.timeouts.pipeline|tasks|finally`) as Go durations.

Tekton parses them with Go's time.ParseDuration ("1h30m", "90s", "500ms"); "0" means no
timeout. The default pipeline timeout is 1h (config-defaults `default-timeout-minutes: 60`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

DEFAULT_PIPELINE = 3600.0
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


class TimeoutInvalid(ValueError):
    pass


def parse(text: object, where: str) -> float:
    """Seconds in a Go duration string; raises TimeoutInvalid naming the field."""
    if not isinstance(text, str) or not text:
        raise TimeoutInvalid(f"{where}: {text!r} is not a duration (e.g. \"1h\", \"90s\")")
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise TimeoutInvalid(f"{where}: {text!r} is not a duration (e.g. \"1h\", \"90s\")")
    return total


def go_format(seconds: float) -> str:
    """Go's Duration.String() for whole-millisecond values: 3600 -> "1h0m0s", 1.5 -> "1.5s"."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    sec = f"{s:.3f}".rstrip("0").rstrip(".")
    if h:
        return f"{int(h)}h{int(m)}m{sec}s"
    if m:
        return f"{int(m)}m{sec}s"
    return f"{sec}s"


@dataclass(frozen=True)
class Timeouts:
    pipeline: float | None   # None: no limit
    tasks: float | None
    finally_: float | None


def resolve(spec: Mapping, override: float | None = None) -> Timeouts:
    """spec.timeouts of a PipelineRun; `--timeout` overrides the pipeline timeout."""
    raw = spec.get("timeouts") or {}
    if not isinstance(raw, Mapping):
        raise TimeoutInvalid("spec.timeouts: must be a mapping with pipeline, tasks and/or finally")
    unknown = set(raw) - {"pipeline", "tasks", "finally"}
    if unknown:
        raise TimeoutInvalid(f"spec.timeouts: unknown field(s) {', '.join(sorted(unknown))}")
    pipeline = parse(raw["pipeline"], "spec.timeouts.pipeline") if "pipeline" in raw \
        else DEFAULT_PIPELINE
    if override is not None:
        pipeline = override
    tasks = parse(raw["tasks"], "spec.timeouts.tasks") if "tasks" in raw else None
    final = parse(raw["finally"], "spec.timeouts.finally") if "finally" in raw else None
    limit = pipeline or None  # 0 = no timeout
    for name, value in (("tasks", tasks), ("finally", final)):
        if limit and value is not None and (value == 0 or value > limit):
            raise TimeoutInvalid(f"spec.timeouts.{name}: {go_format(value)} must not exceed "
                                 f"spec.timeouts.pipeline {go_format(limit)}")
    if limit and tasks is not None and final is not None and tasks + final > limit:
        raise TimeoutInvalid("spec.timeouts: tasks + finally must not exceed pipeline")
    return Timeouts(pipeline=limit, tasks=tasks or None, finally_=final or None)
