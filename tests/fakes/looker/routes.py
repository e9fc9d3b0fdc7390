"""The API 4.0 operations the fake answers: one table row per operation, one handler each.

Paths and operation ids are the ones in Looker's OpenAPI document (a contract test checks
each row against it). Handlers are plain functions: (context, request) -> Reply, called with
the state lock held.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from ..loopback import Reply  # a raw `text` answer (query results) is sent as is
from .faults import Faults
from .lifecycle import COMPLETE, ERROR, EXPIRED, PDT_ADDED, PDT_RUNNING, PdtBuild, QueryTask
from .model import ScheduledPlan, User
from .state import LookerState

API_PREFIX = "/api/4.0"
# Real Looker points documentation_url at ".../looker/docs/r/err/<version>/<status>/...". looker-sdk
# matches that pattern and then downloads error documentation over the network while raising
# the error, so the fake uses a link outside that pattern and tests stay on loopback.
DOCUMENTATION_URL = "https://cloud.google.com/looker/docs/reference/looker-api/latest"
RESULT_FORMATS = ("inline_json", "json", "json_detail", "json_fe", "json_bi", "csv", "html", "md", "txt",
                  "xlsx", "gsxml", "sql", "odc")


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    user: User | None
    now: float
    wall: float


class Context(Protocol):
    state: LookerState
    faults: Faults

    def issue_token(self, user: User, now: float) -> dict[str, Any]: ...
    def revoke_token(self, token: str) -> None: ...


def error(status: int, message: str) -> Reply:
    return Reply(status, {"message": message, "documentation_url": DOCUMENTATION_URL})


def not_found() -> Reply:
    return error(404, "Not found")


def invalid(field_name: str, message: str, code: str = "invalid") -> Reply:
    return Reply(422, {"message": "Validation Failed", "documentation_url": DOCUMENTATION_URL,
                       "errors": [{"field": field_name, "code": code, "message": message,
                                   "documentation_url": DOCUMENTATION_URL}]})


# --- session ---------------------------------------------------------------------------------
def login(ctx: Context, req: Request) -> Reply:
    form = req.body if isinstance(req.body, dict) else {}
    client_id = form.get("client_id") or req.query.get("client_id")
    client_secret = form.get("client_secret") or req.query.get("client_secret")
    user = ctx.state.users.get(client_id or "")
    # Looker answers unknown or wrong API credentials with a plain 404 "Not found".
    if user is None or not secrets.compare_digest(user.client_secret, client_secret or ""):
        return not_found()
    return Reply(200, ctx.issue_token(user, req.now))


def logout(ctx: Context, req: Request) -> Reply:
    ctx.revoke_token(req.params["_token"])
    return Reply(204, text="")


# --- content ---------------------------------------------------------------------------------
def dashboard(ctx: Context, req: Request) -> Reply:
    board = ctx.state.dashboards.get(req.params["dashboard_id"])
    return not_found() if board is None else Reply(200, board.to_api(ctx.state.queries, ctx.state.looks))


def dashboard_elements(ctx: Context, req: Request) -> Reply:
    board = ctx.state.dashboards.get(req.params["dashboard_id"])
    if board is None:
        return not_found()
    return Reply(200, [e.to_api(board.id, ctx.state.queries, ctx.state.looks) for e in board.elements])


def dashboard_filters(ctx: Context, req: Request) -> Reply:
    board = ctx.state.dashboards.get(req.params["dashboard_id"])
    return not_found() if board is None else Reply(200, [f.to_api(board.id) for f in board.filters])


def look(ctx: Context, req: Request) -> Reply:
    found = ctx.state.looks.get(req.params["look_id"])
    return not_found() if found is None else Reply(200, found.to_api(ctx.state.queries[found.query_id]))


def query(ctx: Context, req: Request) -> Reply:
    found = ctx.state.queries.get(req.params["query_id"])
    return not_found() if found is None else Reply(200, found.to_api())


def create_query(ctx: Context, req: Request) -> Reply:
    body = req.body if isinstance(req.body, dict) else {}
    for name in ("model", "view"):
        if not isinstance(body.get(name), str) or not body[name]:
            return invalid(name, f"{name} is required", code="missing_field")
    limit = body.get("limit", "500")
    candidate = ctx.state.add_query(body["model"], body["view"], fields=body.get("fields"), filters=body.get("filters"),
                                    limit=None if limit is None else str(limit))  # Query.limit is a string
    candidate.sorts = list(body.get("sorts") or [])
    # Queries are immutable: creating an identical one returns the existing query.
    for existing in ctx.state.queries.values():
        if existing is not candidate and existing.identity() == candidate.identity():
            del ctx.state.queries[candidate.id]
            return Reply(200, existing.to_api())
    return Reply(200, candidate.to_api())


# --- query tasks -----------------------------------------------------------------------------
def _task_api(task: QueryTask, status: str | None = None) -> dict[str, Any]:
    return {
        "can": {"show": True, "cancel": True},
        "id": task.id,
        "query_id": task.query_id,
        "status": status or task.status,
        "result_format": task.result_format,
        "source": task.source,
        "look_id": task.look_id,
        "dashboard_id": task.dashboard_id,
        "generate_links": False,
        "force_production": True,
        "cache": True,
        "server_table_calcs": False,
        "cache_only": False,
        "rebuild_pdts": False,
        "runtime": task.runtime if task.status == COMPLETE else None,
        "result_source": "query" if task.status == COMPLETE else None,
    }


def create_query_task(ctx: Context, req: Request) -> Reply:
    body = req.body if isinstance(req.body, dict) else {}
    query_id, result_format = body.get("query_id"), body.get("result_format")
    if not query_id:
        return invalid("query_id", "query_id is required", code="missing_field")
    if result_format not in RESULT_FORMATS:
        return invalid("result_format", f"result_format must be one of {', '.join(RESULT_FORMATS)}")
    found = ctx.state.queries.get(str(query_id))
    if found is None:
        return not_found()
    task = QueryTask(f"{int(ctx.state.next_id()):032x}", found.id, req.user.id if req.user else "", result_format,
                     req.now, found.runtime, found.error, found.rows, source=body.get("source"),
                     look_id=body.get("look_id"), dashboard_id=body.get("dashboard_id"))
    ctx.state.runner.add(task, req.now)
    # Looker acknowledges a new task as queued ("added") whatever happens next.
    return Reply(200, _task_api(task, status="added"))


def query_task(ctx: Context, req: Request) -> Reply:
    ctx.state.runner.advance(req.now)
    task = ctx.state.runner.tasks.get(req.params["query_task_id"])
    return not_found() if task is None else Reply(200, _task_api(task))


def render_results(task: QueryTask) -> tuple[str, str]:
    """The result text of a complete task in its result_format, with its content type."""
    rows = task.rows
    fmt = task.result_format
    if fmt in ("csv", "txt"):
        out = io.StringIO()
        names = list(rows[0]) if rows else []
        writer = csv.writer(out, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(names)
        writer.writerows([[row.get(n) for n in names] for row in rows])
        return out.getvalue(), "text/csv" if fmt == "csv" else "text/plain"
    if fmt == "json_detail":
        return json.dumps(_detail(rows)), "application/json"
    return json.dumps(rows), "application/json"


def _detail(rows: list[dict[str, Any]], errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"data": [{k: {"value": v} for k, v in row.items()} for row in rows],
                              "fields": {"dimensions": [], "measures": []}, "ran_at": None}
    if errors:
        detail["errors"] = errors
    return detail


def query_task_results(ctx: Context, req: Request) -> Reply:
    ctx.state.runner.advance(req.now)
    task = ctx.state.runner.tasks.get(req.params["query_task_id"])
    if task is None or task.status == EXPIRED:
        return not_found()
    if task.status == COMPLETE:
        text, content_type = render_results(task)
        return Reply(200, text=text, content_type=content_type)
    if task.status == ERROR:
        # The spec: json_detail carries SQL errors in a 200 body, every other format gets a 400.
        if task.result_format == "json_detail":
            return Reply(200, text=json.dumps(_detail([], [{"message": task.failure}])))
        return error(400, task.failure or "Query failed")
    return Reply(202, text="")


def query_task_multi_results(ctx: Context, req: Request) -> Reply:
    raw = req.query.get("query_task_ids", "")
    ids = [part for part in re.split(r"[,\s]+", raw.strip("[]")) if part]
    if not ids:
        return error(400, "query_task_ids is required")
    ctx.state.runner.advance(req.now)
    answer: dict[str, Any] = {}
    for task_id in ids:
        task = ctx.state.runner.tasks.get(task_id)
        # A task the caller may not see is reported as "missing", as the spec documents.
        if task is None or (req.user and task.user_id != req.user.id):
            answer[task_id] = {"status": "missing"}
        elif task.status == COMPLETE:
            text, _ = render_results(task)
            answer[task_id] = {"status": COMPLETE, "data": json.loads(text) if text.startswith(("[", "{")) else text}
        elif task.status == ERROR:
            answer[task_id] = {"status": ERROR, "data": {"errors": [{"message": task.failure}]}}
        else:
            answer[task_id] = {"status": task.status}
    return Reply(200, answer)


# --- datagroups ------------------------------------------------------------------------------
def all_datagroups(ctx: Context, req: Request) -> Reply:
    return Reply(200, [g.to_api() for g in ctx.state.datagroups.values()])


def datagroup(ctx: Context, req: Request) -> Reply:
    group = ctx.state.datagroups.get(req.params["datagroup_id"])
    return not_found() if group is None else Reply(200, group.to_api())


def update_datagroup(ctx: Context, req: Request) -> Reply:
    group = ctx.state.datagroups.get(req.params["datagroup_id"])
    if group is None:
        return not_found()
    body = req.body if isinstance(req.body, dict) else {}
    for name in ("stale_before", "triggered_at"):
        if name not in body or body[name] is None:
            continue
        value = body[name]
        if not isinstance(value, int) or isinstance(value, bool):
            return invalid(name, f"{name} must be an integer UNIX timestamp, got {value!r}")
        if value > int(req.wall):
            return invalid(name, f"{name} cannot be in the future ({value} > {int(req.wall)})")
    if "stale_before" in body:
        group.stale_before = body["stale_before"]
    if "triggered_at" in body:
        group.triggered_at = body["triggered_at"]
    return Reply(200, group.to_api())


# --- PDT builds ------------------------------------------------------------------------------
def start_pdt_build(ctx: Context, req: Request) -> Reply:
    view = ctx.state.pdt_views.get((req.params["model_name"], req.params["view_name"]))
    if view is None:
        return not_found()
    workspace = req.query.get("workspace")
    if workspace not in (None, "", "dev", "production"):
        return error(400, f"workspace must be 'dev' or 'production', got {workspace!r}")
    options = {k: req.query[k] for k in ("force_rebuild", "force_full_incremental", "workspace", "source") if k in req.query}
    build = PdtBuild(ctx.state.next_id(), view.model, view.view, req.now, view.queued_for, view.runtime, view.error, options)
    ctx.state.pdt_builds[build.id] = build
    answer = {"materialization_id": build.id}
    if view.start_text != "absent":
        answer["resp_text"] = {"null": None, "empty": "", "status": build.resp_text(req.now)}[view.start_text]
    return Reply(200, answer)


def graph_derived_tables_for_model(ctx: Context, req: Request) -> Reply:
    """The model's PDTs as DOT, in the shape public parsers of this answer expect:
    `digraph <model> { subgraph { <view> -> <schema.table> [style=dashed] } }` (dashed: a database table)."""
    model = req.params["model"]
    if model not in {v.model for v in ctx.state.pdt_views.values()} | {q.model for q in ctx.state.queries.values()}:
        return not_found()
    lines = [f"digraph {model} {{"]
    for view in (v for v in ctx.state.pdt_views.values() if v.model == model):
        lines += ["  subgraph {", f"    <{view.view}> -> <{model}_source.{view.view}> [style=dashed]", "  }"]
    return Reply(200, {"graph_text": "\n".join([*lines, "}"])})


def check_pdt_build(ctx: Context, req: Request) -> Reply:
    build = ctx.state.pdt_builds.get(req.params["materialization_id"])
    if build is None:
        return not_found()
    return Reply(200, {"materialization_id": build.id, "resp_text": build.resp_text(req.now)})


def stop_pdt_build(ctx: Context, req: Request) -> Reply:
    build = ctx.state.pdt_builds.get(req.params["materialization_id"])
    if build is None:
        return not_found()
    if build.status(req.now) in (PDT_ADDED, PDT_RUNNING):
        build.stopped_at = req.now
    return Reply(200, {"materialization_id": build.id, "resp_text": build.resp_text(req.now)})


# --- scheduled plans -------------------------------------------------------------------------
def _plan_api(ctx: Context, plan: ScheduledPlan) -> dict[str, Any]:
    owner = next((u for u in ctx.state.users.values() if u.id == plan.user_id), None)
    return plan.to_api(owner)


def scheduled_plan(ctx: Context, req: Request) -> Reply:
    plan = ctx.state.scheduled_plans.get(req.params["scheduled_plan_id"])
    return not_found() if plan is None else Reply(200, _plan_api(ctx, plan))


def all_scheduled_plans(ctx: Context, req: Request) -> Reply:
    wanted_user = req.query.get("user_id") or (req.user.id if req.user else None)
    everyone = req.query.get("all_users") == "true"
    # Run-once copies are not recurring schedules; the fake leaves them out of the listing.
    plans = [p for p in ctx.state.scheduled_plans.values()
             if not p.run_once and (everyone or p.user_id == wanted_user)]
    return Reply(200, [_plan_api(ctx, p) for p in plans])


def scheduled_plan_run_once_by_id(ctx: Context, req: Request) -> Reply:
    plan = ctx.state.scheduled_plans.get(req.params["scheduled_plan_id"])
    if plan is None:
        return not_found()
    body = req.body if isinstance(req.body, dict) else {}
    destinations = body.get("scheduled_plan_destination")
    if destinations is not None and not isinstance(destinations, list):
        return invalid("scheduled_plan_destination", "scheduled_plan_destination must be a list")
    copy = ScheduledPlan(ctx.state.next_id(), body.get("name") or plan.name, plan.user_id, None,
                         plan.dashboard_id, plan.look_id, enabled=True, run_once=True,
                         destinations=list(destinations) if destinations is not None else list(plan.destinations))
    ctx.state.scheduled_plans[copy.id] = copy
    ctx.state.plan_runs.append(plan.id)
    return Reply(200, _plan_api(ctx, copy))


# --- validation ------------------------------------------------------------------------------
def validate_project(ctx: Context, req: Request) -> Reply:
    project = ctx.state.projects.get(req.params["project_id"])
    if project is None:
        return not_found()
    result = {
        "errors": [dict(e) for e in project.errors],
        "project_digest": hashlib.sha256(project.id.encode()).hexdigest()[:16],
        "models_not_validated": [dict(m) for m in project.models_not_validated],
        "computation_time": 0.05,
    }
    project.cached = result
    return Reply(200, result)


def project_validation_results(ctx: Context, req: Request) -> Reply:
    project = ctx.state.projects.get(req.params["project_id"])
    if project is None:
        return not_found()
    if project.cached is None:
        return Reply(204, text="")
    return Reply(200, {**project.cached, "stale": False})


def content_validation(ctx: Context, req: Request) -> Reply:
    state = ctx.state
    return Reply(200, {
        "content_with_errors": [json.loads(json.dumps(e)) for e in state.content_errors],
        "computation_time": 0.1,
        "total_looks_validated": len(state.looks) + sum(1 for e in state.content_errors if "look" in e),
        "total_dashboard_elements_validated": sum(len(d.elements) for d in state.dashboards.values()),
        "total_dashboard_filters_validated": sum(len(d.filters) for d in state.dashboards.values()),
        "total_scheduled_plans_validated": len(state.scheduled_plans),
        "total_alerts_validated": 0,
        "total_explores_validated": len({(q.model, q.view) for q in state.queries.values()}),
    })


# --- the table -------------------------------------------------------------------------------
Handler = Callable[[Context, Request], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    path: str            # exactly as in the OpenAPI document, relative to /api/4.0
    operation: str       # the document's operationId
    handler: Handler
    needs_token: bool = True

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


ROUTES: tuple[Route, ...] = (
    Route("POST", "/login", "login", login, needs_token=False),
    Route("DELETE", "/logout", "logout", logout),
    Route("GET", "/dashboards/{dashboard_id}", "dashboard", dashboard),
    Route("GET", "/dashboards/{dashboard_id}/dashboard_elements", "dashboard_dashboard_elements", dashboard_elements),
    Route("GET", "/dashboards/{dashboard_id}/dashboard_filters", "dashboard_dashboard_filters", dashboard_filters),
    Route("GET", "/looks/{look_id}", "look", look),
    Route("GET", "/queries/{query_id}", "query", query),
    Route("POST", "/queries", "create_query", create_query),
    Route("POST", "/query_tasks", "create_query_task", create_query_task),
    Route("GET", "/query_tasks/multi_results", "query_task_multi_results", query_task_multi_results),
    Route("GET", "/query_tasks/{query_task_id}", "query_task", query_task),
    Route("GET", "/query_tasks/{query_task_id}/results", "query_task_results", query_task_results),
    Route("GET", "/datagroups", "all_datagroups", all_datagroups),
    Route("GET", "/datagroups/{datagroup_id}", "datagroup", datagroup),
    Route("PATCH", "/datagroups/{datagroup_id}", "update_datagroup", update_datagroup),
    Route("GET", "/derived_table/graph/model/{model}", "graph_derived_tables_for_model", graph_derived_tables_for_model),
    Route("GET", "/derived_table/{model_name}/{view_name}/start", "start_pdt_build", start_pdt_build),
    Route("GET", "/derived_table/{materialization_id}/status", "check_pdt_build", check_pdt_build),
    Route("GET", "/derived_table/{materialization_id}/stop", "stop_pdt_build", stop_pdt_build),
    Route("GET", "/scheduled_plans", "all_scheduled_plans", all_scheduled_plans),
    Route("GET", "/scheduled_plans/{scheduled_plan_id}", "scheduled_plan", scheduled_plan),
    Route("POST", "/scheduled_plans/{scheduled_plan_id}/run_once", "scheduled_plan_run_once_by_id",
          scheduled_plan_run_once_by_id),
    Route("POST", "/projects/{project_id}/validate", "validate_project", validate_project),
    Route("GET", "/projects/{project_id}/validate", "project_validation_results", project_validation_results),
    Route("GET", "/content_validation", "content_validation", content_validation),
)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for (method, path relative to /api/4.0); literal segments win over {params}."""
    for route in sorted(ROUTES, key=lambda r: r.path.count("{")):
        if route.method == method:
            found = route.pattern.match(path)
            if found:
                return route, dict(found.groupdict())
    return None
