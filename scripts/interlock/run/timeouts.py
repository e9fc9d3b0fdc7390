"""PipelineRun timeouts (`spec.timeouts.pipeline|tasks|finally`) as Go durations.

Tekton parses them with Go's time.ParseDuration ("1h30m", "90s", "500ms"); "0" means no
timeout. The default pipeline timeout is 1h (config-defaults `default-timeout-minutes: 60`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from interlock.run.durations import parse_duration
from interlock.run.errors import InvalidRun

DEFAULT_PIPELINE = 3600.0


class TimeoutInvalid(ValueError):
    pass


def parse(text: object, where: str) -> float:
    """Seconds in a Go duration string (0 = no timeout); raises TimeoutInvalid naming the field."""
    try:
        return parse_duration(text, where) or 0.0
    except InvalidRun as e:
        raise TimeoutInvalid(str(e)) from None


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
    # as Tekton's TasksTimeout()/FinallyTimeout(): given two of the three, the third is the rest
    if limit and "pipeline" in raw:
        if tasks is None and final and final < limit:
            tasks = limit - final
        elif final is None and tasks and tasks < limit:
            final = limit - tasks
    for name, value in (("tasks", tasks), ("finally", final)):
        if limit and value == 0:
            raise TimeoutInvalid(f"spec.timeouts.{name}: 0 (no timeout) is not allowed when the "
                                 f"pipeline has a timeout ({go_format(limit)})")
        if limit and value is not None and value > limit:
            raise TimeoutInvalid(f"spec.timeouts.{name}: {go_format(value)} must not exceed "
                                 f"spec.timeouts.pipeline {go_format(limit)}")
    if limit and tasks is not None and final is not None and tasks + final > limit:
        raise TimeoutInvalid("spec.timeouts: tasks + finally must not exceed pipeline")
    return Timeouts(pipeline=limit, tasks=tasks or None, finally_=final or None)
