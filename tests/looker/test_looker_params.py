"""Every bad param value of the Looker steps fails with exit code 2 and one message naming the
param (as the Task calls it, or the env var the Task maps it to) and what it accepts; nothing
reaches Looker."""
from __future__ import annotations

import pytest

from interlock_steps.looker import refresh, run_schedule, validate

DASHBOARD = ["--dashboard-ids", "7"]


@pytest.mark.parametrize("module, args, env, message", [
    (refresh, ["--datagroup-action", "nuke", "--datagroups", "11"], {},
     "param 'datagroup-action' must be trigger or reset, got 'nuke'"),
    (refresh, ["--pdt-model", "ecommerce"], {}, "params 'pdt-model' and 'pdt-views' go together: give both or neither"),
    (refresh, ["--force-full-incremental", "maybe", *DASHBOARD], {},
     "param 'force-full-incremental' (--force-full-incremental): invalid value 'maybe': expected true or false"),
    (refresh, ["--concurrency", "lots", *DASHBOARD], {},
     "param 'concurrency' (--concurrency): invalid value 'lots': expected a whole number from 1 to 15 "
     "(Looker runs at most 15 queries per user)"),
    (refresh, ["--concurrency", "16", *DASHBOARD], {},
     "param 'concurrency' (--concurrency): invalid value '16': expected a whole number from 1 to 15 "
     "(Looker runs at most 15 queries per user)"),
    (refresh, ["--query-timeout", "soon", *DASHBOARD], {},
     "param 'query-timeout' (--query-timeout): invalid value 'soon': expected a positive number of seconds, such as 300"),
    (refresh, ["--fail-on", "sometimes", *DASHBOARD], {},
     "param 'fail-on' (--fail-on): invalid value 'sometimes': expected any, none, a count such as 3 or a share such as 10%"),
    (refresh, ["--max-retries", "lots", *DASHBOARD], {},
     "param 'max-retries' (--max-retries): invalid value 'lots': expected a whole number"),
    (refresh, DASHBOARD, {"DRY_RUN": "perhaps"}, "param 'dry-run' (env DRY_RUN): invalid value 'perhaps': expected true or false"),
    (refresh, DASHBOARD, {"LOOKERSDK_VERIFY_SSL": "maybe"},
     "param 'verify-ssl' (env LOOKERSDK_VERIFY_SSL) must be true or false, got 'maybe'"),
    (refresh, DASHBOARD, {"LOOKERSDK_BASE_URL": "looker.example.com"},
     "param 'base-url' (env LOOKERSDK_BASE_URL) must be the Looker API URL, such as https://example.cloud.looker.com "
     "(without /api/4.0), got 'looker.example.com'"),
    (refresh, DASHBOARD, {"LOOKERSDK_CLIENT_ID": ""},
     "Looker API credentials missing (LOOKERSDK_CLIENT_ID empty): check the keys client_id and client_secret of the "
     "Secret named by param 'secret-name' (env LOOKERSDK_CLIENT_ID, LOOKERSDK_CLIENT_SECRET) and that param "
     "'base-url' is your Looker API host"),
    (refresh, [*DASHBOARD, "--report-dir", "/nonexistent/report"], {},
     "param 'report-dir' (--report-dir): invalid value '/nonexistent/report': not a directory "
     "(bind the report workspace, or leave the param empty)"),
    (validate, ["--project", "ecommerce", "--report-dir", "/nonexistent/report"], {},
     "param 'report-dir' (--report-dir): invalid value '/nonexistent/report': not a directory "
     "(bind the report workspace, or leave the param empty)"),
    (validate, ["--project", "ecommerce", "--severity", "loud"], {},
     "param 'severity' must be one of info, warning, error, fatal, got 'loud'"),
    (validate, ["--content", "maybe"], {}, "param 'content' (--content): invalid value 'maybe': expected true or false"),
    (validate, ["--project", "ecommerce", "--fail-on", "10%"], {},
     "param 'fail-on': use any, none or a count here (errors have no total to share)"),
    (run_schedule, [], {}, "nothing to run: give plan-ids or datagroup"),
    (run_schedule, ["--plan-ids", "31"], {"LOOKERSDK_VERIFY_SSL": "sometimes"},
     "param 'verify-ssl' (env LOOKERSDK_VERIFY_SSL) must be true or false, got 'sometimes'"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_param_values_are_named_with_what_is_allowed(run_step, looker, monkeypatch, module, args, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run = run_step(module, *args)
    assert (run.code, run.lines[-1]["msg"]) == (2, message)
    assert [c.operation for c in looker.calls if c.operation != "login"] == []
