"""The Step a step's `main` receives, and `run()`, which builds it and maps failures
to exit codes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import IO, Any, NoReturn

from .audit import AuditLog
from .deadline import Deadline
from .errors import BadInput, ExitCode, StepError
from .json_logging import StepLogger, configure_logging
from .params import Param, boolean, integer, param, parse_params, positive_seconds
from .redaction import Redactor
from .results import DEFAULT_RESULTS_DIR, Results
from .retry_policy import RetryPolicy


def common_params(policy: RetryPolicy) -> list[Param]:
    """Params every step accepts, besides its own."""
    return [
        param("dry-run", boolean, default=False, help="log the plan and change nothing"),
        param("audit-dir", default="", help="bound audit workspace path; empty: no audit log"),
        param("results-dir", default=DEFAULT_RESULTS_DIR, help="where Tekton collects results"),
        param("deadline", positive_seconds, default=policy.deadline, help="overall seconds for the step"),
        param("request-timeout", positive_seconds, default=policy.timeout, help="seconds per request"),
        param("max-retries", integer, default=policy.total, help="retries after the first attempt"),
        param("log-level", default="info", help="debug, info, warning or error"),
    ]


@dataclass
class Step:
    """Everything a step needs from the runtime; `main(step)` gets one."""

    task: str
    name: str
    params: SimpleNamespace
    dry_run: bool
    policy: RetryPolicy
    deadline: Deadline
    log: StepLogger
    results: Results
    audit: AuditLog
    redactor: Redactor
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic   # the deadline's clock; steps time their waits on it

    def secret(self, value: str) -> str:
        """Register a value (a token fetched at run time) for redaction; returns it."""
        self.redactor.add(value)
        return value

    def record(self, action: str, target: str, outcome: str = "ok", **fields: object) -> None:
        """Log that `action` was done to `target` and append it to the audit log."""
        self.log.info(f"{action}: {outcome}", target=target, action=action, outcome=outcome, **fields)
        self.audit.record(action, target, outcome, **fields)

    def plan(self, action: str, target: str, **fields: object) -> None:
        """In dry-run: log and audit what would be done, instead of doing it."""
        self.log.info(f"dry-run: would {action}", target=target, action=action, outcome="planned", **fields)
        self.audit.record(action, target, "planned", dry_run=True, **fields)

    # Retry adapters, configured from this step's policy and deadline.

    def requests_session(self, *, idempotent: bool = False) -> Any:
        from .retry_requests import requests_session

        return requests_session(self.policy, self.deadline, idempotent=idempotent, sleep=self.sleep)

    def looker40_sdk(self, *, idempotent: bool = False) -> Any:
        from .retry_requests import looker40_sdk

        return looker40_sdk(self.requests_session(idempotent=idempotent), timeout=self.policy.timeout)

    def kubernetes_configuration(self, *, base: Any = None, idempotent: bool = False) -> Any:
        from .retry_kubernetes import kubernetes_configuration

        return kubernetes_configuration(self.policy, self.deadline, idempotent=idempotent, base=base, sleep=self.sleep)

    def google_retry(self, on_error: Callable[[BaseException], None] | None = None) -> Any:
        from .retry_google import google_retry

        return google_retry(self.policy, self.deadline, on_error=on_error)

    def retrying(self, **kwargs: Any) -> Any:
        from .retry_tenacity import retrying

        kwargs.setdefault("sleep", self.sleep)
        return retrying(self.policy, self.deadline, **kwargs)


def _exit_code_for(error: BaseException) -> ExitCode:
    if isinstance(error, StepError):
        return error.exit_code
    # api_core raises RetryError when its timeout, which we set from the deadline, runs out.
    google_exceptions = sys.modules.get("google.api_core.exceptions")
    if google_exceptions is not None and isinstance(error, google_exceptions.RetryError):
        return ExitCode.DEADLINE_EXCEEDED
    return ExitCode.TARGET_FAILED


def _build_step(
    task: str,
    step: str,
    params: Sequence[Param],
    policy: RetryPolicy,
    description: str | None,
    argv: Sequence[str],
    environ: Mapping[str, str],
    redactor: Redactor,
    stream: IO[str] | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Step:
    values, secrets = parse_params(
        [*common_params(policy), *params], argv, environ, prog=f"{task}/{step}", description=description
    )
    for secret in secrets:
        redactor.add(secret)
    try:
        log = configure_logging(task, step, redactor, stream=stream, level=values.log_level)
    except ValueError as error:
        raise BadInput(f"param 'log-level': {error}", param="log-level") from None
    policy = dataclasses.replace(policy, deadline=values.deadline, timeout=values.request_timeout, total=values.max_retries)
    if policy.total < 0:
        raise BadInput(f"param 'max-retries' must not be negative, got {policy.total}", param="max-retries")
    return Step(
        task=task,
        name=step,
        params=values,
        dry_run=values.dry_run,
        policy=policy,
        deadline=Deadline(policy.deadline, clock=clock),
        log=log,
        results=Results(values.results_dir, redactor=redactor, environ=environ),
        audit=AuditLog(values.audit_dir or None, task=task, step=step, redactor=redactor),
        redactor=redactor,
        sleep=sleep,
        clock=clock,
    )


def _report_failure(log: StepLogger, error: Exception, audit: AuditLog | None, step: str) -> int:
    code = _exit_code_for(error)
    if isinstance(error, StepError):
        fields = {"error": type(error).__name__, "exit_code": int(code), **error.fields}
        log.emit(logging.ERROR, error.message, fields=fields)
    else:
        # Not an expected failure: keep the (redacted) traceback, it is a bug to fix.
        fields = {"error": type(error).__name__, "exit_code": int(code)}
        log.emit(logging.ERROR, f"unexpected error: {error}", fields=fields, exc_info=True)
    if audit is not None:
        audit.record("step", step, "failed", error=type(error).__name__, message=str(error), exit_code=int(code))
    return int(code)


def run_step(
    main: Callable[[Step], None],
    *,
    task: str,
    step: str,
    params: Sequence[Param] = (),
    policy: RetryPolicy = RetryPolicy(),
    description: str | None = None,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    stream: IO[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Parse params, build the Step, call `main(step)`; return the exit code.

    Expected failures (StepError) become one JSON error line and their exit code;
    anything else is logged with its redacted traceback and exits TARGET_FAILED.
    """
    environ = os.environ if environ is None else environ
    argv = sys.argv[1:] if argv is None else argv
    redactor = Redactor()
    redactor.add_from_environ(environ)
    log = configure_logging(task, step, redactor, stream=stream)
    try:
        context = _build_step(task, step, params, policy, description, argv, environ, redactor, stream, clock, sleep)
    except StepError as error:
        return _report_failure(log, error, None, step)
    try:
        context.log.debug("starting", dry_run=context.dry_run, deadline_s=context.policy.deadline, audit=context.audit.bound)
        main(context)
    except Exception as error:  # noqa: BLE001 - the one place every step failure ends up
        return _report_failure(context.log, error, context.audit, step)
    context.log.debug("done")
    return int(ExitCode.OK)


def run(main: Callable[[Step], None], **kwargs: Any) -> NoReturn:
    """`run_step` for a step's `if __name__ == "__main__":`; exits with its code."""
    sys.exit(run_step(main, **kwargs))
