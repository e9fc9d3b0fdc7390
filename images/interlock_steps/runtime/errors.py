"""Exit codes and the exceptions that map to them.

A step raises one of these for an expected failure; `run()` turns it into one JSON
log line and the matching exit code, never a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes every Interlock step uses (documented in the package docstring)."""

    OK = 0
    TARGET_FAILED = 1  # the remote system refused or failed, or an unexpected error
    BAD_INPUT = 2  # a param is missing or malformed: fix the TaskRun, not the target
    DEADLINE_EXCEEDED = 3  # the step's overall deadline ran out (retries included)
    RESULTS_REJECTED = 4  # results too large for Tekton, or they contain a secret


class StepError(Exception):
    """Base of the expected failures; `fields` are logged beside the message."""

    exit_code: ExitCode = ExitCode.TARGET_FAILED

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class TargetFailed(StepError):
    """The system the step acts on answered with an error the step cannot fix."""

    exit_code = ExitCode.TARGET_FAILED


class BadInput(StepError):
    """A param or input file is missing or malformed."""

    exit_code = ExitCode.BAD_INPUT


class DeadlineExceeded(StepError):
    """The overall deadline ran out, or waiting for a retry would pass it.

    Deliberately not an OSError/TimeoutError: client transports (looker-sdk's among
    them) catch IOError and would turn it into an ordinary failed response.
    """

    exit_code = ExitCode.DEADLINE_EXCEEDED


class ResultsRejected(StepError):
    """Results that Tekton would refuse (too large) or that would leak a secret."""

    exit_code = ExitCode.RESULTS_REJECTED
