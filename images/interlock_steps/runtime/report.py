"""The full report of a step, as JSON in a bound workspace (results stay small; see results.py)."""

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


def write_report(directory: str, filename: str, report: dict[str, Any], log: StepLogger) -> str | None:
    """Write the full report as JSON into the bound workspace; None when it is not bound."""
    if not directory:
        return None
    folder = Path(directory)
    if not folder.is_dir():
        raise BadInput(f"param 'report-dir': {directory} is not a directory", param="report-dir")
    path = folder / filename
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    log.info("report written", target=str(path))
    return str(path)
