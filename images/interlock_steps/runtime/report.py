"""The full report of a step: JSON in the optional report workspace.

Results are capped by Tekton (see results.py); everything a person may want to read afterwards
(every object touched, every observation) goes here instead. Written atomically (write, then
rename), so a step that writes it again as it goes never leaves a half-written file; redacted like
the logs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import BadInput
from .json_logging import StepLogger
from .params import param


def report_dir(text: str) -> str:
    """Param parser for `report-dir`: checked when the step starts, not after everything changed."""
    if not Path(text).is_dir():
        raise ValueError("not a directory (bind the report workspace, or leave the param empty)")
    return text


# The param every step with a report workspace takes (the Task passes the workspace's path).
REPORT_DIR = param("report-dir", report_dir, default="", help="bound report workspace path; empty: no report")


def write_report(directory: str, filename: str, report: dict[str, Any], log: StepLogger, redactor: Any = None,
                 *, quiet: bool = False) -> str | None:
    """Write `report` as <directory>/<filename>; None (nothing written) when the workspace is not bound.

    `quiet` logs the write at debug level (for a report rewritten after every observation)."""
    if not directory:
        return None
    folder = Path(directory)
    if not folder.is_dir():
        raise BadInput(f"param 'report-dir': {directory} is not a directory", param="report-dir")
    path = folder / filename
    tmp = path.with_name(f".{filename}.tmp")
    value = redactor.redact_value(report) if redactor is not None else report
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    (log.debug if quiet else log.info)("report written", target=str(path))
    return str(path)
