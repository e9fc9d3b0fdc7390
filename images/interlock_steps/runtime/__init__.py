"""The shared step runtime: what every Interlock step uses, configured once.

A step is a function `main(step)`; `run()` parses its params (each `--kebab-name`
argument or `UPPER_SNAKE` env var), builds the `Step`, calls it, and turns failures
into one JSON log line and an exit code. Example::

    import time
    from looker_sdk.sdk.api40.models import WriteDatagroup
    from interlock_steps import runtime as rt

    PARAMS = [rt.param("datagroup-ids", rt.string_list, required=True, help="datagroups to trigger")]

    def main(step: rt.Step) -> None:
        sdk = step.looker40_sdk(idempotent=True)  # the PATCH sets a value: safe to repeat
        for datagroup_id in step.params.datagroup_ids:
            if step.dry_run:
                step.plan("trigger", f"datagroup/{datagroup_id}")
                continue
            sdk.update_datagroup(datagroup_id, WriteDatagroup(triggered_at=int(time.time())))
            step.record("trigger", f"datagroup/{datagroup_id}")
        step.results.write(triggered=step.params.datagroup_ids)

    if __name__ == "__main__":
        rt.run(main, task="looker-refresh", step="trigger", params=PARAMS)

What the Step gives (`step.`...):
  params      the parsed params (attributes named like the param, '-' as '_').
  dry_run     `--dry-run` / DRY_RUN=true: log the plan (`plan()`), change nothing.
  log         JSON-lines logger: `log.info("msg", target="...", any=field)`.
  results     `results.write(name=str | list[str] | dict[str, str])`: checked against
              Tekton's 4096-byte termination message (all results of the step,
              counted as Tekton encodes them); too large or holding a secret: refused
              with an error naming each result and its size, never truncated.
              Each result goes to the path the Task passes as
              RESULT_PATH_<NAME>=$(results.<name>.path), else <results-dir>/<name>.
  audit       JSON lines appended to <AUDIT_DIR>/audit.jsonl when the workspace is
              bound (`--audit-dir` / AUDIT_DIR non-empty); `record()` and `plan()` write it.
  secret(v)   register a value fetched at run time for redaction.
  policy, deadline
              RetryPolicy (total=5, backoff=0.5, max_backoff=30, jitter=0.5,
              timeout=30, deadline=600; `--max-retries`, `--request-timeout`,
              `--deadline` override) and the step's one monotonic Deadline.
  clock, sleep
              the step's monotonic clock and its sleep (tests pass a simulated pair).
  requests_session(), looker40_sdk(), kubernetes_configuration(), google_retry(),
  retrying()  the policy through each client's own mechanism: urllib3 Retry on a
              requests Session and in the kubernetes Configuration, google.api_core
              Retry, tenacity. All retry 429, 5xx and connection errors, never another
              4xx; honour Retry-After (not api_core, which has no hook for it); never
              sleep past the deadline. POST/PATCH retry only with `idempotent=True`.

Reports: `write_report(dir, filename, dict, log)` writes a step's full JSON report into
the optional report workspace, atomically (results stay small; details go there).

Redaction: registered secrets, secret params, env vars named like *SECRET*, *TOKEN*,
*PASSWORD*, *_KEY, and Authorization/Bearer/token-field patterns become `***` in logs,
errors and the audit log.

Exit codes (ExitCode): 0 OK; 1 TARGET_FAILED (the target refused or failed, or an
unexpected error, logged with its traceback); 2 BAD_INPUT (missing or malformed
param); 3 DEADLINE_EXCEEDED (the overall deadline, retries included); 4
RESULTS_REJECTED (results too large or holding a secret).

Only urllib3 and tenacity are needed to import this package; requests, looker-sdk,
kubernetes and google-api-core are imported inside the adapters that use them.
"""

from .audit import AuditLog
from .deadline import Deadline
from .errors import BadInput, DeadlineExceeded, ExitCode, ResultsRejected, StepError, TargetFailed
from .json_logging import StepLogger, configure_logging
from .params import (
    Param,
    boolean,
    integer,
    integer_list,
    json_value,
    param,
    parse_params,
    positive_seconds,
    string_list,
)
from .redaction import MASK, Redactor
from .report import write_report
from .results import TERMINATION_MESSAGE_LIMIT, Results, termination_message_size
from .retry_policy import RETRYABLE_STATUSES, RetryPolicy, is_retryable_exception, is_retryable_status
from .retry_tenacity import retrying
from .retry_urllib3 import DeadlineRetry, urllib3_retry
from .step import Step, run, run_step

__all__ = [
    "MASK",
    "RETRYABLE_STATUSES",
    "TERMINATION_MESSAGE_LIMIT",
    "AuditLog",
    "BadInput",
    "Deadline",
    "DeadlineExceeded",
    "DeadlineRetry",
    "ExitCode",
    "Param",
    "Redactor",
    "Results",
    "ResultsRejected",
    "RetryPolicy",
    "Step",
    "StepError",
    "StepLogger",
    "TargetFailed",
    "boolean",
    "configure_logging",
    "integer",
    "integer_list",
    "is_retryable_exception",
    "is_retryable_status",
    "json_value",
    "param",
    "parse_params",
    "positive_seconds",
    "retrying",
    "run",
    "run_step",
    "string_list",
    "termination_message_size",
    "urllib3_retry",
    "write_report",
]
