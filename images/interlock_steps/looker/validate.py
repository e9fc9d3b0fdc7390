"""looker-validate: a deploy gate over LookML validation (`validate_project`) and content
validation (`content_validation`).

LookML errors carry a severity (fatal, error, warning, info, success: API 4.0 ProjectError);
those at or above `severity` count. Content errors have none and all count. An allow-list
of shell-style patterns drops known errors: matched against the message, the LookML file
path, the error code, or `<kind>:<id>` of the content (e.g. `look:56`, `dashboard:7`).
"""
from __future__ import annotations

import fnmatch
import json

from interlock_steps import runtime as rt
from interlock_steps.runtime.report import REPORT_DIR, write_report

from .client import connect
from .report import fail_on, too_many

SEVERITIES = ["info", "warning", "error", "fatal"]
CONTENT_KINDS = ["look", "dashboard", "dashboard_element", "dashboard_filter", "scheduled_plan", "alert",
                 "lookml_dashboard", "lookml_dashboard_element"]

PARAMS = [
    rt.param("project", default="", help="LookML project to validate; empty: skip LookML validation"),
    rt.param("severity", default="error", help="lowest LookML severity that counts: info, warning, error, fatal"),
    rt.param("content", rt.boolean, default=True, help="run content validation"),
    rt.param("allow", rt.string_list, default=[], help="patterns of known errors to ignore"),
    rt.param("fail-on", fail_on, default="any", help="any, none or a count of counted errors to tolerate"),
    REPORT_DIR,
]


def allowed(patterns: list[str], *keys: str | None) -> bool:
    return any(fnmatch.fnmatchcase(k, pat) for pat in patterns for k in keys if k)


def lookml_errors(client, project: str, severity: str, allow: list[str]) -> tuple[list[dict], int]:
    """(counted errors, ignored count)."""
    result = client.call(f"project {project}: validate LookML", client.sdk.validate_project, project)
    floor = SEVERITIES.index(severity)
    counted, ignored = [], 0
    for e in result.errors or []:
        level = e.severity if e.severity in SEVERITIES else "error"
        if SEVERITIES.index(level) < floor:
            continue
        if allowed(allow, e.message, e.file_path, e.code):
            ignored += 1
            continue
        counted.append({"severity": level, "code": e.code, "message": e.message, "file": e.file_path,
                        "line": e.line_number, "model": e.model_id})
    return counted, ignored


def content_errors(client, allow: list[str]) -> tuple[list[dict], int]:
    result = client.call("content validation", client.sdk.content_validation)
    counted, ignored = [], 0
    for item in result.content_with_errors or []:
        kind = next((k for k in CONTENT_KINDS if getattr(item, k, None) is not None), "content")
        content = getattr(item, kind, None)
        content_id = str(getattr(content, "id", "") or "")
        title = getattr(content, "title", None) or getattr(content, "name", None)
        for e in item.errors or []:
            if allowed(allow, e.message, f"{kind}:{content_id}"):
                ignored += 1
                continue
            counted.append({"content": f"{kind}:{content_id}", "title": title, "message": e.message,
                            "field": e.field_name, "model": e.model_name, "explore": e.explore_name})
    return counted, ignored


def main(step: rt.Step) -> None:
    p = step.params
    if p.severity not in SEVERITIES:
        raise rt.BadInput(f"param 'severity' must be one of {', '.join(SEVERITIES)}, got {p.severity!r}",
                          param="severity")
    if not p.project and not p.content:
        raise rt.BadInput("nothing to validate: give a project, or leave content validation on")
    if p.fail_on.endswith("%"):
        raise rt.BadInput("param 'fail-on': use any, none or a count here (errors have no total to share)",
                          param="fail-on")
    client = connect(step, idempotent=True)  # both validations only read (validate_project is a POST)
    lookml, lookml_ignored = lookml_errors(client, p.project, p.severity, p.allow) if p.project else ([], 0)
    content, content_ignored = content_errors(client, p.allow) if p.content else ([], 0)
    for error in lookml[:20]:
        step.log.warning(f"LookML {error['severity']}: {error['message']}", target=f"{error['file']}:{error['line']}")
    for error in content[:20]:
        step.log.warning(f"content error: {error['message']}", target=error["content"])
    summary = {"lookml_errors": len(lookml), "content_errors": len(content),
               "ignored": lookml_ignored + content_ignored}
    write_report(p.report_dir, "looker-validate.json", {"lookml": lookml, "content": content, "summary": summary},
                 step.log)
    step.results.write(**{"lookml-errors": str(len(lookml)), "content-errors": str(len(content)),
                          "summary": json.dumps(summary, separators=(",", ":"))})
    total = len(lookml) + len(content)
    if too_many(total, total, p.fail_on):
        raise rt.TargetFailed(f"validation found {len(lookml)} LookML and {len(content)} content error(s) "
                              f"(fail-on={p.fail_on})")
    step.log.info("validation passed", lookml_errors=len(lookml), content_errors=len(content))


if __name__ == "__main__":
    rt.run(main, task="looker-validate", step="validate", params=PARAMS,
           description="Gate a deploy on Looker LookML and content validation.")
