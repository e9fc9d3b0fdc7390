"""Tekton's termination message, measured byte for byte as Tekton writes it: one function shared
by the step runtime (which refuses results before writing them) and `interlock run` (which
fails a TaskRun whose step results do not fit, as Tekton does).

When a step ends, Tekton's entrypoint (tektoncd/pipeline pkg/entrypoint/entrypointer.go, Go())
writes a JSON array of result.RunResult {"key", "value", "type"} to the container's termination
message: the task results present in /tekton/results (type 1), the step's own results (type 4)
and its internal entries (type 3): always "StartedAt" (time.Now() in the format
"2006-01-02T15:04:05.000Z07:00"), plus "ExitCode" after a failure under onError: continue and
"Reason" after its own timeout. pkg/termination/write.go marshals that array with Go's
encoding/json and refuses it when `len(json) > 4096` (MaxContainerTerminationMessageLength).

Go's encoding/json differs from Python's json: it escapes <, > and & (as \\u003c, \\u003e,
\\u0026) and U+2028/U+2029, keeps other non-ASCII as UTF-8, and writes each byte that is not
valid UTF-8 as \\ufffd. Values are file contents, so they are measured as bytes.
"""
from __future__ import annotations

import json
import re
from datetime import datetime

LIMIT = 4096  # pkg/termination: MaxContainerTerminationMessageLength
TASK_RESULT, INTERNAL, STEP_RESULT = 1, 3, 4  # pkg/result: ResultType
# StartedAt in its longest form (a zone with an offset); in UTC it is "…T15:04:05.000Z"
STARTED_AT_LONGEST = "2006-01-02T15:04:05.000+07:00"

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}
_GO_SPECIAL = re.compile("[<>&\u2028\u2029\udc80-\udcff]")


def _go_escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _GO_ESCAPES.get(char, "\\ufffd")  # a lone surrogate stands for an invalid byte


def go_json(value: object) -> str:
    """JSON as Go's json.Marshal writes it: compact, UTF-8, HTML-safe. Strings may hold bytes
    that were not UTF-8 as surrogate escapes (bytes.decode("utf-8", "surrogateescape"))."""
    return _GO_SPECIAL.sub(_go_escape, json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def started_at(when: datetime) -> str:
    """The StartedAt value: Go's "2006-01-02T15:04:05.000Z07:00" of an aware datetime."""
    offset = when.utcoffset()
    if offset is None or not offset:
        zone = "Z"
    else:
        minutes = int(offset.total_seconds()) // 60
        zone = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}" + zone


def message_size(entries: list[tuple[str, str | bytes, int]]) -> int:
    """Bytes of the termination message holding these (key, value, type) entries."""
    if not entries:
        return 0
    records = [{"key": key, "value": value.decode("utf-8", "surrogateescape")
                if isinstance(value, bytes) else value, "type": kind}
               for key, value, kind in entries]
    return len(go_json(records).encode("utf-8"))
