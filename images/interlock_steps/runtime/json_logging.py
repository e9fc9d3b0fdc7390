"""JSON-lines logs, one object per line, readable by people: msg first, short keys.

    {"msg": "refreshed", "level": "info", "ts": "2025-01-02T03:04:05.678Z",
     "task": "looker-refresh", "step": "refresh", "target": "dashboard/12", "rows": 3}

Built on the standard logging module, so library loggers (urllib3's retry notes,
looker-sdk's) come out in the same format. Every string is redacted before encoding.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import IO

from .redaction import Redactor

STEP_LOGGER = "interlock.step"
_RESERVED = ("msg", "level", "ts", "task", "step", "target")


def utc_timestamp(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class JsonLinesFormatter(logging.Formatter):
    def __init__(self, task: str, step: str, redactor: Redactor) -> None:
        super().__init__()
        self.task = task
        self.step = step
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "msg": record.getMessage(),
            "level": record.levelname.lower(),
            "ts": utc_timestamp(record.created),
            "task": self.task,
            "step": self.step,
        }
        target = getattr(record, "target", None)
        if target is not None:
            line["target"] = target
        if record.name != STEP_LOGGER:
            line["logger"] = record.name
        for key, value in (getattr(record, "fields", None) or {}).items():
            # A field may not overwrite the fixed keys; keep it under another name.
            line[f"field_{key}" if key in _RESERVED else key] = value
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(self.redactor.redact_value(line), ensure_ascii=False, default=str)


class StepLogger:
    """The step's logger: `log.info("refreshed", target="dashboard/12", rows=3)`."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(STEP_LOGGER)

    def emit(
        self,
        level: int,
        msg: str,
        *,
        target: str | None = None,
        fields: Mapping[str, object] | None = None,
        exc_info: bool = False,
    ) -> None:
        self._logger.log(level, "%s", msg, extra={"target": target, "fields": dict(fields or {})}, exc_info=exc_info)

    def debug(self, msg: str, *, target: str | None = None, **fields: object) -> None:
        self.emit(logging.DEBUG, msg, target=target, fields=fields)

    def info(self, msg: str, *, target: str | None = None, **fields: object) -> None:
        self.emit(logging.INFO, msg, target=target, fields=fields)

    def warning(self, msg: str, *, target: str | None = None, **fields: object) -> None:
        self.emit(logging.WARNING, msg, target=target, fields=fields)

    def error(self, msg: str, *, target: str | None = None, **fields: object) -> None:
        self.emit(logging.ERROR, msg, target=target, fields=fields)


class _StepHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler configure_logging installed, so a second call replaces it."""


def configure_logging(
    task: str, step: str, redactor: Redactor, *, stream: IO[str] | None = None, level: str = "info"
) -> StepLogger:
    """Send every log record to `stream` (stdout by default) as redacted JSON lines.

    The step's own logger logs at `level`; libraries log warnings and above, so a
    retry or a failed connection shows up without their debug chatter.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r} (use debug, info, warning or error)")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StepHandler)]:
        root.removeHandler(handler)
    handler = _StepHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonLinesFormatter(task, step, redactor))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger(STEP_LOGGER).setLevel(numeric)
    return StepLogger()
