"""An optional audit trail: JSON lines appended to <workspace>/audit.jsonl.

Bound when the Task maps a workspace path into AUDIT_DIR / --audit-dir; an empty
value means the workspace is not bound and nothing is written. Every line is
redacted like the logs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from .errors import BadInput
from .json_logging import utc_timestamp
from .redaction import Redactor

AUDIT_FILE = "audit.jsonl"


class AuditLog:
    def __init__(
        self,
        directory: str | os.PathLike[str] | None,
        *,
        task: str,
        step: str,
        redactor: Redactor,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.path = Path(directory) / AUDIT_FILE if directory else None
        if self.path is not None and not self.path.parent.is_dir():
            raise BadInput(f"audit dir {self.path.parent} does not exist (is the audit workspace bound?)")
        self.task = task
        self.step = step
        self.redactor = redactor
        self._clock = clock

    @property
    def bound(self) -> bool:
        return self.path is not None

    def record(self, action: str, target: str, outcome: str, **fields: object) -> None:
        """Append one line: what was done (or planned) to which target, and how it ended."""
        if self.path is None:
            return
        now = self._clock() if self._clock else time.time()
        line = {
            "ts": utc_timestamp(now),
            "task": self.task,
            "step": self.step,
            "action": action,
            "target": target,
            "outcome": outcome,
            **fields,
        }
        text = json.dumps(self.redactor.redact_value(line), ensure_ascii=False, default=str) + "\n"
        # One write on an O_APPEND file: lines from concurrent steps do not interleave.
        with open(self.path, "a", encoding="utf-8") as audit_file:
            audit_file.write(text)
